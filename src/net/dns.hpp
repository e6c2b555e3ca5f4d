// DNS messages, as much as a network's resolver needs: a query's header and
// first question parsed (bounds-checked: this is outside input), replies
// with A/AAAA/PTR answers built, ids rewritten for forwarding; and the
// host's upstream servers (resolv.conf, systemd-resolved's stub resolved).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "net/addr.hpp"

namespace hako::net::dns {

inline constexpr uint16_t kTypeA = 1, kTypePtr = 12, kTypeAaaa = 28, kClassIn = 1;
inline constexpr uint16_t kNoError = 0, kServFail = 2, kNxDomain = 3, kNotImp = 4, kRefused = 5;

struct Query {
    uint16_t id = 0, flags = 0;
    std::string name;  // lowercase, no trailing dot
    uint16_t type = 0, klass = 0;
    size_t question_end = 0;  // offset just past the first question
};

// A standard query (QR=0, opcode 0) with at least one question.
std::optional<Query> parse_query(std::span<const uint8_t> msg);
// A reply's id, and whether it is one (QR=1, long enough).
std::optional<uint16_t> reply_id(std::span<const uint8_t> msg);
void set_id(std::span<uint8_t> msg, uint16_t id);

struct Answer {
    uint16_t type = kTypeA;
    IpAddr addr;          // A / AAAA
    std::string target;   // PTR
};
// The reply to `raw` (whose parse is `q`): the question copied, the answers
// after it, authoritative (ours) unless rcode says otherwise.
std::vector<uint8_t> make_reply(const Query& q, std::span<const uint8_t> raw, uint16_t rcode,
                                const std::vector<Answer>& answers, uint32_t ttl);

// The address a PTR name stands for ("4.3.2.1.in-addr.arpa" -> 1.2.3.4).
std::optional<IpAddr> ptr_address(const std::string& name);

// Name servers of resolv.conf text, in order.
std::vector<IpAddr> nameservers(const std::string& resolv_conf);
// The host's resolv.conf: its servers (systemd-resolved's real ones, from
// /run/systemd/resolve/resolv.conf, when it names only the 127.0.0.53
// stub), and its search and options lines.
struct ResolvConf {
    std::vector<IpAddr> servers;
    std::vector<std::string> search, options;
};
ResolvConf host_resolv();

}  // namespace hako::net::dns
