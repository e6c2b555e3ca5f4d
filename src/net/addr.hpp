// IP addresses, CIDR prefixes and MAC addresses: parsing (outside input),
// formatting, containment and overlap, the n-th host of a prefix.
#pragma once

#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace hako::net {

// An IPv4 or IPv6 address in network byte order (v4 in the first 4 bytes).
struct IpAddr {
    bool v6 = false;
    std::array<uint8_t, 16> b{};

    [[nodiscard]] size_t size() const { return v6 ? 16 : 4; }
    [[nodiscard]] int family() const;  // AF_INET or AF_INET6
    [[nodiscard]] std::string str() const;
    [[nodiscard]] bool is_unspecified() const;  // 0.0.0.0 or ::
    [[nodiscard]] bool is_loopback() const;     // 127/8 or ::1
    [[nodiscard]] uint32_t v4() const;          // host byte order (v4 only)

    static IpAddr from_v4(uint32_t host_order);
    static std::optional<IpAddr> parse(std::string_view s);
    auto operator<=>(const IpAddr&) const = default;
};

// addr/len; `addr` has the host bits cleared once parsed as a network.
struct Prefix {
    IpAddr addr;
    int len = 0;

    [[nodiscard]] std::string str() const;  // "10.1.0.0/24"
    [[nodiscard]] bool contains(const IpAddr& a) const;
    [[nodiscard]] bool overlaps(const Prefix& o) const;
    // addr + n (n counted from the network address); nullopt past the end.
    [[nodiscard]] std::optional<IpAddr> nth(uint64_t n) const;
    // Host addresses in the prefix (capped at 2^32 for IPv6).
    [[nodiscard]] uint64_t size() const;
    // The broadcast (v4: the last address); unused for v6.
    [[nodiscard]] IpAddr last() const;
    // The offset of `a` from the network address (a must be inside).
    [[nodiscard]] uint64_t offset(const IpAddr& a) const;

    // "10.1.0.0/24" (host bits must be zero when `strict`), "fd00::/64".
    static Result<Prefix> parse(std::string_view s, bool strict = true);
    // The network of `a` with `len` bits (host bits cleared).
    static Prefix network(const IpAddr& a, int len);
    auto operator<=>(const Prefix&) const = default;
};

// A socket address for `a`:`port`, and back (a v4-mapped IPv6 address is
// its IPv4 one).
struct SockAddr {
    sockaddr_storage ss{};
    socklen_t len = 0;
    [[nodiscard]] const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&ss); }
    sockaddr* get() { return reinterpret_cast<sockaddr*>(&ss); }
};
SockAddr sockaddr_of(const IpAddr& a, uint16_t port);
IpAddr ip_of(const sockaddr_storage& ss);
uint16_t port_of(const sockaddr_storage& ss);

using Mac = std::array<uint8_t, 6>;
std::optional<Mac> parse_mac(std::string_view s);
std::string mac_str(const Mac& m);
// A locally administered unicast MAC from an IPv4 address (0a:58:a.b.c.d),
// as docker derives one: stable for an address, so neighbour caches stay true.
Mac mac_for(const IpAddr& v4);

}  // namespace hako::net
