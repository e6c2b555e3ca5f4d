// DNS message parsing and building; the host's name servers (see dns.hpp).
#include "net/dns.hpp"

#include <algorithm>
#include <charconv>

#include "common/strings.hpp"
#include "sys/syscalls.hpp"

namespace hako::net::dns {

namespace {

uint16_t get16(std::span<const uint8_t> m, size_t at) {
    return static_cast<uint16_t>((m[at] << 8) | m[at + 1]);
}

void put16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}

void put32(std::vector<uint8_t>& out, uint32_t v) {
    put16(out, static_cast<uint16_t>(v >> 16));
    put16(out, static_cast<uint16_t>(v));
}

// A name at `at` (following compression pointers, at most 16 of them);
// `end` gets the offset just past it in the message proper.
std::optional<std::string> read_name(std::span<const uint8_t> m, size_t at, size_t& end) {
    std::string name;
    bool jumped = false;
    int jumps = 0;
    for (;;) {
        if (at >= m.size()) return std::nullopt;
        uint8_t len = m[at];
        if ((len & 0xc0) == 0xc0) {
            if (at + 1 >= m.size() || ++jumps > 16) return std::nullopt;
            if (!jumped) end = at + 2;
            jumped = true;
            at = static_cast<size_t>(((len & 0x3f) << 8) | m[at + 1]);
            continue;
        }
        if (len & 0xc0) return std::nullopt;  // (the reserved label types)
        if (len == 0) {
            if (!jumped) end = at + 1;
            return name;
        }
        if (at + 1 + len > m.size() || name.size() + len + 1 > 255) return std::nullopt;
        if (!name.empty()) name += '.';
        for (size_t i = 0; i < len; ++i) {
            char c = static_cast<char>(m[at + 1 + i]);
            name += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        }
        at += 1u + len;
    }
}

void put_name(std::vector<uint8_t>& out, const std::string& name) {
    for (auto label : split(name, '.')) {
        size_t n = std::min<size_t>(label.size(), 63);
        out.push_back(static_cast<uint8_t>(n));
        out.insert(out.end(), label.begin(), label.begin() + static_cast<long>(n));
    }
    out.push_back(0);
}

}  // namespace

std::optional<Query> parse_query(std::span<const uint8_t> m) {
    if (m.size() < 12) return std::nullopt;
    Query q;
    q.id = get16(m, 0);
    q.flags = get16(m, 2);
    if (q.flags & 0x8000) return std::nullopt;           // a response
    if (((q.flags >> 11) & 0xf) != 0) return std::nullopt;  // not a standard query
    if (get16(m, 4) < 1) return std::nullopt;
    size_t end = 0;
    auto name = read_name(m, 12, end);
    if (!name || end + 4 > m.size()) return std::nullopt;
    q.name = std::move(*name);
    q.type = get16(m, end);
    q.klass = get16(m, end + 2);
    q.question_end = end + 4;
    return q;
}

std::optional<uint16_t> reply_id(std::span<const uint8_t> m) {
    if (m.size() < 12 || !(m[2] & 0x80)) return std::nullopt;
    return get16(m, 0);
}

void set_id(std::span<uint8_t> m, uint16_t id) {
    if (m.size() < 2) return;
    m[0] = static_cast<uint8_t>(id >> 8);
    m[1] = static_cast<uint8_t>(id);
}

std::vector<uint8_t> make_reply(const Query& q, std::span<const uint8_t> raw, uint16_t rcode,
                                const std::vector<Answer>& answers, uint32_t ttl) {
    std::vector<uint8_t> out;
    out.reserve(q.question_end + answers.size() * 28 + 16);
    put16(out, q.id);
    uint16_t flags = 0x8000 | (q.flags & 0x0100) | 0x0080 | (rcode & 0xf);  // QR, RD copied, RA
    if (rcode == kNoError || rcode == kNxDomain) flags |= 0x0400;            // AA: the name is ours
    put16(out, flags);
    put16(out, 1);
    put16(out, static_cast<uint16_t>(answers.size()));
    put16(out, 0);
    put16(out, 0);
    out.insert(out.end(), raw.begin() + 12, raw.begin() + static_cast<long>(q.question_end));
    for (const auto& a : answers) {
        put16(out, 0xc00c);  // the question's name
        put16(out, a.type);
        put16(out, kClassIn);
        put32(out, ttl);
        if (a.type == kTypePtr) {
            std::vector<uint8_t> rdata;
            put_name(rdata, a.target);
            put16(out, static_cast<uint16_t>(rdata.size()));
            out.insert(out.end(), rdata.begin(), rdata.end());
        } else {
            put16(out, static_cast<uint16_t>(a.addr.size()));
            out.insert(out.end(), a.addr.b.begin(), a.addr.b.begin() + static_cast<long>(a.addr.size()));
        }
    }
    return out;
}

std::optional<IpAddr> ptr_address(const std::string& name) {
    auto labels = split(name, '.');
    auto suffix = [&](size_t n, const char* a, const char* b) {
        return labels.size() == n + 2 && labels[n] == a && labels[n + 1] == b;
    };
    IpAddr out;
    if (suffix(4, "in-addr", "arpa")) {
        for (size_t i = 0; i < 4; ++i) {
            unsigned v = 256;
            auto l = labels[3 - i];
            auto [end, ec] = std::from_chars(l.data(), l.data() + l.size(), v);
            if (ec != std::errc{} || end != l.data() + l.size() || v > 255) return std::nullopt;
            out.b[i] = static_cast<uint8_t>(v);
        }
        return out;
    }
    if (suffix(32, "ip6", "arpa")) {
        out.v6 = true;
        for (size_t i = 0; i < 32; ++i) {
            auto l = labels[31 - i];
            if (l.size() != 1 || !isxdigit(static_cast<unsigned char>(l[0]))) return std::nullopt;
            int v = isdigit(static_cast<unsigned char>(l[0])) ? l[0] - '0' : (tolower(l[0]) - 'a' + 10);
            out.b[i / 2] = static_cast<uint8_t>(out.b[i / 2] | (i % 2 == 0 ? v << 4 : v));
        }
        return out;
    }
    return std::nullopt;
}

std::vector<IpAddr> nameservers(const std::string& text) {
    std::vector<IpAddr> out;
    for (auto raw_line : split(text, '\n')) {
        std::string line(raw_line);
        std::replace(line.begin(), line.end(), '\t', ' ');
        auto words = split(line, ' ');
        if (words.size() < 2 || words[0] != "nameserver") continue;
        std::string_view a = words[1];
        if (auto pct = a.find('%'); pct != std::string_view::npos) a = a.substr(0, pct);  // fe80::1%eth0
        while (!a.empty() && (a.back() == '\t' || a.back() == '\r')) a.remove_suffix(1);
        if (auto ip = IpAddr::parse(a)) out.push_back(*ip);
    }
    return out;
}

ResolvConf host_resolv() {
    ResolvConf rc;
    auto text = sys::read_file("/etc/resolv.conf");
    if (!text) return rc;
    rc.servers = nameservers(*text);
    auto stub = IpAddr::parse("127.0.0.53");
    if (rc.servers.size() == 1 && rc.servers[0] == *stub)
        if (auto real = sys::read_file("/run/systemd/resolve/resolv.conf")) rc.servers = nameservers(*real);
    for (auto line : split(*text, '\n')) {
        if (line.substr(0, 7) == "search ") rc.search.emplace_back(line);
        if (line.substr(0, 8) == "options ") rc.options.emplace_back(line);
    }
    return rc;
}

}  // namespace hako::net::dns
