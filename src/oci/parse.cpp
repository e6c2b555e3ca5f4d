// config.json -> oci::Spec: JSON accessors, the top level, process, mounts,
// hooks. The linux section is in parse_linux.cpp.

#include <cerrno>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "oci/parse_util.hpp"
#include "oci/spec.hpp"
#include "sys/syscalls.hpp"

namespace hako::oci {

namespace parse_detail {

namespace {

constexpr size_t kDescribeMax = 60;

// Compact JSON like dump(), but bounded in depth and length: a hostile
// config's deeply nested value must not recurse without limit here.
void describe_into(const json& v, std::string& out, int depth) {
    if (out.size() > kDescribeMax) return;
    const bool obj = v.is_object();
    if (!obj && !v.is_array()) {
        out += v.dump(-1, ' ', false, json::error_handler_t::replace);
        return;
    }
    out += obj ? '{' : '[';
    if (depth >= 8 && !v.empty()) out += "...";
    bool first = true;
    for (auto it = v.begin(); depth < 8 && it != v.end(); ++it) {
        if (out.size() > kDescribeMax) return;
        if (!first) out += ',';
        first = false;
        if (obj) {
            out += json(it.key()).dump(-1, ' ', false, json::error_handler_t::replace);
            out += ':';
        }
        describe_into(*it, out, depth + 1);
    }
    out += obj ? '}' : ']';
}

}  // namespace

std::string describe(const json& v) {
    std::string s;
    describe_into(v, s, 0);
    if (s.size() > kDescribeMax) {
        s.resize(kDescribeMax);
        s += "...";
    }
    return s;
}

std::string join(const std::string& path, std::string_view key) {
    if (path.empty()) return std::string(key);
    std::string out = path;
    out += '.';
    out += key;
    return out;
}

std::string index(const std::string& path, size_t i) {
    return fmt::format("{}[{}]", path, i);
}

std::unexpected<Error> type_error(const std::string& path, std::string_view want,
                                  const json& v) {
    return error(fmt::format("{}: expected {}, got {}", path, want, describe(v)));
}

std::unexpected<Error> path_error(const std::string& path, std::string_view msg) {
    return error(fmt::format("{}: {}", path, msg));
}

Result<std::string> as_string(const json& v, const std::string& path) {
    if (!v.is_string()) return type_error(path, "a string", v);
    return v.get_ref<const std::string&>();
}

Result<bool> as_bool(const json& v, const std::string& path) {
    if (!v.is_boolean()) return type_error(path, "a boolean", v);
    return v.get<bool>();
}

Result<uint64_t> as_u64(const json& v, const std::string& path) {
    if (!v.is_number_unsigned()) return type_error(path, "an unsigned integer", v);
    return v.get<uint64_t>();
}

Result<uint32_t> as_u32(const json& v, const std::string& path) {
    if (!v.is_number_unsigned()) return type_error(path, "an unsigned integer", v);
    auto n = v.get<uint64_t>();
    if (n > std::numeric_limits<uint32_t>::max())
        return type_error(path, "an unsigned 32-bit integer", v);
    return static_cast<uint32_t>(n);
}

Result<int64_t> as_i64(const json& v, const std::string& path) {
    if (v.is_number_unsigned()) {
        auto n = v.get<uint64_t>();
        if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            return type_error(path, "a 64-bit integer", v);
        return static_cast<int64_t>(n);
    }
    if (!v.is_number_integer()) return type_error(path, "an integer", v);
    return v.get<int64_t>();
}

Result<int> as_int(const json& v, const std::string& path) {
    auto n = HAKO_TRY(as_i64(v, path));
    if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max())
        return type_error(path, "a 32-bit integer", v);
    return static_cast<int>(n);
}

Result<std::vector<std::string>> as_string_array(const json& v, const std::string& path) {
    return map_array<std::string>(v, path, as_string);
}

Result<std::vector<uint32_t>> as_u32_array(const json& v, const std::string& path) {
    return map_array<uint32_t>(v, path, as_u32);
}

Result<std::map<std::string, std::string>> as_string_map(const json& v,
                                                         const std::string& path) {
    if (!v.is_object()) return type_error(path, "an object", v);
    std::map<std::string, std::string> out;
    for (const auto& [k, val] : v.items())
        out[k] = HAKO_TRY(as_string(val, join(path, k)));
    return out;
}

Result<std::vector<IdMapping>> as_id_mappings(const json& v, const std::string& path) {
    return map_array<IdMapping>(v, path, [](const json& e, const std::string& p) -> Result<IdMapping> {
        auto o = HAKO_TRY(Obj::from(e, p));
        IdMapping m;
        HAKO_FIELD(o, "containerID", m.container_id, as_u32);
        HAKO_FIELD(o, "hostID", m.host_id, as_u32);
        HAKO_FIELD(o, "size", m.size, as_u32);
        return m;
    });
}

Result<Obj> Obj::from(const json& v, const std::string& path) {
    if (!v.is_object()) return type_error(path, "an object", v);
    return Obj(v, path);
}

Result<std::string> required_string(const Obj& o, std::string_view key) {
    const json* v = o.get(key);
    if (!v) return path_error(o.sub(key), "required");
    return as_string(*v, o.sub(key));
}

const json* Obj::get(std::string_view key) const {
    auto it = j_->find(key);
    if (it == j_->end() || it->is_null()) return nullptr;
    return &*it;
}

}  // namespace parse_detail

