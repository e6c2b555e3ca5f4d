// From image + flags to an OCI config.json, as docker builds one: the
// image's Entrypoint/Cmd/Env/WorkingDir/User, docker's default capabilities
// and seccomp policy, then the command line's changes.
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/strings.hpp"
#include "frontend/engine.hpp"
#include "frontend/spec_internal.hpp"
#include "oci/spec.hpp"
#include "sys/syscalls.hpp"

namespace hako::frontend {
namespace {

using json = nlohmann::json;

// docker's default capabilities.
const std::vector<std::string> kDefaultCaps = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",     "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",           "CAP_SETFCAP",    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",     "CAP_AUDIT_WRITE"};

// The default seccomp policy: the syscalls docker's default profile keeps
// from containers, each unless the container has the capability that
// makes it legitimate (as docker's profile opens them with the capability).
struct Guarded {
    const char* cap;  // nullptr: always refused
    std::vector<const char*> syscalls;
};
const std::vector<Guarded> kRefused = {
    {nullptr, {"kexec_load", "kexec_file_load", "create_module", "get_kernel_syms", "query_module", "nfsservctl",
               "uselib", "ustat", "sysfs", "_sysctl", "vm86", "vm86old", "lookup_dcookie", "userfaultfd",
               "add_key", "request_key", "keyctl", "open_by_handle_at", "name_to_handle_at"}},
    {"CAP_SYS_ADMIN", {"mount", "umount", "umount2", "pivot_root", "setns", "unshare", "swapon", "swapoff",
                       "quotactl", "fsopen", "fsmount", "fsconfig", "move_mount", "open_tree", "bpf",
                       "perf_event_open", "fanotify_init", "lookup_dcookie"}},
    {"CAP_SYS_MODULE", {"init_module", "finit_module", "delete_module"}},
    {"CAP_SYS_BOOT", {"reboot"}},
    {"CAP_SYS_TIME", {"settimeofday", "stime", "clock_settime", "clock_adjtime", "adjtimex"}},
    {"CAP_SYS_PACCT", {"acct"}},
    {"CAP_SYS_RAWIO", {"iopl", "ioperm"}},
    {"CAP_SYS_PTRACE", {"ptrace", "process_vm_readv", "process_vm_writev", "kcmp"}},
    {"CAP_SYS_NICE", {"mbind", "set_mempolicy", "move_pages"}},
};

json default_seccomp(const std::vector<std::string>& caps) {
    std::vector<std::string> names;
    for (const auto& g : kRefused)
        if (!g.cap || std::find(caps.begin(), caps.end(), g.cap) == caps.end())
            for (const char* s : g.syscalls) names.emplace_back(s);
    return {{"defaultAction", "SCMP_ACT_ALLOW"},
            {"syscalls", {{{"names", names}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
}

std::string cap_name(std::string c) {
    for (auto& ch : c) ch = static_cast<char>(toupper(static_cast<unsigned char>(ch)));
    return c.rfind("CAP_", 0) == 0 ? c : "CAP_" + c;
}

Result<std::vector<std::string>> capabilities(const RunOptions& o) {
    std::vector<std::string> caps = kDefaultCaps;
    if (o.privileged) {
        caps.clear();
        for (int c = 0; c <= oci::capability_last(); ++c)
            if (const char* n = oci::capability_name(c)) caps.emplace_back(n);
    }
    for (const auto& d : o.cap_drop) {
        if (cap_name(d) == "CAP_ALL") {
            caps.clear();
            continue;
        }
        if (!oci::capability_from_name(cap_name(d))) return error("--cap-drop: unknown capability `" + d + "`");
        std::erase(caps, cap_name(d));
    }
    for (const auto& a : o.cap_add) {
        if (cap_name(a) == "CAP_ALL") {
            caps.clear();
            for (int c = 0; c <= oci::capability_last(); ++c)
                if (const char* n = oci::capability_name(c)) caps.emplace_back(n);
            continue;
        }
        if (!oci::capability_from_name(cap_name(a))) return error("--cap-add: unknown capability `" + a + "`");
        if (std::find(caps.begin(), caps.end(), cap_name(a)) == caps.end()) caps.push_back(cap_name(a));
    }
    return caps;
}

}  // namespace

// "100m", "1g", "512k", "1048576" -> bytes.
Result<int64_t> parse_bytes(const std::string& s, const char* flag) {
    auto n = HAKO_TRY(parse_size(s, flag));
    if (n <= 0) return error(std::string(flag) + ": invalid size `" + s + "` (must be more than 0)");
    return n;
}

namespace {

// KEY=VALUE lines of an --env-file (comments and blank lines skipped; a
// bare KEY takes our value, as docker does).
Status read_env_file(const std::string& path, std::vector<std::string>& out) {
    auto text = HAKO_TRY_CTX(sys::read_file(path), "--env-file");
    for (auto line : split(text, '\n')) {
        std::string l(line);
        while (!l.empty() && isspace(static_cast<unsigned char>(l.back()))) l.pop_back();
        while (!l.empty() && isspace(static_cast<unsigned char>(l.front()))) l.erase(0, 1);
        if (l.empty() || l[0] == '#') continue;
        if (l.find('=') == std::string::npos) {
            const char* v = getenv(l.c_str());
            if (!v) continue;
            l += std::string("=") + v;
        }
        out.push_back(l);
    }
    return {};
}

void set_env(std::vector<std::string>& env, const std::string& kv) {
    std::string key = kv.substr(0, kv.find('='));
    std::erase_if(env, [&](const std::string& e) { return e.substr(0, e.find('=')) == key; });
    env.push_back(kv);
}

bool numeric(std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

// The entry of /etc/passwd or /etc/group (in the rootfs) whose name (or,
// numeric, id) is `key`: {id, gid} for passwd, {gid, gid} for group.
std::optional<std::pair<uint32_t, uint32_t>> lookup(const std::string& rootfs, const char* file, const std::string& key) {
    auto text = sys::read_file(rootfs + file);
    if (!text) return std::nullopt;
    bool passwd = std::string_view(file) == "/etc/passwd";
    for (auto line : split(*text, '\n')) {
        auto f = fields(line, ':');
        if (f.size() < (passwd ? 4u : 3u) || !numeric(f[2])) continue;
        if (f[0] == key || f[2] == key) {
            uint32_t id = static_cast<uint32_t>(std::stoul(std::string(f[2])));
            uint32_t gid = passwd && numeric(f[3]) ? static_cast<uint32_t>(std::stoul(std::string(f[3]))) : id;
            return std::make_pair(id, gid);
        }
    }
    return std::nullopt;
}

// "1000", "1000:1000", "nobody", "nobody:nogroup", as docker resolves them.
Result<std::pair<uint32_t, uint32_t>> resolve_user(const std::string& spec, const std::string& rootfs) {
    auto colon = spec.find(':');
    std::string u = spec.substr(0, colon), g = colon == std::string::npos ? "" : spec.substr(colon + 1);
    uint32_t uid = 0, gid = 0;
    auto pw = lookup(rootfs, "/etc/passwd", u);
    if (pw) {
        uid = pw->first;
        gid = pw->second;
    } else if (numeric(u)) {
        uid = static_cast<uint32_t>(std::stoul(u));  // no entry: group 0, as docker
    } else {
        return error("--user: no user `" + u + "` in the image's /etc/passwd");
    }
    if (!g.empty()) {
        auto gr = lookup(rootfs, "/etc/group", g);
        if (gr) gid = gr->first;
        else if (numeric(g)) gid = static_cast<uint32_t>(std::stoul(g));
        else return error("--user: no group `" + g + "` in the image's /etc/group");
    }
    return std::make_pair(uid, gid);
}

}  // namespace

std::string container_hostname(const RunOptions& o, const std::string& id, const NetPlan& net) {
    if (!net.hostname.empty()) return net.hostname;
    return o.hostname.empty() ? id.substr(0, 12) : o.hostname;
}

Result<MadeConfig> make_config(const RunOptions& o, const image::Image& img, const SpecInputs& in) {
    const std::string& id = in.id;
    const std::string& rootfs = in.rootfs;
    const NetPlan& net = *in.net;
    const std::string& init = in.init;
    json spec = json::parse(oci::default_spec_json(false));
    auto& p = spec["process"];
    // Command: docker's rules. --entrypoint replaces the image's (and then
    // the image's Cmd is dropped); a command replaces the image's Cmd.
    std::vector<std::string> args = o.entrypoint ? (o.entrypoint->empty() ? std::vector<std::string>{}
                                                                           : std::vector<std::string>{*o.entrypoint})
                                                 : img.config.entrypoint;
    const auto& cmd = !o.command.empty() ? o.command : (o.entrypoint ? std::vector<std::string>{} : img.config.cmd);
    args.insert(args.end(), cmd.begin(), cmd.end());
    if (args.empty()) return error("no command: the image has no Cmd or Entrypoint; give one after the image");
    if (o.init) {
        if (init.empty()) return error("--init: this build has no hako-init");
        args.insert(args.begin(), {"/dev/init", "--"});
        spec["mounts"].push_back({{"destination", "/dev/init"}, {"type", "bind"}, {"source", init},
                                  {"options", {"bind", "ro"}}});
    }
    p["args"] = args;
    p["terminal"] = o.tty;
    std::string hostname = container_hostname(o, id, net);
    spec["hostname"] = hostname;
    std::vector<std::string> env = img.config.env;
    if (std::none_of(env.begin(), env.end(), [](const std::string& e) { return e.rfind("PATH=", 0) == 0; }))
        env.insert(env.begin(), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    set_env(env, "HOSTNAME=" + hostname);
    if (o.tty) set_env(env, "TERM=xterm");
    std::vector<std::string> extra;
    for (const auto& f : o.env_files) HAKO_TRY(read_env_file(f, extra));
    for (const auto& e : o.env) {
        if (e.find('=') != std::string::npos) extra.push_back(e);
        else if (const char* v = getenv(e.c_str())) extra.push_back(e + "=" + v);
    }
    for (const auto& e : extra) set_env(env, e);
    p["env"] = env;
    p["cwd"] = !o.workdir.empty() ? o.workdir : img.config.working_dir.empty() ? "/" : img.config.working_dir;
    if (p["cwd"].get<std::string>()[0] != '/') return error("--workdir: must be an absolute path");
    std::string user = !o.user.empty() ? o.user : img.config.user;
    if (!user.empty()) {
        auto [uid, gid] = HAKO_TRY(resolve_user(user, rootfs));
        p["user"] = {{"uid", uid}, {"gid", gid}};
    }
    auto caps = HAKO_TRY(capabilities(o));
    p["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
    p["noNewPrivileges"] = false;
    p.erase("rlimits");  // the caller's limits, as docker without --ulimit

    spec["root"] = {{"path", rootfs}, {"readonly", o.read_only}};
    auto& lnx = spec["linux"];
    // Seccomp: the default policy unless --security-opt says otherwise.
    bool seccomp = true;
    for (const auto& s : o.security_opt) {
        if (s == "no-new-privileges" || s == "no-new-privileges:true" || s == "no-new-privileges=true") {
            p["noNewPrivileges"] = true;
        } else if (s == "seccomp=unconfined" || s == "seccomp:unconfined") {
            seccomp = false;
        } else if (s.rfind("seccomp=", 0) == 0 || s.rfind("seccomp:", 0) == 0) {
            auto text = HAKO_TRY_CTX(sys::read_file(s.substr(8)), "--security-opt seccomp");
            auto profile = json::parse(text, nullptr, false);
            if (profile.is_discarded() || !profile.is_object())
                return error("--security-opt " + s + ": not a JSON seccomp profile");
            lnx["seccomp"] = profile;
            seccomp = false;
        } else {
            return error("--security-opt `" + s + "`: unknown (no-new-privileges, seccomp=unconfined|FILE)");
        }
    }
    if (seccomp && !o.privileged) lnx["seccomp"] = default_seccomp(caps);
    // Resources
    // (the default spec's deny-all device rule stays: the runtime then
    // allows just the devices every container has, so CAP_MKNOD cannot
    // make a node of a host disk and read it)
    HAKO_TRY(resources(o, lnx["resources"]));
    // (no cgroupsPath: below our own cgroup, hako-<id>)
    // Network: a netns hako made and wired (or another container's, or a
    // path) joined by path; none: the runtime's own (only lo); host: ours.
    auto& ns = lnx["namespaces"];
    for (auto it = ns.begin(); it != ns.end(); ++it)
        if ((*it)["type"] == "network") {
            if (net.kind == NetPlan::Host) ns.erase(it);
            else if (!net.netns.empty()) (*it)["path"] = net.netns;
            break;
        }
    for (const auto& b : net.binds)
        spec["mounts"].push_back({{"destination", b.dst}, {"type", "bind"}, {"source", b.src},
                                  {"options", {"rbind", b.ro ? "ro" : "rw", "rprivate"}}});
    // Volumes, binds and tmpfs (resolved by the engine)
    for (const auto& m : in.mounts) {
        if (m.type == "tmpfs") {
            std::vector<std::string> opts = {"nosuid", "nodev"};
            bool mode = false;
            for (const auto& op : m.options) mode = mode || op.rfind("mode=", 0) == 0;
            if (!mode) opts.emplace_back("mode=1777");
            opts.insert(opts.end(), m.options.begin(), m.options.end());
            if (m.ro) opts.emplace_back("ro");
            spec["mounts"].push_back({{"destination", m.destination}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", opts}});
            continue;
        }
        std::vector<std::string> opts = {"rbind", m.ro ? "ro" : "rw"};
        bool propagation = false;
        for (const auto& op : m.options) {
            if (op == "nocopy" || op == "rbind" || op == "bind") continue;
            propagation = propagation || op.find("private") != std::string::npos || op.find("shared") != std::string::npos ||
                          op.find("slave") != std::string::npos;
            opts.push_back(op);
        }
        if (!propagation) opts.emplace_back("rprivate");
        spec["mounts"].push_back({{"destination", m.destination}, {"type", "bind"}, {"source", m.source}, {"options", opts}});
    }
    HAKO_TRY(apply_host_options(spec, o, in));
    spec["annotations"] = {{"io.github.hako.image", img.names.empty() ? img.id : img.names[0]}};
    for (const auto& [k, v] : in.labels) spec["annotations"][k] = v;
    return MadeConfig{spec.dump(2), std::move(args)};
}

}  // namespace hako::frontend
