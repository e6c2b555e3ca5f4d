// The `inet hako` table: fixed chains, per-network chains, port maps (see
// firewall.hpp). `nft list table inet hako` shows what this writes.
#include "net/firewall.hpp"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>

#include <map>

#include "net/nft.hpp"

namespace hako::net {

namespace {

using namespace nft;
const std::string kT = Firewall::kTable;

// The maps of published ports: by (host address, protocol, port), and by
// (protocol, port) for every local address; each to (container address, port).
const char* kPorts4 = "ports4";
const char* kAnyPorts4 = "anyports4";
const char* kPorts6 = "ports6";
const char* kAnyPorts6 = "anyports6";
// Verdict maps from a bridge's name to its chains.
const char* kToBridge = "to-bridge";        // forward, by oifname
const char* kFromBridge = "from-bridge";    // forward, by iifname
const char* kNatFrom = "nat-from-bridge";   // postrouting, by iifname
const char* kNatTo = "nat-to-bridge";       // postrouting, by oifname

std::string to_chain(const std::string& br) { return "to-" + br; }
std::string from_chain(const std::string& br) { return "from-" + br; }
std::string nat_from_chain(const std::string& br) { return "nat-from-" + br; }
std::string nat_to_chain(const std::string& br) { return "nat-to-" + br; }

std::string raw(const IpAddr& a) { return std::string(reinterpret_cast<const char*>(a.b.data()), a.size()); }
std::string ifkey(const std::string& name) {
    std::string k = name;
    k.resize(16, '\0');
    return k;
}

void add_sets(Batch& b) {
    auto port_map = [&](const char* name, bool v6, bool any) {
        SetSpec s;
        s.name = name;
        s.map = true;
        uint32_t alen = v6 ? 16 : 4, atype = v6 ? kTypeIp6Addr : kTypeIpAddr;
        if (any) {
            s.key_type = concat_type({kTypeInetProto, kTypeInetService});
            s.key_len = 8;
        } else {
            s.key_type = concat_type({atype, kTypeInetProto, kTypeInetService});
            s.key_len = alen + 8;
        }
        s.data_type = concat_type({atype, kTypeInetService});
        s.data_len = alen + 4;
        b.add_set(kInet, kT, s);
    };
    port_map(kPorts4, false, false);
    port_map(kAnyPorts4, false, true);
    port_map(kPorts6, true, false);
    port_map(kAnyPorts6, true, true);
    for (const char* vm : {kToBridge, kFromBridge, kNatFrom, kNatTo}) {
        SetSpec s;
        s.name = vm;
        s.key_type = kTypeIfname;
        s.key_len = 16;
        s.key_host_order = true;
        s.verdict_map = true;
        b.add_set(kInet, kT, s);
    }
}

// A DNAT rule: local destination, then the map's key into registers 0..,
// the lookup, and the translation to what it found.
Rule dnat_rule(bool v6, bool any, bool exclude_loopback) {
    Rule r;
    r.nfproto(v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
    r.fib_daddr_type(reg32(0)).cmp(NFT_CMP_EQ, reg32(0), host32(RTN_LOCAL));
    if (exclude_loopback) {
        if (v6) r.daddr_in(raw(*IpAddr::parse("::1")), 128, true, false);
        else r.daddr_in(raw(*IpAddr::parse("127.0.0.0")), 8, false, false);
    }
    uint32_t alen = v6 ? 16 : 4;
    uint32_t next = 0;
    if (!any) {
        r.payload(NFT_PAYLOAD_NETWORK_HEADER, v6 ? 24 : 16, alen, reg32(0));
        next = alen / 4;
    }
    r.meta(NFT_META_L4PROTO, reg32(next));
    r.payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg32(next + 1));
    const char* set = v6 ? (any ? kAnyPorts6 : kPorts6) : (any ? kAnyPorts4 : kPorts4);
    r.lookup(set, 0, reg32(0), reg32(0));
    r.nat(NFT_NAT_DNAT, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4, reg32(0), reg32(alen / 4));
    return r;
}

Rule dispatch(uint32_t meta_key, const char* vmap) {
    Rule r;
    r.meta(meta_key, reg32(0));
    r.lookup(vmap, 0, reg32(0), kRegVerdict);
    return r;
}

void add_base(Batch& b) {
    b.add_table(kInet, kT);
    add_sets(b);
    b.add_chain(kInet, kT, "raw-prerouting", Hook{"filter", NF_INET_PRE_ROUTING, -300});
    b.add_chain(kInet, kT, "prerouting", Hook{"nat", NF_INET_PRE_ROUTING, -100});
    b.add_chain(kInet, kT, "output", Hook{"nat", NF_INET_LOCAL_OUT, -100});
    b.add_chain(kInet, kT, "postrouting", Hook{"nat", NF_INET_POST_ROUTING, 100});
    b.add_chain(kInet, kT, "forward", Hook{"filter", NF_INET_FORWARD, 0});
    // route_localnet is on for our bridges (so the host reaches ports
    // published on 127.0.0.1): nothing may arrive for 127/8 from outside,
    // nor be translated from there (the known hole of 127.0.0.1 ports).
    b.add_rule(kInet, kT, "raw-prerouting",
               Rule().iifname("lo", false).daddr_in(raw(*IpAddr::parse("127.0.0.0")), 8, false).drop()
                   .comment("no 127/8 from outside"));
    for (bool v6 : {false, true})
        for (bool any : {false, true}) {
            b.add_rule(kInet, kT, "prerouting", dnat_rule(v6, any, true));
            b.add_rule(kInet, kT, "output", dnat_rule(v6, any, v6));
        }
    b.add_rule(kInet, kT, "postrouting", dispatch(NFT_META_IIFNAME, kNatFrom));
    b.add_rule(kInet, kT, "postrouting", dispatch(NFT_META_OIFNAME, kNatTo));
    // Into a bridge first (isolation decides there), then out of one.
    b.add_rule(kInet, kT, "forward", dispatch(NFT_META_OIFNAME, kToBridge));
    b.add_rule(kInet, kT, "forward", dispatch(NFT_META_IIFNAME, kFromBridge));
}

std::vector<Elem> dispatch_elems(const std::string& br, const char* vmap) {
    std::string chain = vmap == kToBridge     ? to_chain(br)
                        : vmap == kFromBridge ? from_chain(br)
                        : vmap == kNatFrom    ? nat_from_chain(br)
                                              : nat_to_chain(br);
    return {Elem{ifkey(br), {}, NFT_JUMP, chain}};
}

void add_network_chains(Batch& b, const FwNetwork& n) {
    const std::string& br = n.bridge;
    for (const auto& c : {to_chain(br), from_chain(br), nat_from_chain(br), nat_to_chain(br)})
        b.add_chain(kInet, kT, c);
    // Into the bridge: replies, the same network, published ports; else drop.
    b.add_rule(kInet, kT, to_chain(br), Rule().ct_bits(NFT_CT_STATE, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) |
                                                                         NF_CT_STATE_BIT(IP_CT_RELATED)).accept());
    b.add_rule(kInet, kT, to_chain(br), Rule().iifname(br).accept());
    if (!n.internal) b.add_rule(kInet, kT, to_chain(br), Rule().ct_bits(NFT_CT_STATUS, IPS_DST_NAT).accept());
    b.add_rule(kInet, kT, to_chain(br), Rule().drop());
    // Out of it: anywhere, unless internal.
    b.add_rule(kInet, kT, from_chain(br), n.internal ? Rule().drop() : Rule().accept());
    if (!n.internal) {
        for (const auto& s : n.subnets)
            b.add_rule(kInet, kT, nat_from_chain(br),
                       Rule().saddr_in(raw(s.addr), s.len, s.addr.v6).oifname(br, false).masq());
        // Hairpin: a container to a port published on this network.
        b.add_rule(kInet, kT, nat_from_chain(br), Rule().oifname(br).ct_bits(NFT_CT_STATUS, IPS_DST_NAT).masq());
        // The host over 127.0.0.1 (route_localnet): from the gateway instead.
        b.add_rule(kInet, kT, nat_to_chain(br),
                   Rule().saddr_in(raw(*IpAddr::parse("127.0.0.0")), 8, false).ct_bits(NFT_CT_STATUS, IPS_DST_NAT).masq());
    }
    for (const char* vm : {kToBridge, kFromBridge, kNatFrom, kNatTo})
        b.add_elems(kInet, kT, vm, dispatch_elems(br, vm));
}

struct PortElem {
    const char* set;
    Elem elem;
};

PortElem port_elem(const FwPort& p) {
    std::string proto = pad4(std::string(1, static_cast<char>(p.proto)));
    std::string key = (p.any_host ? std::string() : raw(p.host_ip)) + proto + be16(p.host_port);
    std::string data = raw(p.ctr_ip) + be16(p.ctr_port);
    const char* set = p.ctr_ip.v6 ? (p.any_host ? kAnyPorts6 : kPorts6) : (p.any_host ? kAnyPorts4 : kPorts4);
    return {set, Elem{key, data, {}, {}}};
}

// One message per map, however many ports.
void port_elems(Batch& b, const std::vector<FwPort>& ports, bool add) {
    std::map<std::string, std::vector<Elem>> by_set;
    for (const auto& p : ports) {
        auto pe = port_elem(p);
        by_set[pe.set].push_back(pe.elem);
    }
    for (const auto& [set, elems] : by_set) {
        if (add) b.add_elems(kInet, kT, set, elems);
        else b.del_elems(kInet, kT, set, elems);
    }
}

}  // namespace

