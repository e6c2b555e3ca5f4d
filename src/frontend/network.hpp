// hako's networks, composed from src/net:
//
//   <root>/networks/NAME.json      a network's definition (docker's fields); the
//                                  default `bridge` (device hako0, no DNS by
//                                  name, as docker's) is written on first use
//   <runroot>/net/state.json       what is live: networks up (bridge, resolver)
//                                  and attached containers (endpoints, ports,
//                                  owner); tmpfs, so a reboot wipes it with the
//                                  rules and addresses it describes
//   <runroot>/net/lock             flock: every change of state.json under it
//   <runroot>/net/dns/NAME.names   the resolver's names for network NAME
//   <runroot>/netns/<id>           a container's network namespace (bind mount)
//
// A network comes up (bridge, addresses, nftables chains, resolver) with its
// first container and goes with its last. A container's networking is made
// before the runtime creates it (which joins the netns by path) and torn
// down by whoever saw it exit (the monitor, a foreground run, rm -f); the
// next command that touches networks removes what a killed owner left.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "net/addr.hpp"
#include "net/ports.hpp"
#include "sys/fd.hpp"

namespace hako::frontend {

struct Subnet {
    net::Prefix subnet;
    net::IpAddr gateway;
    std::optional<net::Prefix> ip_range;
};

struct NetworkDef {
    std::string name, id, driver = "bridge", bridge, created;
    std::vector<Subnet> subnets;  // IPv4 first
    bool ipv6 = false, internal = false, dns = true;
    int mtu = 0;
    std::map<std::string, std::string> labels, options;
    [[nodiscard]] const Subnet* v4() const;
    [[nodiscard]] const Subnet* v6() const;
};

struct NetworkCreate {
    std::string name, driver = "bridge";
    std::vector<std::string> subnets, gateways, ip_ranges, options, labels;
    bool ipv6 = false, internal = false;
};

// A process, by pid and start time (a pid reused is another process).
struct ProcRef {
    pid_t pid = 0;
    uint64_t start = 0;
    [[nodiscard]] bool alive() const;
    static ProcRef of(pid_t pid);
};

struct Endpoint {
    std::string network, ifname, veth;
    std::optional<net::IpAddr> ip4, ip6;
    net::Mac mac{};
    std::vector<std::string> aliases;
};

struct PortMap {
    uint8_t proto = 6;
    std::optional<net::IpAddr> host_ip;  // none: every address
    uint16_t host_port = 0, ctr_port = 0;
    [[nodiscard]] std::string host_str() const;  // "0.0.0.0:8080" / "[::1]:80"
};

// A container's networking, as state.json holds it while it runs.
struct ContainerNet {
    std::string id, name, hostname, netns, dir;
    ProcRef owner;
    std::vector<std::string> dns;  // --dns (forwarded to by the resolver)
    std::vector<std::string> dns_search, dns_options, add_hosts;
    std::vector<Endpoint> endpoints;
    std::vector<PortMap> ports;
    bool ports_installed = false;
    std::vector<std::string> joiners;  // containers that joined its netns (container:)
};

// What `run` asked for (its flags).
struct NetRequest {
    std::vector<std::string> networks;  // --network, repeatable; empty: bridge
    std::string ip, ip6, mac;
    std::vector<std::string> aliases, add_hosts, dns, dns_search, dns_options, publish;
    bool publish_all = false;
    std::string hostname;  // -h (checked against container:)
};

// What the container gets, decided before anything is made.
struct NetPlan {
    enum Kind { None, Host, Bridge, Container, Path } kind = Bridge;
    std::string netns;  // the path the runtime joins (Bridge, Container, Path)
    std::string dir;    // the container's directory (its hosts, resolv.conf, hostname)
    // host file -> path in the container (/etc/hosts, /etc/resolv.conf, /etc/hostname)
    struct Bind {
        std::string src, dst;
        bool ro = false;
    };
    std::vector<Bind> binds;
    std::string hostname;  // Container: the target's
    std::string join_id;   // Container: the target's id
    // For attach (Bridge):
    std::vector<std::string> networks;
    std::optional<net::IpAddr> ip, ip6;
    std::optional<net::Mac> mac;
    std::vector<net::PortSpec> ports;
    NetRequest req;  // (its aliases, add_hosts, dns... as given)
};

// A running container another may join (container:NAME), as the engine finds it.
struct JoinTarget {
    std::string id, dir;
    pid_t pid = 0;
};

struct Attached {
    std::vector<UniqueFd> held;  // the published host ports' sockets
};

class Networks {
public:
    // `alive(id)`: the container still runs (its owner may be gone).
    Networks(std::string root, std::string runroot, std::function<bool(const std::string&)> alive);

