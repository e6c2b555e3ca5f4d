// What the kernel gets: a network's bridge, addresses, sysctls, nftables
// chains and resolver going up and down; a container's veths and addresses
// in its netns; its /etc/hosts, /etc/resolv.conf and /etc/hostname.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>

#include <cstring>

#include "common/log.hpp"
#include "common/scope.hpp"
#include "frontend/network_internal.hpp"
#include "net/dns.hpp"
#include "net/firewall.hpp"
#include "net/rtnl.hpp"
#include "sys/syscalls.hpp"

namespace hako::frontend {

using net::IpAddr;

namespace {

net::FwNetwork fw_network(const NetworkDef& d) {
    net::FwNetwork f;
    f.bridge = d.bridge;
    f.internal = d.internal;
    for (const auto& s : d.subnets) f.subnets.push_back(s.subnet);
    return f;
}

// `hako __resolver` for a network, detached (a grandchild: init reaps it),
// on sockets bound here, so that it answers from the first query on.
Result<ProcRef> spawn_resolver(const NetworkDef& d, const std::string& runroot, const std::string& names) {
    std::vector<UniqueFd> udp, tcp;
    for (const auto& s : d.subnets)
        for (uint8_t proto : {IPPROTO_UDP, IPPROTO_TCP}) {
            auto held = net::hold_port(proto, s.gateway, 53, 64);
            if (!held)
                return std::unexpected(std::move(held).error().context(std::string("the resolver's ") + net::proto_name(proto) +
                                                                      " socket on " + s.gateway.str() + ":53"));
            (proto == IPPROTO_UDP ? udp : tcp).push_back(std::move(held->fd));
        }
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) return sys_error("pipe");
    UniqueFd rd(pfd[0]), wr(pfd[1]);
    pid_t child = fork();
    if (child < 0) return sys_error("fork the resolver");
    if (child == 0) {
        rd.reset();
        pid_t grand = fork();
        if (grand == 0) {
            std::string udp_list, tcp_list;
            int next = 3;
            std::vector<std::pair<int, int>> moves;
            for (auto& f : udp) {
                moves.push_back({f.get(), next});
                udp_list += (udp_list.empty() ? "" : ",") + std::to_string(next++);
            }
            for (auto& f : tcp) {
                moves.push_back({f.get(), next});
                tcp_list += (tcp_list.empty() ? "" : ",") + std::to_string(next++);
            }
            // Out of the way of the targets first, then into place.
            for (auto& [from, to] : moves) {
                int tmp = fcntl(from, F_DUPFD_CLOEXEC, 64);
                from = tmp;
            }
            for (auto& [from, to] : moves) dup2(from, to);
            detach_from_caller(false);  // (the sockets, at 3.., stay: the rest closes on exec)
            const char* argv[] = {"hako-resolver", "--runroot", runroot.c_str(), "__resolver", "--names",
                                  names.c_str(),   "--udp",     udp_list.c_str(), "--tcp", tcp_list.c_str(), nullptr};
            execv("/proc/self/exe", const_cast<char* const*>(argv));
            _exit(127);
        }
        (void)!::write(wr.get(), &grand, sizeof grand);
        _exit(grand > 0 ? 0 : 1);
    }
    wr.reset();
    pid_t grand = -1;
    ssize_t n = ::read(rd.get(), &grand, sizeof grand);
    while (waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
    if (n != sizeof grand || grand <= 0) return error("start the resolver of network `" + d.name + "`: fork failed");
    return ProcRef::of(grand);
}

// SIGTERM, and wait (a second at most) until it has gone.
void stop_process(const ProcRef& p) {
    if (!p.alive()) return;
    auto fd = sys::pidfd_open(p.pid);
    if (!fd || !p.alive()) return;
    if (!sys::pidfd_send_signal(fd->get(), SIGTERM)) return;
    pollfd pfd{fd->get(), POLLIN, 0};
    while (::poll(&pfd, 1, 1000) < 0 && errno == EINTR) {
    }
}

// Replace a file's content keeping its inode (it is bind-mounted).
Status write_in_place(const std::string& path, const std::string& text) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return sys_error("write `" + path + "`");
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        return sys_error("write `" + path + "`");
    return {};
}

}  // namespace