Result<Firewall> Firewall::open() {
    auto s = HAKO_TRY_CTX(NlSocket::open(NETLINK_NETFILTER), "nftables");
    return Firewall(std::move(s));
}

Result<bool> Firewall::present() { return table_exists(sock_, kInet, kT); }

Status Firewall::add_network(const FwNetwork& n) {
    Batch b;
    if (!HAKO_TRY(present())) add_base(b);
    add_network_chains(b, n);
    return b.commit(sock_, "nftables: set up network chains for " + n.bridge);
}

Status Firewall::remove_network(const FwNetwork& n, bool last) {
    if (!HAKO_TRY(present())) return {};
    Batch b;
    if (last) {
        b.del_table(kInet, kT);
        return b.commit(sock_, "nftables: remove table inet hako");
    }
    const std::string& br = n.bridge;
    // Made if missing, then removed: the transaction holds whatever was there.
    std::vector<std::string> chains = {to_chain(br), from_chain(br), nat_from_chain(br), nat_to_chain(br)};
    for (const auto& c : chains) b.add_chain(kInet, kT, c);
    for (const char* vm : {kToBridge, kFromBridge, kNatFrom, kNatTo}) {
        b.add_elems(kInet, kT, vm, dispatch_elems(br, vm));
        b.del_elems(kInet, kT, vm, dispatch_elems(br, vm));
    }
    for (const auto& c : chains) {
        b.flush_chain(kInet, kT, c);
        b.del_chain(kInet, kT, c);
    }
    return b.commit(sock_, "nftables: remove the chains of " + br);
}

