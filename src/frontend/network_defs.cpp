// Network definitions: create (subnets chosen or checked against the host's
// routes, addresses and name servers, and every other network), list, get,
// remove, prune; the default `bridge`, written on first use.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "common/digest.hpp"
#include "common/strings.hpp"
#include "frontend/network_internal.hpp"
#include "net/dns.hpp"
#include "net/rtnl.hpp"
#include "sys/syscalls.hpp"

namespace hako::frontend {

using json = nlohmann::json;
using net::IpAddr;
using net::Prefix;

const Subnet* NetworkDef::v4() const {
    for (const auto& s : subnets)
        if (!s.subnet.addr.v6) return &s;
    return nullptr;
}

const Subnet* NetworkDef::v6() const {
    for (const auto& s : subnets)
        if (s.subnet.addr.v6) return &s;
    return nullptr;
}

json def_to_json(const NetworkDef& d) {
    json subs = json::array();
    for (const auto& s : d.subnets) {
        json j{{"subnet", s.subnet.str()}, {"gateway", s.gateway.str()}};
        if (s.ip_range) j["ipRange"] = s.ip_range->str();
        subs.push_back(j);
    }
    return {{"name", d.name},       {"id", d.id},      {"driver", d.driver}, {"bridge", d.bridge},
            {"created", d.created}, {"subnets", subs}, {"ipv6", d.ipv6},     {"internal", d.internal},
            {"dns", d.dns},         {"mtu", d.mtu},    {"labels", d.labels}, {"options", d.options}};
}

Result<NetworkDef> def_from_json(const std::string& text, const std::string& path) {
    auto j = json::parse(text, nullptr, false);
    auto bad = [&] { return error("`" + path + "`: corrupt network definition"); };
    if (j.is_discarded() || !j.is_object()) return bad();
    NetworkDef d;
    try {
        d.name = j.at("name").get<std::string>();
        d.id = j.at("id").get<std::string>();
        d.driver = j.value("driver", "bridge");
        d.bridge = j.at("bridge").get<std::string>();
        d.created = j.value("created", "");
        d.ipv6 = j.value("ipv6", false);
        d.internal = j.value("internal", false);
        d.dns = j.value("dns", true);
        d.mtu = j.value("mtu", 0);
        d.labels = j.value("labels", std::map<std::string, std::string>{});
        d.options = j.value("options", std::map<std::string, std::string>{});
        for (const auto& s : j.at("subnets")) {
            auto p = Prefix::parse(s.at("subnet").get<std::string>());
            auto g = IpAddr::parse(s.at("gateway").get<std::string>());
            if (!p || !g) return bad();
            Subnet sub{*p, *g, std::nullopt};
            if (s.contains("ipRange")) {
                auto r = Prefix::parse(s["ipRange"].get<std::string>());
                if (!r) return bad();
                sub.ip_range = *r;
            }
            d.subnets.push_back(sub);
        }
    } catch (const std::exception&) {
        return bad();
    }
    return d;
}

namespace {

bool valid_name(const std::string& n) {
    if (n.empty() || n.size() > 128 || !isalnum(static_cast<unsigned char>(n[0]))) return false;
    return std::all_of(n.begin(), n.end(), [](char c) {
        return isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    });
}

// What a new subnet must not overlap on this host.
struct Taken {
    std::vector<std::pair<Prefix, std::string>> prefixes;  // and why ("network `x`", "the host's route ...")
    std::vector<IpAddr> servers;                            // name servers the host talks to
};

Result<Taken> taken(const std::vector<NetworkDef>& defs) {
    Taken t;
    for (const auto& d : defs)
        for (const auto& s : d.subnets) t.prefixes.push_back({s.subnet, "network `" + d.name + "`"});
    auto rt = HAKO_TRY(net::Rtnl::open());
    std::vector<std::string> ours;
    for (const auto& d : defs) ours.push_back(d.bridge);
    auto ours_dev = [&](const std::string& dev) { return std::find(ours.begin(), ours.end(), dev) != ours.end(); };
    for (const auto& r : HAKO_TRY(rt.routes()))
        if (!ours_dev(r.dev))
            t.prefixes.push_back({r.dst, "the host's route " + r.dst.str() + (r.dev.empty() ? "" : " (dev " + r.dev + ")")});
    for (const auto& a : HAKO_TRY(rt.addresses()))
        if (!ours_dev(a.dev))
            t.prefixes.push_back({a.dst, "the host's address on " + a.dev + " (" + a.dst.str() + ")"});
    t.servers = net::dns::host_resolv().servers;
    return t;
}

// Why `p` can't be used, or "" when it can.
std::string conflict(const Taken& t, const Prefix& p) {
    for (const auto& [q, why] : t.prefixes)
        if (p.overlaps(q)) return why;
    for (const auto& s : t.servers)
        if (p.contains(s)) return "the host's name server " + s.str();
    return {};
}

Result<Prefix> choose_v4(const Taken& t, bool for_default) {
    // The default: 10.90.0.0/16; others a /24 each from 10.91.0.0 to 10.99.255.0.
    if (for_default) {
        for (uint32_t second = 90; second < 100; ++second) {
            Prefix p{IpAddr::from_v4((10u << 24) | (second << 16)), 16};
            if (conflict(t, p).empty()) return p;
        }
    } else {
        for (uint32_t second = 91; second < 100; ++second)
            for (uint32_t third = 0; third < 256; ++third) {
                Prefix p{IpAddr::from_v4((10u << 24) | (second << 16) | (third << 8)), 24};
                if (conflict(t, p).empty()) return p;
            }
    }
    return error("no free IPv4 subnet left in 10.90.0.0-10.99.255.255: give one with --subnet");
}

// A unique local /64 (RFC 4193): fd00::/8 + 40 bits from the network's id.
Result<Prefix> choose_v6(const Taken& t, const std::string& id) {
    for (int attempt = 0; attempt < 16; ++attempt) {
        std::string h = sha256_hex(id + std::to_string(attempt));
        IpAddr a;
        a.v6 = true;
        a.b[0] = 0xfd;
        for (size_t i = 1; i < 6; ++i) a.b[i] = static_cast<uint8_t>(std::stoul(h.substr(i * 2, 2), nullptr, 16));
        Prefix p{a, 64};
        if (conflict(t, p).empty()) return p;
    }
    return error("no free IPv6 subnet: give one with --subnet");
}

// Checked: inside the subnet, not its network (nor v4 broadcast) address.
Status check_host(const Prefix& s, const IpAddr& a, const std::string& what) {
    if (!s.contains(a)) return error(what + " " + a.str() + " is not in the subnet " + s.str());
    if (a == s.addr || (!a.v6 && a == s.last() && s.len < 31))
        return error(what + " " + a.str() + " is the network's or broadcast address of " + s.str());
    return {};
}

}  // namespace

Result<NetworkDef> Networks::load_def(const std::string& name) const {
    if (auto it = defs_.find(name); it != defs_.end()) return it->second;
    std::string path = root_ + "/networks/" + name + ".json";
    auto text = sys::read_file(path);
    if (!text) {
        if (text.error().err == ENOENT) return std::unexpected(Error{ENOENT, "no such network `" + name + "`"});
        return std::unexpected(text.error());
    }
    auto d = HAKO_TRY(def_from_json(*text, path));
    defs_[name] = d;
    return d;
}

Result<NetworkDef> Networks::default_bridge() {
    auto d = load_def(kDefaultNetwork);
    if (d || d.error().err != ENOENT) return d;
    auto l = HAKO_TRY(lock());
    d = load_def(kDefaultNetwork);  // (made meanwhile)
    if (d || d.error().err != ENOENT) return d;
    auto others = HAKO_TRY(list_files());
    NetworkDef def;
    def.name = kDefaultNetwork;
    def.id = random_id();
    def.bridge = kDefaultBridge;
    def.dns = false;  // docker's rule: no names on the default network
    def.created = now_rfc3339();
    auto t = HAKO_TRY_CTX(taken(others), "the default network");
    auto p = HAKO_TRY(choose_v4(t, true));
    def.subnets.push_back({p, *p.nth(1), std::nullopt});
    HAKO_TRY(sys::mkdir_all(root_ + "/networks", 0755));
    HAKO_TRY(sys::write_file_atomic(AT_FDCWD, root_ + "/networks/bridge.json", def_to_json(def).dump(2)));
    return def;
}

Result<NetworkDef> Networks::create(const NetworkCreate& c) {
    if (!valid_name(c.name))
        return error("network name `" + c.name + "`: use letters, digits, `_`, `.` and `-`, starting with a letter or digit");
    if (c.name == "bridge" || c.name == "host" || c.name == "none")
        return error("network name `" + c.name + "` is reserved (a pre-defined network)");
    if (c.driver != "bridge") return error("--driver `" + c.driver + "`: only the bridge driver is supported");
    HAKO_TRY(default_bridge());  // (written first: it takes the lock itself)
    auto l = HAKO_TRY(lock());
    auto existing = HAKO_TRY(list_files());  // under the lock: two creates never pick one subnet
    if (sys::path_exists(root_ + "/networks/" + c.name + ".json"))
        return error("network `" + c.name + "` already exists");
    NetworkDef d;
    d.name = c.name;
    d.id = random_id();
    d.created = now_rfc3339();
    d.internal = c.internal;
    d.ipv6 = c.ipv6;
    for (const auto& kv : c.labels) {
        auto eq = kv.find('=');
        d.labels[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
    }
    for (const auto& kv : c.options) {
        auto eq = kv.find('=');
        std::string k = kv.substr(0, eq), v = eq == std::string::npos ? "" : kv.substr(eq + 1);
        if (k == "mtu" || k == "com.docker.network.driver.mtu") {
            int mtu = 0;
            auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), mtu);
            if (ec != std::errc{} || end != v.data() + v.size() || mtu < 68 || mtu > 65535)
                return error("--opt " + kv + ": the MTU must be a number from 68 to 65535");
            d.mtu = mtu;
        } else if (k == "com.docker.network.bridge.name" || k == "bridge.name") {
            if (v.empty() || v.size() > 15 || v.find_first_of("/ :") != std::string::npos)
                return error("--opt " + kv + ": not an interface name (1-15 characters)");
            d.bridge = v;
        } else {
            return error("--opt `" + k + "`: unknown (mtu=N, com.docker.network.bridge.name=NAME)");
        }
        d.options[k] = v;
    }
    // Subnets: given (checked), or chosen; gateways and ranges by position.
    auto t = HAKO_TRY(taken(existing));
    if (c.gateways.size() > c.subnets.size() || c.ip_ranges.size() > c.subnets.size())
        return error("--gateway and --ip-range each need a --subnet of their own");
    for (size_t i = 0; i < c.subnets.size(); ++i) {
        auto p = HAKO_TRY_CTX(Prefix::parse(c.subnets[i]), "--subnet");
        if (d.v4() && !p.addr.v6) return error("--subnet " + c.subnets[i] + ": one IPv4 subnet per network");
        if (d.v6() && p.addr.v6) return error("--subnet " + c.subnets[i] + ": one IPv6 subnet per network");
        if (p.addr.v6) d.ipv6 = true;
        if ((!p.addr.v6 && p.len > 30) || (p.addr.v6 && p.len > 126))
            return error("--subnet " + c.subnets[i] + ": too small for a gateway and a container");
        if (auto why = conflict(t, p); !why.empty())
            return error("--subnet " + c.subnets[i] + " overlaps " + why);
        Subnet s{p, *p.nth(1), std::nullopt};
        if (i < c.gateways.size()) {
            auto g = IpAddr::parse(c.gateways[i]);
            if (!g) return error("--gateway `" + c.gateways[i] + "` is not an IP address");
            HAKO_TRY(check_host(p, *g, "--gateway"));
            s.gateway = *g;
        }
        if (i < c.ip_ranges.size()) {
            auto r = HAKO_TRY_CTX(Prefix::parse(c.ip_ranges[i]), "--ip-range");
            if (r.addr.v6 != p.addr.v6 || r.len < p.len || !p.contains(r.addr))
                return error("--ip-range " + c.ip_ranges[i] + " is not inside the subnet " + p.str());
            s.ip_range = r;
        }
        d.subnets.push_back(s);
    }
    if (!d.v4()) {
        auto p = HAKO_TRY(choose_v4(t, false));
        d.subnets.insert(d.subnets.begin(), {p, *p.nth(1), std::nullopt});
    }
    if (d.ipv6 && !d.v6()) {
        auto p = HAKO_TRY(choose_v6(t, d.id));
        d.subnets.push_back({p, *p.nth(1), std::nullopt});
    }
    std::sort(d.subnets.begin(), d.subnets.end(),
              [](const Subnet& a, const Subnet& b) { return !a.subnet.addr.v6 && b.subnet.addr.v6; });
    // The bridge: hakoN, the first N no network has and no link is called.
    if (d.bridge.empty()) {
        auto rt = HAKO_TRY(net::Rtnl::open());
        auto links = HAKO_TRY(rt.link_names());
        for (int n = 1; d.bridge.empty(); ++n) {
            std::string b = "hako" + std::to_string(n);
            bool used = std::find(links.begin(), links.end(), b) != links.end() ||
                        std::any_of(existing.begin(), existing.end(), [&](const NetworkDef& e) { return e.bridge == b; });
            if (!used) d.bridge = b;
        }
    } else {
        for (const auto& e : existing)
            if (e.bridge == d.bridge) return error("bridge `" + d.bridge + "` is network `" + e.name + "`'s already");
    }
    HAKO_TRY(sys::mkdir_all(root_ + "/networks", 0755));
    HAKO_TRY(sys::write_file_atomic(AT_FDCWD, root_ + "/networks/" + d.name + ".json", def_to_json(d).dump(2)));
    return d;
}