    Result<NetworkDef> create(const NetworkCreate& c);
    Result<std::vector<NetworkDef>> list();
    Result<NetworkDef> get(const std::string& ref);  // name, id or id prefix
    Status remove(const std::string& ref);
    Result<std::vector<std::string>> prune();  // unused, but the default

    // Decide a container's networking from its flags (nothing is made).
    // `target` resolves container:NAME; `exposed` is the image's ExposedPorts.
    Result<NetPlan> plan(const NetRequest& r, const std::string& id, const std::string& dir,
                         const std::function<Result<JoinTarget>(const std::string&)>& target,
                         const std::vector<std::string>& exposed);
    // Make it: netns, endpoints, held ports, rules, the container's files.
    // On failure nothing of it is left.
    Result<Attached> attach(const NetPlan& p, const std::string& id, const std::string& name,
                            const std::string& hostname);
    // Tear down whatever of `id` there is (idempotent).
    Status detach(const std::string& id);
    // A running container onto / off another network.
    Status connect(const std::string& network, const std::string& id, const std::string& ip,
                   const std::vector<std::string>& aliases);
    Status disconnect(const std::string& network, const std::string& id);

    // The live networking of a container (none: not attached).
    Result<std::optional<ContainerNet>> container(const std::string& id);
    // Every attached container's, by id, from one read of the state (ps).
    Result<std::map<std::string, ContainerNet>> containers() const;
    // Containers on a network, by id.
    Result<std::vector<ContainerNet>> members(const std::string& network);
    // Remove what containers whose owner and process are gone left behind.
    Status collect_garbage();

    [[nodiscard]] const std::string& runroot() const { return runroot_; }

private:
    struct State;
    struct Lock;
    Result<NetworkDef> load_def(const std::string& name) const;
    Result<std::vector<NetworkDef>> list_files() const;  // (the default only once written)
    Result<NetworkDef> default_bridge();
    Result<Lock> lock() const;
    Result<State> load_state() const;
    Status save_state(const State& st) const;
    Status gc(State& st);
    // Remove a definition no container uses (its network down first, if up).
    Status remove_unused(State& st, const NetworkDef& d);
    Status network_up(State& st, const NetworkDef& def);
    // The whole nftables table anew from the state (another tool flushed it).
    Status rebuild_firewall(const State& st);
    // The network's resolver, started (again, if it died).
    Status ensure_resolver(State& st, const NetworkDef& def);
    Status network_down(State& st, const std::string& name);
    Status teardown(State& st, const std::string& id);
    // Networks left without containers: idle from now, a reaper for each.
    void idle(State& st, const std::string& network);
    Status reap_idle(State& st);
    [[noreturn]] void reaper(const std::string& network, uint64_t idle_since);
    Status write_names(const State& st, const std::string& network) const;
    // The container's /etc/hosts, /etc/resolv.conf, /etc/hostname (in its
    // directory, rewritten in place: they are bind-mounted).
    Status write_files(const ContainerNet& c);
    Result<Endpoint> allocate(State& st, const NetworkDef& def, const std::string& id, size_t index,
                              const std::optional<net::IpAddr>& ip, const std::optional<net::IpAddr>& ip6,
                              const std::optional<net::Mac>& mac, const std::vector<std::string>& aliases);
    // Veths for c.endpoints[which] into its netns, addresses, (routes);
    // `bridges`: ifindexes known from the state, by network.
    Status wire(const ContainerNet& c, const std::vector<size_t>& which, bool routes,
                const std::map<std::string, int>& bridges);
    Result<std::vector<NetworkDef>> defs_of(const ContainerNet& c);
    std::string root_, runroot_;
    std::function<bool(const std::string&)> alive_;
    mutable std::map<std::string, NetworkDef> defs_;  // read once per command
};

}  // namespace hako::frontend
