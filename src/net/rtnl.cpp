// rtnetlink requests and dumps, network namespaces, sysctls (see rtnl.hpp).
#include "net/rtnl.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cstring>
#include <optional>

#include "sys/syscalls.hpp"

namespace hako::net {

namespace {

ifinfomsg link_hdr(int index = 0, unsigned flags = 0, unsigned change = 0) {
    ifinfomsg i{};
    i.ifi_family = AF_UNSPEC;
    i.ifi_index = index;
    i.ifi_flags = flags;
    i.ifi_change = change;
    return i;
}

// No IPv6 addrconf on a link (no link-local address, DAD, MLD): what an
// IPv4-only container's eth0 and every bridge port need of IPv6.
void no_addrconf(NlMsg& m) {
    size_t spec = m.nest(IFLA_AF_SPEC);
    size_t inet6 = m.nest(AF_INET6);
    m.put_u8(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
    m.nest_end(inet6);
    m.nest_end(spec);
}

// An address attribute of a route or address message of `family`.
std::optional<IpAddr> addr_attr(const nlattr* at, int family) {
    if (!at) return std::nullopt;
    IpAddr a;
    a.v6 = family == AF_INET6;
    if (nla_len(at) != a.size()) return std::nullopt;
    std::memcpy(a.b.data(), nla_payload(at), a.size());
    return a;
}

std::string if_name(int index) {
    char buf[IF_NAMESIZE] = {};
    return if_indextoname(static_cast<unsigned>(index), buf) ? buf : std::to_string(index);
}

}  // namespace

// Up a link that was made down (by name: it follows its creation in one
// send), with `extra` attributes.
template <class F>
void req_up_by_name(NlMsg& m, const std::string& name, const std::string& what, F extra) {
    auto h = link_hdr(0, IFF_UP, IFF_UP);
    m.begin(RTM_NEWLINK, NLM_F_ACK, &h, sizeof h, what);
    m.put_str(IFLA_IFNAME, name);
    extra();
    m.end();
}

void req_new_bridge(NlMsg& m, const std::string& name, int mtu, const Mac& mac, bool ipv6) {
    auto h = link_hdr();
    m.begin(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &h, sizeof h, "create bridge `" + name + "`");
    m.put_str(IFLA_IFNAME, name);
    if (mtu > 0) m.put_u32(IFLA_MTU, static_cast<uint32_t>(mtu));
    m.put(IFLA_ADDRESS, mac.data(), mac.size());  // fixed: ports joining never change it
    size_t info = m.nest(IFLA_LINKINFO);
    m.put_str(IFLA_INFO_KIND, "bridge");
    m.nest_end(info);
    m.end();
    req_up_by_name(m, name, "set bridge `" + name + "` up", [&] {
        if (!ipv6) no_addrconf(m);
    });
}

void req_new_veth(NlMsg& m, const VethSpec& v) {
    auto h = link_hdr();
    m.begin(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &h, sizeof h,
            "create veth `" + v.host_name + "` (peer " + v.peer_name + " in the container's netns)");
    m.put_str(IFLA_IFNAME, v.host_name);
    if (v.mtu > 0) m.put_u32(IFLA_MTU, static_cast<uint32_t>(v.mtu));
    if (v.master > 0) m.put_u32(IFLA_MASTER, static_cast<uint32_t>(v.master));
    size_t info = m.nest(IFLA_LINKINFO);
    m.put_str(IFLA_INFO_KIND, "veth");
    size_t data = m.nest(IFLA_INFO_DATA);
    size_t peer = m.nest(VETH_INFO_PEER);
    auto ph = link_hdr();
    m.append(&ph, sizeof ph);
    m.put_str(IFLA_IFNAME, v.peer_name);
    m.put_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(v.peer_netns));
    if (v.mtu > 0) m.put_u32(IFLA_MTU, static_cast<uint32_t>(v.mtu));
    m.put(IFLA_ADDRESS, v.peer_mac.data(), v.peer_mac.size());
    m.nest_end(peer);
    m.nest_end(data);
    m.nest_end(info);
    m.end();
    req_up_by_name(m, v.host_name, "set bridge port `" + v.host_name + "` up (hairpin)", [&] {
        no_addrconf(m);
        size_t li = m.nest(IFLA_LINKINFO);
        size_t slave = m.nest(IFLA_INFO_SLAVE_DATA);
        m.put_u8(IFLA_BRPORT_MODE, 1);
        m.nest_end(slave);
        m.nest_end(li);
    });
}

void req_link_up(NlMsg& m, int ifindex, const std::string& what) {
    auto h = link_hdr(ifindex, IFF_UP, IFF_UP);
    m.begin(RTM_NEWLINK, NLM_F_ACK, &h, sizeof h, "set " + what + " up");
    m.end();
}

void req_del_link(NlMsg& m, const std::string& name) {
    auto h = link_hdr();
    m.begin(RTM_DELLINK, NLM_F_ACK, &h, sizeof h, "delete link `" + name + "`");
    m.put_str(IFLA_IFNAME, name);
    m.end();
}

void req_add_address(NlMsg& m, int ifindex, const IpAddr& a, int prefixlen, const std::string& what) {
    ifaddrmsg h{};
    h.ifa_family = static_cast<uint8_t>(a.family());
    h.ifa_prefixlen = static_cast<uint8_t>(prefixlen);
    h.ifa_scope = RT_SCOPE_UNIVERSE;
    h.ifa_index = static_cast<uint32_t>(ifindex);
    if (a.v6) h.ifa_flags = IFA_F_NODAD;
    m.begin(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, &h, sizeof h,
            "add address " + a.str() + "/" + std::to_string(prefixlen) + " to " + what);
    m.put(IFA_LOCAL, a.b.data(), a.size());
    m.put(IFA_ADDRESS, a.b.data(), a.size());
    if (!a.v6 && prefixlen < 31) {
        IpAddr brd = Prefix::network(a, prefixlen).last();
        m.put(IFA_BROADCAST, brd.b.data(), 4);
    }
    if (a.v6) m.put_u32(IFA_FLAGS, IFA_F_NODAD);
    m.end();
}

void req_add_default_route(NlMsg& m, int ifindex, const IpAddr& gw, const std::string& what) {
    rtmsg h{};
    h.rtm_family = static_cast<uint8_t>(gw.family());
    h.rtm_table = RT_TABLE_MAIN;
    h.rtm_protocol = RTPROT_BOOT;
    h.rtm_scope = RT_SCOPE_UNIVERSE;
    h.rtm_type = RTN_UNICAST;
    m.begin(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &h, sizeof h,
            "add the default route via " + gw.str() + " on " + what);
    m.put(RTA_GATEWAY, gw.b.data(), gw.size());
    m.put_u32(RTA_OIF, static_cast<uint32_t>(ifindex));
    m.end();
}

Result<Rtnl> Rtnl::open() {
    auto s = HAKO_TRY(NlSocket::open(NETLINK_ROUTE));
    return Rtnl(std::move(s));
}

Result<int> Rtnl::ifindex(const std::string& name) {
    NlMsg m;
    auto h = link_hdr();
    m.begin(RTM_GETLINK, NLM_F_ACK, &h, sizeof h, "look up link `" + name + "`");
    m.put_str(IFLA_IFNAME, name);
    m.end();
    int index = 0;
    auto st = sock_.request_echo(m, [&](const nlmsghdr* r) {
        if (r->nlmsg_type == RTM_NEWLINK) index = static_cast<const ifinfomsg*>(NLMSG_DATA(r))->ifi_index;
    });
    if (!st && st.error().err == ENODEV) return 0;
    if (!st) return std::unexpected(st.error());
    return index;
}

Status Rtnl::delete_link(const std::string& name) {
    NlMsg m;
    req_del_link(m, name);
    auto st = sock_.request(m);
    if (!st && (st.error().err == ENODEV || st.error().err == ENOENT)) return {};
    return st;
}

namespace {

// A dump of every `Hdr`-headed message of `type` (family AF_UNSPEC): each
// reply of type `reply` goes to `each` with its header and attributes.
template <class Hdr, class F>
Status dump_all(NlSocket& s, uint16_t type, uint16_t reply, const std::string& what, F each) {
    NlMsg m;
    Hdr h{};
    m.begin(type, NLM_F_DUMP, &h, sizeof h);
    m.end();
    HAKO_TRY_CTX(s.dump(m,
                        [&](const nlmsghdr* r) {
                            if (r->nlmsg_type == reply)
                                each(*static_cast<const Hdr*>(NLMSG_DATA(r)), parse_attrs(r, sizeof(Hdr)));
                        }),
                 what);
    return {};
}

}  // namespace

Result<std::vector<HostRoute>> Rtnl::routes() {
    std::vector<HostRoute> out;
    HAKO_TRY(dump_all<rtmsg>(sock_, RTM_GETROUTE, RTM_NEWROUTE, "list the host's routes", [&](const rtmsg& rt, const NlAttrs& attrs) {
        uint32_t table = attrs.get(RTA_TABLE) ? attrs.u32(RTA_TABLE) : rt.rtm_table;
        if (table == RT_TABLE_LOCAL || rt.rtm_dst_len == 0) return;
        if (rt.rtm_type != RTN_UNICAST && rt.rtm_type != RTN_BLACKHOLE && rt.rtm_type != RTN_UNREACHABLE &&
            rt.rtm_type != RTN_PROHIBIT)
            return;
        auto a = addr_attr(attrs.get(RTA_DST), rt.rtm_family);
        if (!a || (a->v6 && a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80)) return;  // (link-local)
        out.push_back({Prefix::network(*a, rt.rtm_dst_len),
                       attrs.get(RTA_OIF) ? if_name(static_cast<int>(attrs.u32(RTA_OIF))) : std::string()});
    }));
    return out;
}

Result<std::vector<HostRoute>> Rtnl::addresses() {
    std::vector<HostRoute> out;
    HAKO_TRY(dump_all<ifaddrmsg>(sock_, RTM_GETADDR, RTM_NEWADDR, "list the host's addresses",
                                 [&](const ifaddrmsg& ia, const NlAttrs& attrs) {
        auto a = addr_attr(attrs.get(IFA_LOCAL) ? attrs.get(IFA_LOCAL) : attrs.get(IFA_ADDRESS), ia.ifa_family);
        if (!a || ia.ifa_scope == RT_SCOPE_HOST || ia.ifa_scope == RT_SCOPE_LINK) return;
        out.push_back({Prefix::network(*a, ia.ifa_prefixlen), if_name(static_cast<int>(ia.ifa_index))});
    }));
    return out;
}

Result<std::vector<std::string>> Rtnl::link_names() {
    std::vector<std::string> out;
    HAKO_TRY(dump_all<ifinfomsg>(sock_, RTM_GETLINK, RTM_NEWLINK, "list the host's links",
                                 [&](const ifinfomsg&, const NlAttrs& attrs) { out.push_back(attrs.str(IFLA_IFNAME)); }));
    return out;
}

Status prepare_netns_dir(const std::string& dir) {
    HAKO_TRY(sys::mkdir_all(dir, 0755));
    if (::mount("", dir.c_str(), nullptr, MS_SHARED | MS_REC, nullptr) == 0) return {};  // (a mount already)
    if (errno != EINVAL) return sys_error("make `" + dir + "` a shared mount");
    HAKO_TRY(sys::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND | MS_REC, nullptr, "bind `" + dir + "` on itself"));
    return sys::mount("", dir.c_str(), nullptr, MS_SHARED | MS_REC, nullptr, "make `" + dir + "` a shared mount");
}

