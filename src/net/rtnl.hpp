// rtnetlink, our own: bridges, veth pairs (the peer made directly inside a
// container's netns), addresses, routes, link state, the bridge port's
// hairpin flag; dumps of the host's routes and addresses; network
// namespaces kept by a bind mount, entered with setns; net sysctls.
#pragma once

#include <string>
#include <vector>

#include "net/addr.hpp"
#include "net/netlink.hpp"

namespace hako::net {

// Requests appended to a message, so that several go in one send.
// A bridge, up; `ipv6`: with link-local addressing (else none: no addrconf
// work at all). Two messages: the kernel takes IPv6 settings only from a
// link that exists.
void req_new_bridge(NlMsg& m, const std::string& name, int mtu, const Mac& mac, bool ipv6);
struct VethSpec {
    std::string host_name;  // in the caller's netns, enslaved to `master`
    int master = 0;         // the bridge's ifindex
    int mtu = 0;            // 0: the kernel's default
    std::string peer_name;  // "eth0", inside `peer_netns`
    int peer_netns = -1;    // an fd of the container's netns
    Mac peer_mac{};
};
// The pair, then its host end up as a bridge port: hairpin on, no IPv6
// addressing (it has no use for it); the peer is brought up inside.
void req_new_veth(NlMsg& m, const VethSpec& v);
void req_link_up(NlMsg& m, int ifindex, const std::string& what);
void req_del_link(NlMsg& m, const std::string& name);
// IPv6 addresses without duplicate address detection (usable at once).
void req_add_address(NlMsg& m, int ifindex, const IpAddr& a, int prefixlen, const std::string& what);
void req_add_default_route(NlMsg& m, int ifindex, const IpAddr& gw, const std::string& what);

struct HostRoute {
    Prefix dst;
    std::string dev;
};

class Rtnl {
public:
    // A NETLINK_ROUTE socket in the caller's current netns.
    static Result<Rtnl> open();
    Status request(const NlMsg& m) { return sock_.request(m); }
    // 0 when there is no such link.
    Result<int> ifindex(const std::string& name);
    // Delete a link by name; a missing one is fine.
    Status delete_link(const std::string& name);
    // Routes of every table but `local`, default routes left out, and every
    // address as its prefix: what a new subnet must not overlap.
    Result<std::vector<HostRoute>> routes();
    Result<std::vector<HostRoute>> addresses();
    Result<std::vector<std::string>> link_names();

private:
    explicit Rtnl(NlSocket s) : sock_(std::move(s)) {}
    NlSocket sock_;
};

// The directory of bind-mounted netns files: a shared mount of its own, as
// `ip netns` makes /run/netns, so that an unmount there reaches the copies
// in mount namespaces made meanwhile (which would keep a netns alive).
Status prepare_netns_dir(const std::string& dir);
// Its mount gone again (once no netns is left in it).
Status release_netns_dir(const std::string& dir);
// A new network namespace, bind-mounted at `path` (in a prepared dir).
// Returns an fd of it; the caller stays where it was. Without `ipv6`, links
// made in it get no IPv6 link-local addressing (addr_gen_mode none).
Result<UniqueFd> create_netns(const std::string& path, bool ipv6);
// Unmount and remove a namespace made by create_netns; gone already is fine.
Status remove_netns(const std::string& path);

// The calling (single-threaded) process in netns `fd` until destroyed.
class NetnsScope {
public:
    static Result<NetnsScope> enter(int fd);
    NetnsScope(NetnsScope&& o) noexcept : back_(std::move(o.back_)) {}
    NetnsScope(const NetnsScope&) = delete;
    ~NetnsScope();

private:
    NetnsScope() = default;
    UniqueFd back_;
};

// IPv6 forwarding on, as a router, but every interface that accepted router
// advertisements goes on doing so (accept_ra 1 -> 2): forwarding alone
// would make the host drop its RA-learned routes.
Status enable_ipv6_forwarding();

// Write a sysctl under /proc/sys (e.g. "net/ipv4/ip_forward") unless it
// already holds `value`.
Status sysctl(const std::string& key, const std::string& value);

}  // namespace hako::net
