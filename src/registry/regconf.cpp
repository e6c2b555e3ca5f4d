// registries.conf with toml++ (see regconf.hpp).
#include "registry/regconf.hpp"

#include <dirent.h>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <toml++/toml.h>

#include "sys/syscalls.hpp"

namespace hako::registry {
namespace {

bool prefix_matches(const std::string& prefix, const std::string& name) {
    if (prefix.rfind("*.", 0) == 0) {  // a wildcard host: *.example.com
        std::string host = name.substr(0, name.find('/'));
        return host.size() > prefix.size() - 1 && host.ends_with(prefix.substr(1));
    }
    return name == prefix || (name.size() > prefix.size() && name.rfind(prefix, 0) == 0 && name[prefix.size()] == '/');
}

Result<std::vector<std::string>> strings(const toml::node& n, const std::string& what) {
    std::vector<std::string> out;
    const auto* arr = n.as_array();
    if (!arr) return error(what + ": expected an array of strings");
    for (const auto& v : *arr) {
        auto s = v.value<std::string>();
        if (!s) return error(what + ": expected an array of strings");
        out.push_back(*s);
    }
    return out;
}

Result<bool> boolean(const toml::table& t, const char* key, const std::string& where) {
    const toml::node* n = t.get(key);
    if (!n) return false;
    auto b = n->value<bool>();
    if (!b) return error(fmt::format("{}: `{}` must be true or false", where, key));
    return *b;
}

std::string text(const toml::table& t, const char* key) { return t.get(key) ? t.get(key)->value_or<std::string>("") : ""; }

// toml++ 3.3 reaches an "unreachable" branch (undefined behaviour) for some
// non-ASCII characters (found by fuzzing): so non-ASCII is refused, but in
// comments (blanked there). registries.conf's values are host names and
// paths, ASCII all.
Result<std::string> ascii_but_comments(std::string_view in, const std::string& origin) {
    if (in.substr(0, 3) == "\xEF\xBB\xBF") in.remove_prefix(3);  // (a byte order mark)
    std::string out(in);
    enum { Code, Comment, Basic, Literal, MultiBasic, MultiLiteral } st = Code;
    size_t line = 1;
    for (size_t i = 0; i < out.size(); ++i) {
        char c = out[i];
        auto at = [&](const char* t) { return out.compare(i, std::strlen(t), t) == 0; };
        if (c == '\n') ++line;
        if (st != Comment && static_cast<unsigned char>(c) >= 0x80)
            return error(fmt::format("`{}` line {}: a non-ASCII character (only comments may have them)", origin, line));
        switch (st) {
        case Code:
            if (c == '#') st = Comment;
            else if (at("\"\"\"")) st = MultiBasic, i += 2;
            else if (at("'''")) st = MultiLiteral, i += 2;
            else if (c == '"') st = Basic;
            else if (c == '\'') st = Literal;
            break;
        case Comment:
            if (c == '\n') st = Code;
            else if (static_cast<unsigned char>(c) >= 0x80) out[i] = ' ';
            break;
        case Basic:
            if (c == '\\') ++i;
            else if (c == '"' || c == '\n') st = Code;
            break;
        case Literal:
            if (c == '\'' || c == '\n') st = Code;
            break;
        case MultiBasic:
            if (c == '\\') ++i;
            else if (at("\"\"\"")) st = Code, i += 2;
            break;
        case MultiLiteral:
            if (at("'''")) st = Code, i += 2;
            break;
        }
    }
    return out;
}

}  // namespace

const RegistryEntry* RegistriesConf::find(const std::string& name) const {
    const RegistryEntry* best = nullptr;
    for (const auto& r : registries)
        if (prefix_matches(r.prefix, name) && (!best || r.prefix.size() > best->prefix.size())) best = &r;
    return best;
}

bool RegistriesConf::insecure(const std::string& registry) const {
    auto host = [](const std::string& loc) { return loc.substr(0, loc.find('/')); };
    for (const auto& r : registries) {
        if (host(r.location) == registry || r.prefix == registry) return r.insecure;
        for (const auto& m : r.mirrors)
            if (host(m.location) == registry) return m.insecure;
    }
    const RegistryEntry* e = find(registry);
    return e && e->insecure;
}

Result<RegistriesConf> parse_registries_conf(std::string_view content, const std::string& origin, RegistriesConf conf) {
    std::string ascii = HAKO_TRY(ascii_but_comments(content, origin));
    toml::table t;
    try {
        t = toml::parse(ascii, origin);
    } catch (const toml::parse_error& err) {
        return error(fmt::format("`{}` line {}: {}", origin, err.source().begin.line, err.description()));
    }
    if (const auto* n = t.get("unqualified-search-registries"))
        conf.search = HAKO_TRY(strings(*n, fmt::format("`{}`: unqualified-search-registries", origin)));
    if (const auto* n = t.get("registry")) {
        const auto* arr = n->as_array();
        if (!arr) return error(fmt::format("`{}`: `registry` must be an array of tables ([[registry]])", origin));
        for (size_t i = 0; i < arr->size(); ++i) {
            const auto* rt = (*arr)[i].as_table();
            std::string where = fmt::format("`{}`: registry[{}]", origin, i);
            if (!rt) return error(where + ": not a table");
            RegistryEntry e;
            e.location = text(*rt, "location");
            e.prefix = text(*rt, "prefix");
            if (e.prefix.empty()) e.prefix = e.location;
            if (e.prefix.empty()) return error(where + ": neither prefix nor location");
            e.insecure = HAKO_TRY(boolean(*rt, "insecure", where));
            e.blocked = HAKO_TRY(boolean(*rt, "blocked", where));
            if (const auto* mn = rt->get("mirror")) {
                const auto* marr = mn->as_array();
                if (!marr) return error(where + ": `mirror` must be an array of tables ([[registry.mirror]])");
                for (size_t k = 0; k < marr->size(); ++k) {
                    const auto* mt = (*marr)[k].as_table();
                    std::string mwhere = fmt::format("{}.mirror[{}]", where, k);
                    if (!mt || text(*mt, "location").empty()) return error(mwhere + ": no location");
                    e.mirrors.push_back({text(*mt, "location"), HAKO_TRY(boolean(*mt, "insecure", mwhere))});
                }
            }
            std::erase_if(conf.registries, [&](const RegistryEntry& o) { return o.prefix == e.prefix; });
            conf.registries.push_back(std::move(e));
        }
    }
    if (const auto* n = t.get("aliases")) {
        const auto* at = n->as_table();
        if (!at) return error(fmt::format("`{}`: `aliases` must be a table", origin));
        for (const auto& [k, v] : *at) {
            auto s = v.value<std::string>();
            if (!s) return error(fmt::format("`{}`: alias `{}` must be a string", origin, k.str()));
            HAKO_TRY_CTX(parse_reference(*s), fmt::format("`{}`: alias `{}`", origin, k.str()));
            conf.aliases[std::string(k.str())] = *s;
        }
    }
    return conf;
}

Result<RegistriesConf> load_registries_conf() {
    const char* env = getenv("CONTAINERS_REGISTRIES_CONF");
    std::string main = env && *env ? env : "/etc/containers/registries.conf";
    RegistriesConf conf;
    auto read_one = [&](const std::string& path) -> Status {
        auto content = sys::read_file(path);
        if (!content) return content.error().err == ENOENT ? Status{} : Status(std::unexpected(content.error()));
        conf = HAKO_TRY(parse_registries_conf(*content, path, std::move(conf)));
        return {};
    };
    HAKO_TRY(read_one(main));
    std::string dir = main + ".d";
    if (DIR* d = opendir(dir.c_str())) {
        std::vector<std::string> names;
        while (dirent* e = readdir(d)) {
            std::string n = e->d_name;
            if (n.size() > 5 && n.ends_with(".conf")) names.push_back(n);
        }
        closedir(d);
        std::sort(names.begin(), names.end());
        for (const auto& n : names) HAKO_TRY(read_one(dir + "/" + n));
    }
    return conf;
}

Result<std::vector<Source>> pull_sources(const RegistriesConf& conf, const Reference& ref) {
    std::string name = ref.name();
    const RegistryEntry* e = conf.find(name);
    auto split = [](const std::string& full, bool insecure, bool mirror) {
        auto slash = full.find('/');
        Source s;
        s.registry = full.substr(0, slash);
        s.repository = slash == std::string::npos ? "" : full.substr(slash + 1);
        s.insecure = insecure;
        s.mirror = mirror;
        return s;
    };
    if (!e) return std::vector<Source>{split(name, false, false)};
    if (e->blocked) return error(fmt::format("registry `{}` is blocked in registries.conf (prefix `{}`)", ref.registry, e->prefix));
    std::string rest = e->prefix.rfind("*.", 0) == 0 ? name : name.substr(e->prefix.size());  // "/repo"
    std::vector<Source> out;
    for (const auto& m : e->mirrors) {
        Source s = split(m.location + rest, m.insecure, true);
        if (s.repository.empty()) s = split(m.location + "/" + ref.repository, m.insecure, true);
        out.push_back(s);
    }
    std::string loc = e->location.empty() || e->prefix.rfind("*.", 0) == 0 ? name : e->location + rest;
    out.push_back(split(loc, e->insecure, false));
    return out;
}

}  // namespace hako::registry
