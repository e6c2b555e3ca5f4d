// IP, CIDR and MAC parsing and arithmetic (see addr.hpp).
#include "net/addr.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace hako::net {

int IpAddr::family() const { return v6 ? AF_INET6 : AF_INET; }

std::string IpAddr::str() const {
    char buf[INET6_ADDRSTRLEN];
    if (!inet_ntop(family(), b.data(), buf, sizeof buf)) return "?";
    return buf;
}

bool IpAddr::is_unspecified() const {
    for (size_t i = 0; i < size(); ++i)
        if (b[i]) return false;
    return true;
}

bool IpAddr::is_loopback() const {
    if (!v6) return b[0] == 127;
    for (size_t i = 0; i < 15; ++i)
        if (b[i]) return false;
    return b[15] == 1;
}

uint32_t IpAddr::v4() const {
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

IpAddr IpAddr::from_v4(uint32_t h) {
    IpAddr a;
    a.b[0] = static_cast<uint8_t>(h >> 24);
    a.b[1] = static_cast<uint8_t>(h >> 16);
    a.b[2] = static_cast<uint8_t>(h >> 8);
    a.b[3] = static_cast<uint8_t>(h);
    return a;
}

std::optional<IpAddr> IpAddr::parse(std::string_view s) {
    if (s.empty() || s.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    char buf[INET6_ADDRSTRLEN];
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = 0;
    IpAddr a;
    if (s.find(':') != std::string_view::npos) {
        a.v6 = true;
        if (inet_pton(AF_INET6, buf, a.b.data()) != 1) return std::nullopt;
    } else if (inet_pton(AF_INET, buf, a.b.data()) != 1) {
        return std::nullopt;
    }
    return a;
}

SockAddr sockaddr_of(const IpAddr& a, uint16_t port) {
    SockAddr sa;
    if (a.v6) {
        auto* s6 = reinterpret_cast<sockaddr_in6*>(&sa.ss);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        std::memcpy(&s6->sin6_addr, a.b.data(), 16);
        sa.len = sizeof *s6;
    } else {
        auto* s4 = reinterpret_cast<sockaddr_in*>(&sa.ss);
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        std::memcpy(&s4->sin_addr, a.b.data(), 4);
        sa.len = sizeof *s4;
    }
    return sa;
}

IpAddr ip_of(const sockaddr_storage& ss) {
    IpAddr a;
    if (ss.ss_family != AF_INET6) {
        std::memcpy(a.b.data(), &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, 4);
        return a;
    }
    a.v6 = true;
    std::memcpy(a.b.data(), &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, 16);
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a.b.data(), kMapped, 12) == 0) {
        IpAddr v4;
        std::memcpy(v4.b.data(), a.b.data() + 12, 4);
        return v4;
    }
    return a;
}

uint16_t port_of(const sockaddr_storage& ss) {
    return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port
                                          : reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
}

namespace {

// Keep the first `len` bits of `a`.
IpAddr masked(IpAddr a, int len) {
    for (size_t i = 0; i < a.size(); ++i) {
        int bits = len - static_cast<int>(i) * 8;
        if (bits >= 8) continue;
        a.b[i] = bits <= 0 ? 0 : static_cast<uint8_t>(a.b[i] & (0xff << (8 - bits)));
    }
    return a;
}

// The low 64 bits of the address as an integer (all of a v4 address).
uint64_t low64(const IpAddr& a) {
    uint64_t v = 0;
    size_t from = a.v6 ? 8 : 0;
    for (size_t i = from; i < a.size(); ++i) v = (v << 8) | a.b[i];
    return v;
}

}  // namespace

std::string Prefix::str() const { return addr.str() + "/" + std::to_string(len); }

bool Prefix::contains(const IpAddr& a) const { return a.v6 == addr.v6 && masked(a, len) == addr; }

bool Prefix::overlaps(const Prefix& o) const {
    if (o.addr.v6 != addr.v6) return false;
    int l = std::min(len, o.len);
    return masked(addr, l) == masked(o.addr, l);
}

uint64_t Prefix::size() const {
    int host_bits = static_cast<int>(addr.size()) * 8 - len;
    return host_bits >= 32 ? (uint64_t{1} << 32) : (uint64_t{1} << host_bits);
}

std::optional<IpAddr> Prefix::nth(uint64_t n) const {
    if (n >= size()) return std::nullopt;
    IpAddr a = addr;
    uint64_t carry = n;
    for (size_t i = a.size(); i-- > 0 && carry;) {
        uint64_t v = a.b[i] + (carry & 0xff);
        carry = (carry >> 8) + (v >> 8);
        a.b[i] = static_cast<uint8_t>(v);
    }
    return a;
}

IpAddr Prefix::last() const {
    IpAddr a = addr;
    for (size_t i = 0; i < a.size(); ++i) {
        int bits = len - static_cast<int>(i) * 8;
        if (bits >= 8) continue;
        a.b[i] = static_cast<uint8_t>(a.b[i] | (bits <= 0 ? 0xff : (0xff >> bits)));
    }
    return a;
}

uint64_t Prefix::offset(const IpAddr& a) const { return low64(a) - low64(addr); }

Result<Prefix> Prefix::parse(std::string_view s, bool strict) {
    auto slash = s.find('/');
    if (slash == std::string_view::npos) return error("`" + std::string(s) + "` is not a CIDR (e.g. 10.1.0.0/24)");
    auto a = IpAddr::parse(s.substr(0, slash));
    if (!a) return error("`" + std::string(s) + "`: `" + std::string(s.substr(0, slash)) + "` is not an IP address");
    int len = -1;
    auto bits = s.substr(slash + 1);
    auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), len);
    if (ec != std::errc{} || end != bits.data() + bits.size() || len < 0 || len > static_cast<int>(a->size()) * 8)
        return error("`" + std::string(s) + "`: bad prefix length `" + std::string(bits) + "`");
    Prefix p{masked(*a, len), len};
    if (strict && p.addr != *a)
        return error("`" + std::string(s) + "` has host bits set (the network is " + p.str() + ")");
    return p;
}

Prefix Prefix::network(const IpAddr& a, int len) { return {masked(a, len), len}; }

std::optional<Mac> parse_mac(std::string_view s) {
    Mac m{};
    if (s.size() != 17) return std::nullopt;
    for (size_t i = 0; i < 6; ++i) {
        if (i > 0 && s[i * 3 - 1] != ':') return std::nullopt;
        unsigned v = 0;
        auto [end, ec] = std::from_chars(s.data() + i * 3, s.data() + i * 3 + 2, v, 16);
        if (ec != std::errc{} || end != s.data() + i * 3 + 2) return std::nullopt;
        m[i] = static_cast<uint8_t>(v);
    }
    if (m[0] & 1) return std::nullopt;  // multicast
    return m;
}

std::string mac_str(const Mac& m) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return buf;
}

Mac mac_for(const IpAddr& a) { return {0x0a, 0x58, a.b[0], a.b[1], a.b[2], a.b[3]}; }

}  // namespace hako::net