Status release_netns_dir(const std::string& dir) {
    if (::umount2(dir.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return sys_error("unmount `" + dir + "`");
    return {};
}

Result<UniqueFd> create_netns(const std::string& path, bool ipv6) {
    UniqueFd file(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!file) return sys_error("create `" + path + "`");
    file.reset();
    UniqueFd here(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!here) return sys_error("open /proc/thread-self/ns/net");
    if (::unshare(CLONE_NEWNET) < 0) {
        int e = errno;
        ::unlink(path.c_str());
        return sys_error("unshare a network namespace", e);
    }
    UniqueFd ns(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    int e = errno;
    if (!ipv6) (void)sysctl("net/ipv6/conf/default/addr_gen_mode", "1");  // (before any link comes)
    bool bound = ns && ::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) == 0;
    if (ns && !bound) e = errno;
    if (::setns(here.get(), CLONE_NEWNET) < 0) return sys_error("return to the host's network namespace");
    if (!bound) {
        ::unlink(path.c_str());
        return sys_error("bind the new network namespace at `" + path + "`", e);
    }
    return ns;
}

Status remove_netns(const std::string& path) {
    if (::umount2(path.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return sys_error("unmount the network namespace `" + path + "`");
    if (::unlink(path.c_str()) < 0 && errno != ENOENT) return sys_error("remove `" + path + "`");
    return {};
}

Result<NetnsScope> NetnsScope::enter(int fd) {
    NetnsScope s;
    s.back_.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!s.back_) return sys_error("open /proc/thread-self/ns/net");
    if (::setns(fd, CLONE_NEWNET) < 0) return sys_error("enter the container's network namespace");
    return s;
}

NetnsScope::~NetnsScope() {
    if (back_) (void)::setns(back_.get(), CLONE_NEWNET);
}

Status enable_ipv6_forwarding() {
    auto cur = sys::read_file("/proc/sys/net/ipv6/conf/all/forwarding");
    if (cur && cur->rfind("1", 0) == 0) return {};
    if (DIR* d = opendir("/proc/sys/net/ipv6/conf")) {
        while (dirent* e = readdir(d)) {
            std::string name = e->d_name;
            if (name == "." || name == ".." || name == "all") continue;
            std::string key = "net/ipv6/conf/" + name + "/accept_ra";
            auto ra = sys::read_file("/proc/sys/" + key);
            if (ra && ra->rfind("1", 0) == 0) (void)sysctl(key, "2");
        }
        closedir(d);
    }
    return sysctl("net/ipv6/conf/all/forwarding", "1");
}

Status sysctl(const std::string& key, const std::string& value) {
    std::string path = "/proc/sys/" + key;
    auto cur = sys::read_file(path);
    if (cur) {
        std::string v = *cur;
        while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
        if (v == value) return {};
    }
    return sys::write_file(path, value);
}

}  // namespace hako::net
