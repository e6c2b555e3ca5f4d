// A container's networking: the plan from its flags (every check before
// anything is made), attach (addresses and ports reserved under the lock,
// then the netns and veths), detach and teardown (idempotent), connect and
// disconnect of a running container.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "common/log.hpp"
#include "common/scope.hpp"
#include "frontend/network_internal.hpp"
#include "net/rtnl.hpp"
#include "sys/syscalls.hpp"

namespace hako::frontend {

using net::IpAddr;

std::vector<net::FwPort> fw_ports(const ContainerNet& c) {
    std::vector<net::FwPort> out;
    std::optional<IpAddr> ip4, ip6;
    for (const auto& e : c.endpoints) {
        if (!ip4 && e.ip4) ip4 = e.ip4;
        if (!ip6 && e.ip6) ip6 = e.ip6;
    }
    for (const auto& p : c.ports) {
        net::FwPort f;
        f.proto = p.proto;
        f.host_port = p.host_port;
        f.ctr_port = p.ctr_port;
        f.any_host = !p.host_ip;
        if (p.host_ip) f.host_ip = *p.host_ip;
        bool v6 = p.host_ip && p.host_ip->v6;
        if (!v6 && ip4) {
            f.ctr_ip = *ip4;
            out.push_back(f);
        }
        if ((v6 || !p.host_ip) && ip6) {
            f.ctr_ip = *ip6;
            out.push_back(f);
        }
    }
    return out;
}

namespace {

bool starts(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

}  // namespace

Result<NetPlan> Networks::plan(const NetRequest& r, const std::string& id, const std::string& dir,
                               const std::function<Result<JoinTarget>(const std::string&)>& target,
                               const std::vector<std::string>& exposed) {
    NetPlan p;
    p.req = r;
    std::vector<std::string> nets = r.networks.empty() ? std::vector<std::string>{kDefaultNetwork} : r.networks;
    const std::string& first = nets.front();
    auto special = [](const std::string& n) { return n == "none" || n == "host" || starts(n, "container:") || starts(n, "ns:"); };
    if (nets.size() > 1)
        for (const auto& n : nets)
            if (special(n)) return error("--network " + n + ": none, host, container: and ns: can't be combined with other networks");
    bool publish = !r.publish.empty() || r.publish_all;
    if (first == "none" || starts(first, "ns:")) {
        p.kind = first == "none" ? NetPlan::None : NetPlan::Path;
        if (p.kind == NetPlan::Path) {
            p.netns = first.substr(3);
            if (p.netns.empty() || p.netns[0] != '/') return error("--network " + first + ": give an absolute path");
            if (!sys::path_exists(p.netns)) return error("--network " + first + ": `" + p.netns + "` does not exist");
        }
    } else if (first == "host") {
        p.kind = NetPlan::Host;
        if (publish) log::warn("published ports are discarded when using host network mode");
        for (const char* f : {"/etc/hosts", "/etc/resolv.conf"})
            if (sys::path_exists(f)) p.binds.push_back({f, f, true});
    } else if (starts(first, "container:")) {
        p.kind = NetPlan::Container;
        if (publish) return error("conflicting options: port publishing and the container type network mode");
        if (!r.dns.empty() || !r.dns_search.empty() || !r.dns_options.empty())
            return error("conflicting options: dns and the network mode");
        if (!r.add_hosts.empty()) return error("conflicting options: custom host-to-IP mapping and the network mode");
        if (!r.hostname.empty()) return error("conflicting options: hostname and the network mode");
        if (!r.mac.empty()) return error("conflicting options: mac-address and the network mode");
        auto t = HAKO_TRY_CTX(target(first.substr(10)), "--network " + first);
        p.netns = "/proc/" + std::to_string(t.pid) + "/ns/net";
        p.join_id = t.id;
        for (const char* f : {"hosts", "resolv.conf", "hostname"})
            if (sys::path_exists(t.dir + "/" + f)) p.binds.push_back({t.dir + "/" + f, std::string("/etc/") + f});
        if (auto h = sys::read_file(t.dir + "/hostname")) {
            p.hostname = *h;
            while (!p.hostname.empty() && p.hostname.back() == '\n') p.hostname.pop_back();
        }
    } else {
        p.kind = NetPlan::Bridge;
        p.netns = runroot_ + "/netns/" + id;
        for (const auto& n : nets) {
            auto d = HAKO_TRY_CTX(get(n), "--network " + n);
            if (std::find(p.networks.begin(), p.networks.end(), d.name) != p.networks.end())
                return error("--network " + n + ": given twice");
            p.networks.push_back(d.name);
        }
    }
    bool user = p.kind == NetPlan::Bridge && p.networks.front() != kDefaultNetwork;
    if (!r.ip.empty() || !r.ip6.empty()) {
        if (!user) return error(std::string(r.ip.empty() ? "--ip6" : "--ip") + ": an address of your choosing needs a user-defined network");
        auto d = HAKO_TRY(get(p.networks.front()));
        if (!r.ip.empty()) {
            auto a = IpAddr::parse(r.ip);
            if (!a || a->v6) return error("--ip `" + r.ip + "` is not an IPv4 address");
            if (!d.v4()->subnet.contains(*a)) return error("--ip " + r.ip + " is not in network `" + d.name + "`'s subnet " + d.v4()->subnet.str());
            p.ip = *a;
        }
        if (!r.ip6.empty()) {
            auto a = IpAddr::parse(r.ip6);
            if (!a || !a->v6) return error("--ip6 `" + r.ip6 + "` is not an IPv6 address");
            if (!d.v6() || !d.v6()->subnet.contains(*a))
                return error("--ip6 " + r.ip6 + " is not in an IPv6 subnet of network `" + d.name + "`");
            p.ip6 = *a;
        }
    }
    if (!r.aliases.empty() && !user) return error("--network-alias: network-scoped aliases are supported only for user-defined networks");
    if (!r.mac.empty()) {
        if (p.kind != NetPlan::Bridge) return error("--mac-address needs a bridge network");
        auto m = net::parse_mac(r.mac);
        if (!m) return error("--mac-address `" + r.mac + "` is not a unicast MAC address (e.g. 02:42:ac:11:00:02)");
        p.mac = *m;
    }
    for (const auto& d : r.dns)
        if (!IpAddr::parse(d)) return error("--dns `" + d + "` is not an IP address");
    for (const auto& h : r.add_hosts) {
        auto sep = h.find_first_of(":=");
        if (sep == std::string::npos || sep == 0 || sep + 1 == h.size())
            return error("--add-host `" + h + "`: expected HOST:IP (or HOST:host-gateway)");
        std::string ip = h.substr(sep + 1);
        if (ip != "host-gateway" && !IpAddr::parse(ip)) return error("--add-host `" + h + "`: `" + ip + "` is not an IP address");
    }
    if (p.kind == NetPlan::Bridge) {
        for (const auto& s : r.publish) p.ports.push_back(HAKO_TRY(net::parse_publish(s)));
        if (r.publish_all)
            for (const auto& e : exposed) p.ports.push_back(HAKO_TRY_CTX(net::parse_exposed(e), "-P (the image's ExposedPorts)"));
    }
    p.dir = dir;
    if (p.kind != NetPlan::Host && p.kind != NetPlan::Container)
        for (const char* f : {"hosts", "resolv.conf", "hostname"})
            p.binds.push_back({dir + "/" + f, std::string("/etc/") + f});
    return p;
}

Result<Endpoint> Networks::allocate(State& st, const NetworkDef& def, const std::string& id, size_t index,
                                    const std::optional<IpAddr>& ip, const std::optional<IpAddr>& ip6,
                                    const std::optional<net::Mac>& mac, const std::vector<std::string>& aliases) {
    Endpoint e;
    e.network = def.name;
    e.ifname = "eth" + std::to_string(index);
    e.veth = veth_name(id, index);
    e.aliases = aliases;
    auto& live = st.networks[def.name];
    // Addresses in use on this network, and who has them.
    std::map<IpAddr, std::string> used;
    for (const auto& [cid, c] : st.containers)
        for (const auto& ep : c.endpoints)
            if (ep.network == def.name) {
                if (ep.ip4) used[*ep.ip4] = c.name;
                if (ep.ip6) used[*ep.ip6] = c.name;
            }
    auto pick = [&](const Subnet& s, const std::optional<IpAddr>& want, uint64_t& cursor, const char* flag) -> Result<IpAddr> {
        auto usable = [&](const IpAddr& a) {
            return a != s.subnet.addr && a != s.gateway && (a.v6 || s.subnet.len >= 31 || a != s.subnet.last()) &&
                   !used.count(a);
        };
        if (want) {
            if (used.count(*want)) return error(std::string(flag) + " " + want->str() + " is already in use by container `" + used[*want] + "`");
            if (!usable(*want)) return error(std::string(flag) + " " + want->str() + " is the network's own address (network, gateway or broadcast)");
            return *want;
        }
        const net::Prefix& range = s.ip_range ? *s.ip_range : s.subnet;
        uint64_t n = range.size();
        uint64_t base = s.subnet.offset(range.addr);
        for (uint64_t i = 1; i <= n; ++i) {
            uint64_t off = (cursor - std::min(cursor, base) + i) % n;
            auto a = range.nth(off);
            if (a && usable(*a)) {
                cursor = base + off;
                return *a;
            }
        }
        return error("network `" + def.name + "` has no free address left in " + range.str());
    };
    if (const Subnet* s4 = def.v4()) e.ip4 = HAKO_TRY(pick(*s4, ip, live.cursor4, "--ip"));
    if (const Subnet* s6 = def.v6()) e.ip6 = HAKO_TRY(pick(*s6, ip6, live.cursor6, "--ip6"));
    e.mac = mac ? *mac : net::mac_for(e.ip4 ? *e.ip4 : *IpAddr::parse("10.0.0.0"));
    return e;
}

namespace {

// Bind the published ports of `specs` for container `c` (checked against
// every other container's first: its name is in the message).
Status hold_ports(const std::map<std::string, ContainerNet>& others, ContainerNet& c, const std::vector<net::PortSpec>& specs,
                  Attached& out) {
    bool dual = std::any_of(c.endpoints.begin(), c.endpoints.end(), [](const Endpoint& e) { return e.ip6.has_value(); });
    auto clash = [&](const PortMap& a, const PortMap& b) {
        return a.proto == b.proto && a.host_port == b.host_port && (!a.host_ip || !b.host_ip || *a.host_ip == *b.host_ip);
    };
    auto owner = [&](const PortMap& pm) -> std::string {
        for (const auto& [id, o] : others)
            if (id != c.id)
                for (const auto& q : o.ports)
                    if (clash(pm, q)) return o.name;
        for (const auto& q : c.ports)
            if (clash(pm, q)) return "<self>";
        return {};
    };
    auto name = [](const PortMap& pm) { return "port " + pm.host_str() + "/" + net::proto_name(pm.proto); };
    for (const auto& s : specs) {
        if (s.host_ip && s.host_ip->v6 && !dual)
            return error("-p [" + s.host_ip->str() + "]:...: the container has no IPv6 address to publish to "
                         "(its first network has no IPv6 subnet)");
        uint16_t count = static_cast<uint16_t>(s.ctr_last - s.ctr_first + 1);
        for (uint16_t k = 0; k < count; ++k) {
            PortMap pm;
            pm.proto = s.proto;
            pm.host_ip = s.host_ip;
            pm.ctr_port = static_cast<uint16_t>(s.ctr_first + k);
            IpAddr bind_ip = s.host_ip ? *s.host_ip : IpAddr{};
            // Candidates: the mapped port, a range to choose from, or any.
            std::vector<uint16_t> tries;
            if (s.host_first == 0) tries = {0, 0, 0, 0, 0, 0, 0, 0};
            else if (count > 1) tries = {static_cast<uint16_t>(s.host_first + k)};
            else
                for (uint32_t h = s.host_first; h <= s.host_last; ++h) tries.push_back(static_cast<uint16_t>(h));
            std::optional<Error> last;
            bool done = false;
            for (uint16_t t : tries) {
                pm.host_port = t;
                if (t != 0) {
                    if (auto who = owner(pm); !who.empty()) {
                        last = who == "<self>" ? Error{0, name(pm) + " is published twice"}
                                               : Error{0, name(pm) + " is already in use by container " + who};
                        continue;
                    }
                }
                auto held = net::hold_port(pm.proto, bind_ip, t);
                if (!held) {
                    last = Error{0, name(pm) + (held.error().err == EADDRINUSE ? " is already in use by another process"
                                                                               : " can't be held") +
                                        " (" + held.error().msg + ": " + errno_name(held.error().err) + ")"};
                    continue;
                }
                pm.host_port = held->port;
                if (t == 0 && !owner(pm).empty()) continue;  // (a dead owner's, not yet collected)
                std::vector<UniqueFd> fds;
                fds.push_back(std::move(held->fd));
                if (!s.host_ip && dual) {  // every address: IPv6's too
                    auto h6 = net::hold_port(pm.proto, *IpAddr::parse("::"), pm.host_port);
                    if (!h6) {
                        last = Error{0, "port [::]:" + std::to_string(pm.host_port) + "/" + net::proto_name(pm.proto) +
                                            " is already in use (" + h6.error().msg + ": " +
                                            errno_name(h6.error().err) + ")"};
                        continue;
                    }
                    fds.push_back(std::move(h6->fd));
                }
                for (auto& f : fds) out.held.push_back(std::move(f));
                c.ports.push_back(pm);
                done = true;
                break;
            }
            if (!done) return std::unexpected(last ? *last : Error{0, "no free host port"});
        }
    }
    return {};
}

}  // namespace

Result<Attached> Networks::attach(const NetPlan& p, const std::string& id, const std::string& name,
                                  const std::string& hostname) {
    Attached out;
    ContainerNet c;
    c.id = id;
    c.name = name;
    c.hostname = hostname;
    c.netns = p.netns;
    c.dir = p.dir;
    c.owner = ProcRef::of(getpid());
    c.dns = p.req.dns;
    c.dns_search = p.req.dns_search;
    c.dns_options = p.req.dns_options;
    c.add_hosts = p.req.add_hosts;
    if (p.kind == NetPlan::Container && !p.join_id.empty()) {
        // Its target's veths must then go by hand: this one keeps the netns.
        auto l = HAKO_TRY(lock());
        auto st = HAKO_TRY(load_state());
        auto it = st.containers.find(p.join_id);
        if (it != st.containers.end()) {
            it->second.joiners.push_back(id);
            HAKO_TRY(save_state(st));
        }
    }
    if (p.kind == NetPlan::Host || p.kind == NetPlan::Container) return out;
    if (p.kind != NetPlan::Bridge) {
        HAKO_TRY(write_files(c));
        return out;
    }
    log::Step step("network: attach");
    std::vector<NetworkDef> defs;
    for (const auto& n : p.networks) defs.push_back(HAKO_TRY(get(n)));  // (before the lock: may write the default)
    bool made = false;
    ScopeExit undo([&] {
        if (!made) (void)detach(id);
    });
    std::map<std::string, int> bridges;
    {
        auto l = HAKO_TRY(lock());
        auto st = HAKO_TRY(load_state());
        HAKO_TRY(gc(st));
        bool first = st.containers.empty();
        st.containers[id] = c;
        auto reserve = [&]() -> Status {
            if (first) HAKO_TRY(net::prepare_netns_dir(runroot_ + "/netns"));  // (others: prepared)
            for (size_t i = 0; i < defs.size(); ++i) {
                if (!st.networks.count(defs[i].name)) HAKO_TRY(network_up(st, defs[i]));
                else HAKO_TRY(ensure_resolver(st, defs[i]));
                st.networks[defs[i].name].idle_since = 0;  // (an idle one is in use again)
                auto e = HAKO_TRY(allocate(st, defs[i], id, i, i == 0 ? p.ip : std::nullopt, i == 0 ? p.ip6 : std::nullopt,
                                           i == 0 ? p.mac : std::nullopt, i == 0 ? p.req.aliases : std::vector<std::string>{}));
                st.containers[id].endpoints.push_back(e);
            }
            c = st.containers[id];
            HAKO_TRY(hold_ports(st.containers, c, p.ports, out));
            if (!c.ports.empty()) {
                auto fw = HAKO_TRY(net::Firewall::open());
                auto added = fw.add_ports(fw_ports(c));
                c.ports_installed = true;
                st.containers[id] = c;
                if (!added && added.error().err == ENOENT) {  // (the table flushed by another tool)
                    log::debug("network: {}: rebuilding table inet hako from the state", added.error().what());
                    added = rebuild_firewall(st);
                }
                HAKO_TRY(added);
            }
            st.containers[id] = c;
            return {};
        };
        auto reserved = reserve();
        if (!reserved) {
            (void)teardown(st, id);
            (void)reap_idle(st);
            (void)save_state(st);
            made = true;  // (undone already)
            return std::unexpected(reserved.error());
        }
        HAKO_TRY(save_state(st));
        for (const auto& d : defs) HAKO_TRY(write_names(st, d.name));
        for (const auto& d : defs) bridges[d.name] = st.networks[d.name].ifindex;
    }
    {
        log::Step ns_step("network: create the netns");
        bool v6 = std::any_of(c.endpoints.begin(), c.endpoints.end(), [](const Endpoint& e) { return e.ip6.has_value(); });
        HAKO_TRY(net::create_netns(c.netns, v6));
    }
    std::vector<size_t> all(c.endpoints.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = i;
    HAKO_TRY(wire(c, all, true, bridges));
    HAKO_TRY(write_files(c));
    made = true;
    return out;
}

Status Networks::teardown(State& st, const std::string& id) {
    auto it = st.containers.find(id);
    std::string netns = runroot_ + "/netns/" + id;
    if (it == st.containers.end()) {
        HAKO_TRY(net::remove_netns(netns));
        if (st.containers.empty()) HAKO_TRY(net::release_netns_dir(runroot_ + "/netns"));
        return {};
    }
    ContainerNet c = it->second;
    // The veths go with the netns (the kernel's own work, after the unmount
    // and the last process in it), unless a container that joined it lives.
    if (std::any_of(c.joiners.begin(), c.joiners.end(), alive_)) {
        auto rt = HAKO_TRY(net::Rtnl::open());
        for (const auto& e : c.endpoints) HAKO_TRY(rt.delete_link(e.veth));
    }
    if (c.ports_installed) {
        auto fw = HAKO_TRY(net::Firewall::open());
        HAKO_TRY(fw.remove_ports(fw_ports(c)));
    }
    if (c.netns.rfind(runroot_ + "/netns/", 0) == 0) HAKO_TRY(net::remove_netns(c.netns));
    st.containers.erase(id);
    // (attach puts a container in the state before it makes its netns)
    if (st.containers.empty()) HAKO_TRY(net::release_netns_dir(runroot_ + "/netns"));
    std::vector<std::string> nets;
    for (const auto& e : c.endpoints)
        if (std::find(nets.begin(), nets.end(), e.network) == nets.end()) nets.push_back(e.network);
    for (const auto& n : nets) {
        idle(st, n);
        HAKO_TRY(write_names(st, n));
    }
    return {};
}

Status Networks::detach(const std::string& id) {
    if (!sys::path_exists(runroot_ + "/net/state.json")) return net::remove_netns(runroot_ + "/netns/" + id);
    log::Step step("network: detach");
    auto l = HAKO_TRY(lock());
    auto st = HAKO_TRY(load_state());
    auto torn = teardown(st, id);
    auto reaped = reap_idle(st);
    HAKO_TRY(save_state(st));
    HAKO_TRY(torn);
    return reaped;
}

Status Networks::connect(const std::string& network, const std::string& id, const std::string& ip,
                         const std::vector<std::string>& aliases) {
    auto def = HAKO_TRY(get(network));
    std::optional<IpAddr> want;
    if (!ip.empty()) {
        if (def.name == kDefaultNetwork) return error("--ip: an address of your choosing needs a user-defined network");
        want = IpAddr::parse(ip);
        if (!want) return error("--ip `" + ip + "` is not an IP address");
    }
    if (!aliases.empty() && def.name == kDefaultNetwork)
        return error("--alias: network-scoped aliases are supported only for user-defined networks");
    ContainerNet c;
    size_t index = 0;
    std::map<std::string, int> bridges;
    {
        auto l = HAKO_TRY(lock());
        auto st = HAKO_TRY(load_state());
        HAKO_TRY(gc(st));
        auto it = st.containers.find(id);
        if (it == st.containers.end())
            return error("container `" + id.substr(0, 12) + "` has no bridge networking to add to (not running, or "
                         "--network none, host, container: or ns:)");
        for (const auto& e : it->second.endpoints)
            if (e.network == def.name) return error("container `" + it->second.name + "` is already on network `" + def.name + "`");
        std::set<std::string> names;
        for (const auto& e : it->second.endpoints) names.insert(e.ifname);
        while (names.count("eth" + std::to_string(index))) ++index;
        bool was_up = st.networks.count(def.name) > 0;
        if (!was_up) HAKO_TRY(network_up(st, def));
        st.networks[def.name].idle_since = 0;
        auto e = allocate(st, def, id, index, want && !want->v6 ? want : std::nullopt, want && want->v6 ? want : std::nullopt,
                          std::nullopt, aliases);
        if (!e) {
            if (!was_up) (void)network_down(st, def.name);
            (void)save_state(st);
            return std::unexpected(e.error());
        }
        it->second.endpoints.push_back(*e);
        c = it->second;
        HAKO_TRY(save_state(st));
        HAKO_TRY(write_names(st, def.name));
        bridges[def.name] = st.networks[def.name].ifindex;
    }
    size_t at = c.endpoints.size() - 1;
    auto wired = wire(c, {at}, c.endpoints.size() == 1, bridges);
    if (!wired) {
        (void)disconnect(def.name, id);
        return wired;
    }
    return write_files(c);
}

Status Networks::disconnect(const std::string& network, const std::string& id) {
    auto def = HAKO_TRY(get(network));
    ContainerNet c;
    {
        auto l = HAKO_TRY(lock());
        auto st = HAKO_TRY(load_state());
        auto it = st.containers.find(id);
        if (it == st.containers.end()) return error("container `" + id.substr(0, 12) + "` is not on network `" + def.name + "`");
        auto& eps = it->second.endpoints;
        auto ep = std::find_if(eps.begin(), eps.end(), [&](const Endpoint& e) { return e.network == def.name; });
        if (ep == eps.end()) return error("container `" + it->second.name + "` is not on network `" + def.name + "`");
        auto rt = HAKO_TRY(net::Rtnl::open());
        HAKO_TRY(rt.delete_link(ep->veth));
        auto fw = HAKO_TRY(net::Firewall::open());
        if (it->second.ports_installed) HAKO_TRY(fw.remove_ports(fw_ports(it->second)));
        eps.erase(ep);
        if (it->second.ports_installed && !eps.empty()) HAKO_TRY(fw.add_ports(fw_ports(it->second)));  // to what is left
        else it->second.ports_installed = false;
        c = it->second;
        idle(st, def.name);
        HAKO_TRY(write_names(st, def.name));
        HAKO_TRY(reap_idle(st));
        HAKO_TRY(save_state(st));
    }
    return write_files(c);
}

}  // namespace hako::frontend
