// Published ports: docker's `-p [HOSTIP:][HOSTPORT:]CPORT[/tcp|/udp]` (with
// ranges) and an image's ExposedPorts keys, parsed; host ports held by a
// bound socket for the container's life (so a taken port fails at `run`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "net/addr.hpp"
#include "sys/fd.hpp"

namespace hako::net {

struct PortSpec {
    std::optional<IpAddr> host_ip;   // none: every address
    uint16_t host_first = 0, host_last = 0;  // 0: a random free port each
    uint16_t ctr_first = 0, ctr_last = 0;
    uint8_t proto = 6;               // IPPROTO_TCP or IPPROTO_UDP
};

// "8080:80", "127.0.0.1:8080:80/udp", "[::1]::80", "8000-8010:80-90", "80".
Result<PortSpec> parse_publish(std::string_view s);
// "80/tcp", "53/udp", "8000-8010" (ExposedPorts keys, --expose).
Result<PortSpec> parse_exposed(std::string_view s);

const char* proto_name(uint8_t proto);  // "tcp" / "udp"
std::optional<uint8_t> proto_number(std::string_view name);

// A socket bound to host_ip:port (port 0: the kernel picks); TCP sockets
// listen (`backlog`), so no one else can take the port. Returns the socket
// and the port.
struct HeldPort {
    UniqueFd fd;
    uint16_t port = 0;
};
Result<HeldPort> hold_port(uint8_t proto, const IpAddr& host_ip, uint16_t port, int backlog = 1);

}  // namespace hako::net
