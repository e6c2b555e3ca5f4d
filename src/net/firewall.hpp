// hako's firewall: nftables only, in its own `inet hako` table, one atomic
// transaction per change. Per network: a chain for forwarding into its
// bridge (established, same network, published ports; else drop: networks
// are isolated), one out of it (none for --internal), and masquerade
// (outbound, hairpin, localhost). Published ports are elements of maps that
// two fixed DNAT rules look up (from outside: prerouting; from the host
// itself: output), so a container's ports cost one element each, never a rule.
// Another tool's forward chain with a DROP policy gets accept rules for our
// bridges (tagged, so they come out again).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "net/addr.hpp"
#include "net/netlink.hpp"

namespace hako::net {

struct FwNetwork {
    std::string bridge;
    std::vector<Prefix> subnets;
    bool internal = false;
};

struct FwPort {
    uint8_t proto = 6;         // IPPROTO_TCP or IPPROTO_UDP
    bool any_host = true;      // every local address (else host_ip only)
    IpAddr host_ip;            // its family says which map
    uint16_t host_port = 0;
    IpAddr ctr_ip;             // of the same family as the map
    uint16_t ctr_port = 0;
};

class Firewall {
public:
    static constexpr const char* kTable = "hako";
    // A NETLINK_NETFILTER socket in the caller's netns.
    static Result<Firewall> open();

    // One network's chains and dispatch entries; the table and its fixed
    // chains come with the first network.
    Status add_network(const FwNetwork& n);
    // The network's chains and entries go; with `last`, the whole table.
    // Idempotent: what is gone already is fine.
    Status remove_network(const FwNetwork& n, bool last);
    Status add_ports(const std::vector<FwPort>& ports);
    Status remove_ports(const std::vector<FwPort>& ports);  // idempotent
    // The whole table anew from these, in one transaction (after another
    // tool flushed the ruleset, say).
    Status rebuild(const std::vector<FwNetwork>& nets, const std::vector<FwPort>& ports);
    Result<bool> present();

    // Forward chains of other tables whose policy is DROP (docker's
    // iptables, a host firewall): accept rules for `bridge` at their top.
    // Returns "family table chain" of each chain changed.
    Result<std::vector<std::string>> open_foreign_forward(const std::string& bridge);
    Status close_foreign_forward(const std::string& bridge);

private:
    explicit Firewall(NlSocket s) : sock_(std::move(s)) {}
    NlSocket sock_;
};

}  // namespace hako::net