Status Networks::network_up(State& st, const NetworkDef& def) {
    log::Step step("network " + def.name + ": up (bridge " + def.bridge + ")");
    auto rt = HAKO_TRY(net::Rtnl::open());
    // A bridge of ours left by a crash (the state went, the link stayed).
    if (HAKO_TRY(rt.ifindex(def.bridge)) > 0) HAKO_TRY(rt.delete_link(def.bridge));
    for (const auto& r : HAKO_TRY(rt.routes()))
        for (const auto& s : def.subnets)
            if (r.dst.overlaps(s.subnet) && r.dev != def.bridge)
                return error("network `" + def.name + "`: its subnet " + s.subnet.str() + " overlaps the host's route " +
                             r.dst.str() + (r.dev.empty() ? "" : " (dev " + r.dev + ")") + " now");
    net::NlMsg m;
    net::req_new_bridge(m, def.bridge, def.mtu, bridge_mac(def.id), def.v6() != nullptr);
    HAKO_TRY(rt.request(m));
    ScopeExit undo_bridge([&] { (void)rt.delete_link(def.bridge); });
    int index = HAKO_TRY(rt.ifindex(def.bridge));
    m.clear();
    for (const auto& s : def.subnets) net::req_add_address(m, index, s.gateway, s.subnet.len, def.bridge);
    HAKO_TRY(rt.request(m));
    // Forwarding; 127.0.0.1 published ports (DNAT from the host's loopback).
    HAKO_TRY(net::sysctl("net/ipv4/ip_forward", "1"));
    HAKO_TRY(net::sysctl("net/ipv4/conf/" + def.bridge + "/route_localnet", "1"));
    if (def.v6()) HAKO_TRY(net::enable_ipv6_forwarding());
    auto fw = HAKO_TRY(net::Firewall::open());
    bool others_up = !st.networks.empty();
    // (ours in the state from here: a rebuild includes it)
    LiveNetwork ln;
    ln.bridge = def.bridge;
    ln.ifindex = index;
    ln.dns = def.dns;
    st.networks[def.name] = ln;
    ScopeExit unlist([&] { st.networks.erase(def.name); });
    // The table gone while networks are up, or half there: all anew.
    Status added = others_up && !HAKO_TRY(fw.present()) ? Status(std::unexpected(Error{ENOENT, "table inet hako is gone"}))
                                                         : fw.add_network(fw_network(def));
    if (!added && (added.error().err == ENOENT || added.error().err == EEXIST)) {
        log::debug("network {}: {}: rebuilding table inet hako from the state", def.name, added.error().what());
        added = rebuild_firewall(st);
    }
    HAKO_TRY(added);
    ScopeExit undo_fw([&] { (void)fw.remove_network(fw_network(def), st.networks.empty()); });
    auto opened = HAKO_TRY(fw.open_foreign_forward(def.bridge));
    for (const auto& chain : opened)
        log::debug("network {}: the forward chain `{}` drops by default (another tool's, docker's say): "
                   "accept rules for {} put at its top",
                   def.name, chain, def.bridge);
    ScopeExit undo_foreign([&] { (void)fw.close_foreign_forward(def.bridge); });
    if (auto r = ensure_resolver(st, def); !r) {
        st.networks.erase(def.name);
        (void)write_names(st, def.name);
        return r;
    }
    unlist.release();
    undo_bridge.release();
    undo_fw.release();
    undo_foreign.release();
    return {};
}

Status Networks::ensure_resolver(State& st, const NetworkDef& def) {
    auto& ln = st.networks[def.name];
    if (!def.dns || ln.resolver.alive()) return {};
    if (ln.resolver.pid) log::debug("network {}: its resolver (pid {}) is gone: starting another", def.name, ln.resolver.pid);
    HAKO_TRY(write_names(st, def.name));
    ln.resolver = HAKO_TRY(spawn_resolver(def, runroot_, runroot_ + "/net/dns/" + def.name + ".names"));
    return {};
}

Status Networks::rebuild_firewall(const State& st) {
    std::vector<net::FwNetwork> nets;
    for (const auto& [name, ln] : st.networks) nets.push_back(fw_network(HAKO_TRY(load_def(name))));
    std::vector<net::FwPort> ports;
    for (const auto& [id, c] : st.containers)
        if (c.ports_installed)
            for (const auto& p : fw_ports(c)) ports.push_back(p);
    auto fw = HAKO_TRY(net::Firewall::open());
    return fw.rebuild(nets, ports);
}

Status Networks::network_down(State& st, const std::string& name) {
    auto it = st.networks.find(name);
    if (it == st.networks.end()) return {};
    log::Step step("network " + name + ": down (bridge " + it->second.bridge + ")");
    LiveNetwork ln = it->second;
    st.networks.erase(it);
    stop_process(ln.resolver);
    HAKO_TRY(write_names(st, name));  // (removes the names file)
    auto fw = HAKO_TRY(net::Firewall::open());
    HAKO_TRY(fw.close_foreign_forward(ln.bridge));
    net::FwNetwork f;
    f.bridge = ln.bridge;
    HAKO_TRY(fw.remove_network(f, st.networks.empty()));
    auto rt = HAKO_TRY(net::Rtnl::open());
    return rt.delete_link(ln.bridge);
}

