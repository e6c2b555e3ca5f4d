// Internals shared by the network files (network_*.cpp): the live state's
// types and JSON, the lock, names of things.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "frontend/network.hpp"
#include "net/firewall.hpp"

namespace hako::frontend {

struct LiveNetwork {
    std::string bridge;
    int ifindex = 0;  // the bridge's (veths are enslaved to it by index)
    bool dns = false;
    ProcRef resolver;
    uint64_t cursor4 = 0, cursor6 = 0;  // the last offsets handed out
    // Its last container left at (ms since the epoch; 0: in use): it goes
    // kNetworkGrace later, through `reaper`, unless a container comes.
    uint64_t idle_since = 0;
    ProcRef reaper;
};

// A process of hako's own, detached from its caller: a session of its own,
// stdio on /dev/null, no other fd (the caller's lock, its pipes).
void detach_from_caller(bool close_others);

// How long a network stays up after its last container (a container
// started meanwhile finds it ready; taking a bridge down costs the kernel
// tens of ms of RCU grace periods, paid by the reaper, not by `run`).
inline constexpr uint64_t kNetworkGraceMs = 1000;
uint64_t now_ms();

struct Networks::State {
    std::map<std::string, LiveNetwork> networks;  // up
    std::map<std::string, ContainerNet> containers;
    // The name of a container on `network` ("" when none is).
    [[nodiscard]] std::string user_of(const std::string& network) const;
    [[nodiscard]] bool in_use(const std::string& network) const { return !user_of(network).empty(); }
};

struct Networks::Lock {
    UniqueFd fd;
};

nlohmann::json def_to_json(const NetworkDef& d);
Result<NetworkDef> def_from_json(const std::string& text, const std::string& path);

inline constexpr const char* kDefaultNetwork = "bridge";
inline constexpr const char* kDefaultBridge = "hako0";

// A container's host-side veth on its n-th network: "vh" + 10 hex of the id + n.
std::string veth_name(const std::string& id, size_t n);
// The firewall's view of a container's published ports: each to its first
// endpoint's address of the map's family (none without one).
std::vector<net::FwPort> fw_ports(const ContainerNet& c);

// The bridge's MAC: fixed, from the network's id (locally administered).
net::Mac bridge_mac(const std::string& network_id);

}  // namespace hako::frontend
