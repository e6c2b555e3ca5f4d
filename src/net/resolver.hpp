// A network's resolver: answers A, AAAA and PTR for the names of the
// containers on its network (from a names file hako rewrites atomically as
// containers come and go: no reload, no dropped query) and forwards the rest
// to the asking container's --dns servers or the host's. UDP and TCP on the
// network's gateway addresses, one poll loop, a few hundred KB.
//
// The names file, a line each:
//     <ip> <name> [<name>...]        (container name, aliases, short id)
//     upstream <client ip> <server> [<server>...]
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "net/addr.hpp"
#include "net/dns.hpp"

namespace hako::net {

struct Names {
    std::map<std::string, std::vector<IpAddr>> by_name;
    std::map<IpAddr, std::string> by_addr;
    std::map<IpAddr, std::vector<IpAddr>> upstream;
};
Names parse_names(const std::string& text);

// The local answer to `q` from `names`: true when the name is ours (the
// reply is filled in, NXDOMAIN-free: a known name without that family's
// address is an empty NOERROR), false to forward.
bool answer_locally(const Names& names, const dns::Query& q, std::vector<dns::Answer>& out);

struct ResolverConfig {
    std::vector<int> udp_fds, tcp_fds;  // bound (and listening) sockets
    std::string names_file;
};
// Serves until SIGTERM, or until the names file has been gone for a while
// (its network was torn down without us).
[[noreturn]] void run_resolver(const ResolverConfig& cfg);

}  // namespace hako::net