Status Firewall::add_ports(const std::vector<FwPort>& ports) {
    Batch b;
    port_elems(b, ports, true);
    return b.commit(sock_, "nftables: publish ports");
}

Status Firewall::remove_ports(const std::vector<FwPort>& ports) {
    if (ports.empty() || !HAKO_TRY(present())) return {};
    Batch b;
    port_elems(b, ports, true);  // (added if missing, so that the delete holds)
    port_elems(b, ports, false);
    return b.commit(sock_, "nftables: unpublish ports");
}

Status Firewall::rebuild(const std::vector<FwNetwork>& nets, const std::vector<FwPort>& ports) {
    Batch b;
    b.add_table(kInet, kT);
    b.del_table(kInet, kT);
    if (!nets.empty()) {
        add_base(b);
        for (const auto& n : nets) add_network_chains(b, n);
        port_elems(b, ports, true);
    }
    return b.commit(sock_, "nftables: rebuild table inet hako");
}

namespace {

bool foreign_drop(const ChainInfo& c) {
    return c.hooknum && *c.hooknum == NF_INET_FORWARD && c.policy == NF_DROP &&
           (c.family == kInet || c.family == kIp || c.family == kIp6) &&
           !(c.family == kInet && c.table == Firewall::kTable);
}

}  // namespace

Result<std::vector<std::string>> Firewall::open_foreign_forward(const std::string& bridge) {
    std::vector<std::string> changed;
    auto chains = HAKO_TRY(list_chains(sock_));
    Batch b;
    for (const auto& c : chains) {
        if (!foreign_drop(c)) continue;
        auto f = static_cast<Family>(c.family);
        // As iptables writes `-i BR -j ACCEPT`, so that it can still list them.
        b.add_rule(f, c.table, c.name, Rule().iifname(bridge).counter().accept().comment("hako:" + bridge), false);
        b.add_rule(f, c.table, c.name, Rule().oifname(bridge).counter().accept().comment("hako:" + bridge), false);
        changed.push_back(std::string(c.family == kInet ? "inet" : c.family == kIp ? "ip" : "ip6") + " " + c.table +
                          " " + c.name);
    }
    HAKO_TRY(b.commit(sock_, "nftables: accept " + bridge + " in other forward chains"));
    return changed;
}

Status Firewall::close_foreign_forward(const std::string& bridge) {
    auto chains = HAKO_TRY(list_chains(sock_));
    Batch b;
    for (const auto& c : chains) {
        if (!(c.hooknum && *c.hooknum == NF_INET_FORWARD) || (c.family == kInet && c.table == kTable)) continue;
        auto f = static_cast<Family>(c.family);
        auto rules = list_rules(sock_, f, c.table, c.name);
        if (!rules) continue;
        for (const auto& r : *rules)
            if (r.comment == "hako:" + bridge) b.del_rule(f, c.table, c.name, r.handle);
    }
    return b.commit(sock_, "nftables: remove hako's accept rules for " + bridge);
}

}  // namespace hako::net