namespace {

using namespace parse_detail;

Result<User> parse_user(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    User u;
    HAKO_FIELD(o, "uid", u.uid, as_u32);
    HAKO_FIELD(o, "gid", u.gid, as_u32);
    HAKO_FIELD(o, "umask", u.umask, as_u32);
    HAKO_FIELD(o, "additionalGids", u.additional_gids, as_u32_array);
    HAKO_FIELD(o, "username", u.username, as_string);
    return u;
}

// Names this build doesn't know (a newer spec's, or a typo) are kept aside
// in `unknown`, not refused: runc and crun leave them out with a warning, so
// that configs from newer engines still run (runtime::check_host_support).
Result<Capabilities> parse_capabilities(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    Capabilities c;
    const std::pair<const char*, std::vector<int>*> sets[] = {{"bounding", &c.bounding},
                                                              {"effective", &c.effective},
                                                              {"permitted", &c.permitted},
                                                              {"inheritable", &c.inheritable},
                                                              {"ambient", &c.ambient}};
    for (const auto& [key, set] : sets) {
        const json* arr = o.get(key);
        if (!arr) continue;
        auto names = HAKO_TRY(as_string_array(*arr, o.sub(key)));
        for (const auto& name : names) {
            if (auto cap = capability_from_name(name)) set->push_back(*cap);
            else if (std::find(c.unknown.begin(), c.unknown.end(), name) == c.unknown.end())
                c.unknown.push_back(name);
        }
    }
    return c;
}

Result<Rlimit> parse_rlimit(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    Rlimit r;
    r.type = HAKO_TRY(required_string(o, "type"));
    auto res = rlimit_from_name(r.type);
    if (!res) return path_error(o.sub("type"), fmt::format("unknown rlimit \"{}\"", r.type));
    r.resource = *res;
    HAKO_FIELD(o, "soft", r.soft, as_u64);
    HAKO_FIELD(o, "hard", r.hard, as_u64);
    return r;
}

Result<ConsoleSize> parse_console_size(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    ConsoleSize c;
    HAKO_FIELD(o, "height", c.height, as_u32);
    HAKO_FIELD(o, "width", c.width, as_u32);
    return c;
}

Result<Process> parse_process(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    Process p;
    HAKO_FIELD(o, "terminal", p.terminal, as_bool);
    HAKO_FIELD(o, "consoleSize", p.console_size, parse_console_size);
    HAKO_FIELD(o, "user", p.user, parse_user);
    HAKO_FIELD(o, "args", p.args, as_string_array);
    HAKO_FIELD(o, "env", p.env, as_string_array);
    HAKO_FIELD(o, "cwd", p.cwd, as_string);
    HAKO_FIELD(o, "capabilities", p.capabilities, parse_capabilities);
    if (const json* rl = o.get("rlimits"))
        p.rlimits = HAKO_TRY(map_array<Rlimit>(*rl, o.sub("rlimits"), parse_rlimit));
    HAKO_FIELD(o, "noNewPrivileges", p.no_new_privileges, as_bool);
    HAKO_FIELD(o, "apparmorProfile", p.apparmor_profile, as_string);
    HAKO_FIELD(o, "oomScoreAdj", p.oom_score_adj, as_int);
    HAKO_FIELD(o, "selinuxLabel", p.selinux_label, as_string);
    return p;
}

Result<Root> parse_root(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    Root r;
    r.path = HAKO_TRY(required_string(o, "path"));
    HAKO_FIELD(o, "readonly", r.readonly, as_bool);
    return r;
}

Result<Mount> parse_mount(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    Mount m;
    HAKO_FIELD(o, "destination", m.destination, as_string);
    HAKO_FIELD(o, "type", m.type, as_string);
    HAKO_FIELD(o, "source", m.source, as_string);
    HAKO_FIELD(o, "options", m.options, as_string_array);
    HAKO_FIELD(o, "uidMappings", m.uid_mappings, as_id_mappings);
    HAKO_FIELD(o, "gidMappings", m.gid_mappings, as_id_mappings);
    return m;
}

Result<Hook> parse_hook(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    Hook h;
    h.path = HAKO_TRY(required_string(o, "path"));
    HAKO_FIELD(o, "args", h.args, as_string_array);
    HAKO_FIELD(o, "env", h.env, as_string_array);
    HAKO_FIELD(o, "timeout", h.timeout, as_int);
    if (h.timeout && *h.timeout <= 0)
        return path_error(o.sub("timeout"), "must be greater than zero");
    return h;
}

Result<std::vector<Hook>> parse_hook_list(const json& v, const std::string& path) {
    return map_array<Hook>(v, path, parse_hook);
}

Result<Hooks> parse_hooks(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    Hooks h;
    HAKO_FIELD(o, "prestart", h.prestart, parse_hook_list);
    HAKO_FIELD(o, "createRuntime", h.create_runtime, parse_hook_list);
    HAKO_FIELD(o, "createContainer", h.create_container, parse_hook_list);
    HAKO_FIELD(o, "startContainer", h.start_container, parse_hook_list);
    HAKO_FIELD(o, "poststart", h.poststart, parse_hook_list);
    HAKO_FIELD(o, "poststop", h.poststop, parse_hook_list);
    return h;
}

// "[json.exception.parse_error.101] parse error at line 1, column 2: syntax
// error ..." -> "syntax error ...".
std::string parse_error_detail(const char* what) {
    std::string_view s(what);
    if (auto pos = s.find(": "); pos != std::string_view::npos) s.remove_prefix(pos + 2);
    return std::string(s);
}

}  // namespace