Result<std::vector<NetworkDef>> Networks::list_files() const {
    std::vector<NetworkDef> out;
    if (DIR* dir = opendir((root_ + "/networks").c_str())) {
        std::vector<std::string> names;
        while (dirent* e = readdir(dir)) {
            std::string n = e->d_name;
            if (n.size() > 5 && n.ends_with(".json") && n[0] != '.') names.push_back(n.substr(0, n.size() - 5));
        }
        closedir(dir);
        for (const auto& n : names)
            if (auto d = load_def(n)) out.push_back(std::move(*d));
    }
    return out;
}

Result<std::vector<NetworkDef>> Networks::list() {
    auto out = HAKO_TRY(list_files());
    if (std::none_of(out.begin(), out.end(), [](const NetworkDef& d) { return d.name == kDefaultNetwork; }))
        out.push_back(HAKO_TRY(default_bridge()));
    std::sort(out.begin(), out.end(), [](const NetworkDef& a, const NetworkDef& b) { return a.name < b.name; });
    return out;
}

Result<NetworkDef> Networks::get(const std::string& ref) {
    if (ref == kDefaultNetwork) return default_bridge();
    if (valid_name(ref)) {
        auto d = load_def(ref);
        if (d || d.error().err != ENOENT) return d;
    }
    auto all = HAKO_TRY(list());
    const NetworkDef* match = nullptr;
    for (const auto& d : all) {
        if (d.id == ref) return d;
        if (ref.size() >= 3 && d.id.rfind(ref, 0) == 0) {
            if (match) return error("network id prefix `" + ref + "` is ambiguous");
            match = &d;
        }
    }
    if (match) return *match;
    return std::unexpected(Error{ENOENT, "no such network `" + ref + "`"});
}