Status Networks::wire(const ContainerNet& c, const std::vector<size_t>& which, bool routes,
                      const std::map<std::string, int>& bridges) {
    log::Step step("network: wire the container's endpoints");
    UniqueFd ns(::open(c.netns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) return sys_error("open the container's network namespace `" + c.netns + "`");
    auto defs = HAKO_TRY(defs_of(c));
    bool any6 = false;
    for (size_t i : which) any6 = any6 || c.endpoints[i].ip6.has_value();
    // A socket inside (and no DAD there: addresses usable at once).
    auto inner = [&]() -> Result<net::Rtnl> {
        auto in = HAKO_TRY(net::NetnsScope::enter(ns.get()));
        if (any6) (void)net::sysctl("net/ipv6/conf/default/accept_dad", "0");
        return net::Rtnl::open();
    }();
    if (!inner) return std::unexpected(inner.error());
    auto rt = HAKO_TRY(net::Rtnl::open());
    for (size_t i : which) {
        const auto& e = c.endpoints[i];
        auto known = bridges.find(e.network);
        int br = known != bridges.end() && known->second > 0 ? known->second : HAKO_TRY(rt.ifindex(defs[i].bridge));
        if (br == 0) return error("network `" + e.network + "`: its bridge " + defs[i].bridge + " is gone");
        net::NlMsg m;
        net::req_new_veth(m, {e.veth, br, defs[i].mtu, e.ifname, ns.get(), e.mac});
        HAKO_TRY(rt.request(m));
    }
    net::NlMsg m;
    if (routes) net::req_link_up(m, 1, "lo");
    bool route4 = !routes, route6 = !routes;
    for (size_t i : which) {
        const auto& e = c.endpoints[i];
        int idx = HAKO_TRY(inner->ifindex(e.ifname));
        const Subnet* s4 = defs[i].v4();
        const Subnet* s6 = defs[i].v6();
        if (e.ip4 && s4) net::req_add_address(m, idx, *e.ip4, s4->subnet.len, e.ifname);
        if (e.ip6 && s6) net::req_add_address(m, idx, *e.ip6, s6->subnet.len, e.ifname);
        net::req_link_up(m, idx, e.ifname);
        if (defs[i].internal) continue;  // no way out: no default route
        if (e.ip4 && s4 && !route4) {
            net::req_add_default_route(m, idx, s4->gateway, e.ifname);
            route4 = true;
        }
        if (e.ip6 && s6 && !route6) {
            net::req_add_default_route(m, idx, s6->gateway, e.ifname);
            route6 = true;
        }
    }
    return inner->request(m);
}

Result<std::vector<NetworkDef>> Networks::defs_of(const ContainerNet& c) {
    std::vector<NetworkDef> out;
    for (const auto& e : c.endpoints) out.push_back(HAKO_TRY(load_def(e.network)));
    return out;
}

Status Networks::write_files(const ContainerNet& c) {
    auto defs = HAKO_TRY(defs_of(c));
    std::string hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
    std::string names = c.hostname + (c.name.empty() || c.name == c.hostname ? "" : " " + c.name);
    std::optional<IpAddr> gateway;
    const NetworkDef* dns_net = nullptr;
    for (size_t i = 0; i < c.endpoints.size(); ++i) {
        const auto& e = c.endpoints[i];
        if (e.ip4) hosts += e.ip4->str() + "\t" + names + "\n";
        if (e.ip6) hosts += e.ip6->str() + "\t" + names + "\n";
        if (!gateway && defs[i].v4()) gateway = defs[i].v4()->gateway;
        if (!dns_net && defs[i].dns) dns_net = &defs[i];
    }
    if (gateway) hosts += gateway->str() + "\thost.containers.internal host.docker.internal\n";
    for (const auto& h : c.add_hosts) {
        auto sep = h.find_first_of(":=");
        std::string host = h.substr(0, sep), ip = h.substr(sep + 1);
        if (ip == "host-gateway") {
            if (!gateway) return error("--add-host " + h + ": host-gateway needs a bridge network");
            ip = gateway->str();
        }
        hosts += ip + "\t" + host + "\n";
    }
    std::string resolv;
    auto host = net::dns::host_resolv();
    if (dns_net) {
        resolv += "nameserver " + dns_net->v4()->gateway.str() + "\n";
    } else {
        std::vector<std::string> servers = c.dns;
        if (servers.empty())
            for (const auto& s : host.servers)
                if (!s.is_loopback()) servers.push_back(s.str());
        for (const auto& s : servers) resolv += "nameserver " + s + "\n";
        if (servers.empty()) resolv += "# no name server: the host has only local ones (use --dns)\n";
    }
    if (!c.dns_search.empty()) {
        std::string line;
        for (const auto& s : c.dns_search)
            if (s != ".") line += " " + s;
        if (!line.empty()) resolv += "search" + line + "\n";
    } else {
        for (const auto& l : host.search) resolv += l + "\n";
    }
    if (!c.dns_options.empty()) {
        resolv += "options";
        for (const auto& o : c.dns_options) resolv += " " + o;
        resolv += "\n";
    } else {
        for (const auto& l : host.options) resolv += l + "\n";
    }
    HAKO_TRY(write_in_place(c.dir + "/hosts", hosts));
    HAKO_TRY(write_in_place(c.dir + "/resolv.conf", resolv));
    return write_in_place(c.dir + "/hostname", c.hostname + "\n");
}

}  // namespace hako::frontend