Result<Spec> parse_spec(std::string_view json_text) {
    json doc;
    try {
        doc = json::parse(json_text.begin(), json_text.end());
    } catch (const json::parse_error& e) {
        return error(fmt::format("config.json: invalid JSON at byte {}: {}", e.byte,
                                 parse_error_detail(e.what())));
    } catch (const json::exception& e) {
        return error(fmt::format("config.json: invalid JSON: {}", parse_error_detail(e.what())));
    }

    if (!doc.is_object()) return type_error("config.json", "an object", doc);
    auto o = HAKO_TRY(Obj::from(doc, ""));

    Spec s;
    s.oci_version = HAKO_TRY(required_string(o, "ociVersion"));
    HAKO_FIELD(o, "process", s.process, parse_process);
    HAKO_FIELD(o, "root", s.root, parse_root);
    HAKO_FIELD(o, "hostname", s.hostname, as_string);
    HAKO_FIELD(o, "domainname", s.domainname, as_string);
    if (const json* m = o.get("mounts"))
        s.mounts = HAKO_TRY(map_array<Mount>(*m, "mounts", parse_mount));
    HAKO_FIELD(o, "hooks", s.hooks, parse_hooks);
    HAKO_FIELD(o, "annotations", s.annotations, as_string_map);
    HAKO_FIELD(o, "linux", s.linux, parse_linux);
    return s;
}

Result<Spec> load_spec(const std::string& config_path) {
    auto text = sys::read_file(config_path);
    if (!text) return sys_error("read config `" + config_path + "`", text.error().err);
    return HAKO_TRY_CTX(parse_spec(*text), config_path);
}

Result<Process> parse_process_json(std::string_view json_text, const std::string& path) {
    json doc;
    try {
        doc = json::parse(json_text.begin(), json_text.end());
    } catch (const json::exception& e) {
        return error(fmt::format("{}: invalid JSON: {}", path, parse_error_detail(e.what())));
    }
    return parse_process(doc, path);
}

}  // namespace hako::oci