Status Networks::remove_unused(State& st, const NetworkDef& d) {
    if (auto who = st.user_of(d.name); !who.empty())
        return error("network `" + d.name + "` is in use by container `" + who +
                     "`: stop the container, or disconnect it first");
    defs_.erase(d.name);
    if (st.networks.count(d.name)) {  // up, idle: down now
        HAKO_TRY(network_down(st, d.name));
        HAKO_TRY(save_state(st));
    }
    std::string path = root_ + "/networks/" + d.name + ".json";
    if (::unlink(path.c_str()) < 0 && errno != ENOENT) return sys_error("remove `" + path + "`");
    return {};
}

Status Networks::remove(const std::string& ref) {
    auto d = HAKO_TRY(get(ref));
    if (d.name == kDefaultNetwork) return error("`bridge` is a pre-defined network and cannot be removed");
    auto l = HAKO_TRY(lock());
    auto st = HAKO_TRY(load_state());
    HAKO_TRY(gc(st));
    HAKO_TRY(save_state(st));
    return remove_unused(st, d);
}

Result<std::vector<std::string>> Networks::prune() {
    std::vector<std::string> removed;
    auto defs = HAKO_TRY(list());
    auto l = HAKO_TRY(lock());
    auto st = HAKO_TRY(load_state());
    HAKO_TRY(gc(st));
    HAKO_TRY(save_state(st));
    for (const auto& d : defs) {
        if (d.name == kDefaultNetwork || st.in_use(d.name)) continue;
        HAKO_TRY(remove_unused(st, d));
        removed.push_back(d.name);
    }
    return removed;
}

}  // namespace hako::frontend
