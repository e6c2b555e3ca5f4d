// -p / ExposedPorts parsing and host port holding (see ports.hpp).
#include "net/ports.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace hako::net {

namespace {

std::optional<uint8_t> proto_of(std::string_view name) {
    if (name == "tcp") return IPPROTO_TCP;
    if (name == "udp") return IPPROTO_UDP;
    return std::nullopt;
}

// "80" or "8000-8010" -> [first, last]; zero allowed only when `allow_empty`
// and the text is empty.
Result<std::pair<uint16_t, uint16_t>> port_range(std::string_view s, std::string_view whole, const char* what) {
    auto bad = [&](std::string why) {
        return error("-p `" + std::string(whole) + "`: " + what + " `" + std::string(s) + "` " + why);
    };
    auto one = [&](std::string_view t) -> std::optional<uint16_t> {
        unsigned v = 0;
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (t.empty() || ec != std::errc{} || end != t.data() + t.size() || v == 0 || v > 65535) return std::nullopt;
        return static_cast<uint16_t>(v);
    };
    auto dash = s.find('-');
    auto a = one(s.substr(0, dash));
    auto b = dash == std::string_view::npos ? a : one(s.substr(dash + 1));
    if (!a || !b) return bad("is not a port (1-65535) or a range of them");
    if (*b < *a) return bad("is an empty range");
    return std::make_pair(*a, *b);
}

// A trailing "/tcp" or "/udp" off `rest`, into `proto`.
Status take_proto(std::string_view& rest, uint8_t& proto, const std::string& what) {
    auto slash = rest.rfind('/');
    if (slash == std::string_view::npos) return {};
    auto p = proto_of(rest.substr(slash + 1));
    if (!p) return error(what + ": protocol `" + std::string(rest.substr(slash + 1)) + "` is not tcp or udp");
    proto = *p;
    rest = rest.substr(0, slash);
    return {};
}

}  // namespace

const char* proto_name(uint8_t proto) { return proto == IPPROTO_UDP ? "udp" : "tcp"; }

std::optional<uint8_t> proto_number(std::string_view name) { return proto_of(name); }

Result<PortSpec> parse_publish(std::string_view s) {
    PortSpec p;
    std::string_view rest = s;
    HAKO_TRY(take_proto(rest, p.proto, "-p `" + std::string(s) + "`"));
    // [HOSTIP:][HOSTPORT:]CPORT, an IPv6 HOSTIP in brackets.
    std::string_view ip, host, ctr;
    if (!rest.empty() && rest[0] == '[') {
        auto close = rest.find(']');
        if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
            return error("-p `" + std::string(s) + "`: an IPv6 address goes in brackets: [::1]:8080:80");
        ip = rest.substr(1, close - 1);
        rest = rest.substr(close + 2);
        auto colon = rest.find(':');
        if (colon == std::string_view::npos) return error("-p `" + std::string(s) + "`: expected [IP]:HOSTPORT:CPORT");
        host = rest.substr(0, colon);
        ctr = rest.substr(colon + 1);
    } else {
        size_t colons = static_cast<size_t>(std::count(rest.begin(), rest.end(), ':'));
        if (colons > 2) return error("-p `" + std::string(s) + "`: too many `:` (an IPv6 address goes in brackets)");
        auto first = rest.find(':'), last = rest.rfind(':');
        if (colons == 0) {
            ctr = rest;
        } else if (colons == 1) {
            host = rest.substr(0, first);
            ctr = rest.substr(first + 1);
        } else {
            ip = rest.substr(0, first);
            host = rest.substr(first + 1, last - first - 1);
            ctr = rest.substr(last + 1);
        }
    }
    if (!ip.empty()) {
        auto a = IpAddr::parse(ip);
        if (!a) return error("-p `" + std::string(s) + "`: `" + std::string(ip) + "` is not an IP address");
        if (a->v6 && a->is_loopback())
            return error("-p `" + std::string(s) + "`: publishing on ::1 is not supported (use 127.0.0.1)");
        if (!a->is_unspecified()) p.host_ip = *a;
    }
    auto c = HAKO_TRY(port_range(ctr, s, "container port"));
    p.ctr_first = c.first;
    p.ctr_last = c.second;
    if (!host.empty()) {
        auto h = HAKO_TRY(port_range(host, s, "host port"));
        p.host_first = h.first;
        p.host_last = h.second;
        size_t hn = h.second - h.first + 1u, cn = c.second - c.first + 1u;
        if (cn > 1 && hn != cn)
            return error("-p `" + std::string(s) + "`: the host range has " + std::to_string(hn) +
                         " ports, the container range " + std::to_string(cn));
    }
    return p;
}

Result<PortSpec> parse_exposed(std::string_view s) {
    PortSpec p;
    std::string_view port = s;
    HAKO_TRY(take_proto(port, p.proto, "exposed port `" + std::string(s) + "`"));
    auto c = HAKO_TRY(port_range(port, s, "port"));
    p.ctr_first = c.first;
    p.ctr_last = c.second;
    return p;
}

Result<HeldPort> hold_port(uint8_t proto, const IpAddr& host_ip, uint16_t port, int backlog) {
    int type = proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
    HeldPort h;
    h.fd.reset(::socket(host_ip.family(), type | SOCK_CLOEXEC, 0));
    if (!h.fd) return sys_error("socket");
    int one = 1;
    (void)setsockopt(h.fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (host_ip.v6) (void)setsockopt(h.fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    auto sa = sockaddr_of(host_ip, port);
    if (::bind(h.fd.get(), sa.get(), sa.len) < 0) return sys_error("bind");
    if (type == SOCK_STREAM && ::listen(h.fd.get(), backlog) < 0) return sys_error("listen");
    if (getsockname(h.fd.get(), sa.get(), &sa.len) < 0) return sys_error("getsockname");
    h.port = port_of(sa.ss);
    return h;
}

}  // namespace hako::net
