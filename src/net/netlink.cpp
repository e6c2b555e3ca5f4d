// Netlink messages and sockets (see netlink.hpp).
#include "net/netlink.hpp"

#include <endian.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>

namespace hako::net {

namespace {

size_t align4(size_t n) { return (n + 3) & ~size_t{3}; }

}  // namespace

void NlMsg::begin(uint16_t type, uint16_t flags, const void* hdr, size_t hdrlen, std::string what) {
    start_ = buf_.size();
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = static_cast<uint16_t>(flags | NLM_F_REQUEST);
    h.nlmsg_seq = ++seq_;
    append(&h, sizeof h);
    if (hdrlen) append(hdr, hdrlen);
    if (flags & NLM_F_ACK) acked_.push_back({h.nlmsg_seq, std::move(what)});
}

void NlMsg::end() {
    auto* h = reinterpret_cast<nlmsghdr*>(buf_.data() + start_);
    h->nlmsg_len = static_cast<uint32_t>(buf_.size() - start_);
}

void NlMsg::append(const void* data, size_t len) {
    const char* p = static_cast<const char*>(data);
    buf_.insert(buf_.end(), p, p + len);
    buf_.resize(align4(buf_.size()), 0);
}

void NlMsg::put(uint16_t type, const void* data, size_t len) {
    nlattr a{static_cast<uint16_t>(NLA_HDRLEN + len), type};
    size_t at = buf_.size();
    buf_.resize(at + NLA_HDRLEN + len);
    std::memcpy(buf_.data() + at, &a, sizeof a);
    if (len) std::memcpy(buf_.data() + at + NLA_HDRLEN, data, len);
    buf_.resize(align4(buf_.size()), 0);
}

void NlMsg::put_be16(uint16_t type, uint16_t v) {
    uint16_t be = htobe16(v);
    put(type, &be, 2);
}

void NlMsg::put_be32(uint16_t type, uint32_t v) {
    uint32_t be = htobe32(v);
    put(type, &be, 4);
}

void NlMsg::put_be64(uint16_t type, uint64_t v) {
    uint64_t be = htobe64(v);
    put(type, &be, 8);
}

void NlMsg::put_str(uint16_t type, std::string_view s) {
    std::string z(s);
    put(type, z.c_str(), z.size() + 1);
}

size_t NlMsg::nest(uint16_t type) {
    size_t at = buf_.size();
    put(static_cast<uint16_t>(type | NLA_F_NESTED), nullptr, 0);
    return at;
}

void NlMsg::nest_end(size_t at) {
    auto* a = reinterpret_cast<nlattr*>(buf_.data() + at);
    a->nla_len = static_cast<uint16_t>(buf_.size() - at);
}

void NlMsg::clear() {
    buf_.clear();
    acked_.clear();
    start_ = 0;
}

Result<NlSocket> NlSocket::open(int protocol) {
    NlSocket s;
    s.fd_.reset(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol));
    if (!s.fd_) return sys_error("open a netlink socket");
    int one = 1;
    (void)setsockopt(s.fd(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    (void)setsockopt(s.fd(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    int rcv = 1 << 20;
    (void)setsockopt(s.fd(), SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    if (::bind(s.fd(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) return sys_error("bind a netlink socket");
    socklen_t len = sizeof sa;
    if (getsockname(s.fd(), reinterpret_cast<sockaddr*>(&sa), &len) < 0) return sys_error("netlink getsockname");
    s.port_ = sa.nl_pid;
    return s;
}

Status NlSocket::request(const NlMsg& m) { return receive(m, nullptr, false); }

Status NlSocket::dump(const NlMsg& m, const std::function<void(const nlmsghdr*)>& each) {
    return receive(m, &each, true);
}

Status NlSocket::request_echo(const NlMsg& m, const std::function<void(const nlmsghdr*)>& each) {
    return receive(m, &each, false);
}

Status NlSocket::receive(const NlMsg& m, const std::function<void(const nlmsghdr*)>* each, bool until_done) {
    sockaddr_nl to{};
    to.nl_family = AF_NETLINK;
    for (;;) {
        ssize_t n = ::sendto(fd(), m.bytes().data(), m.bytes().size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
        if (n >= 0) break;
        if (errno != EINTR) return sys_error("netlink send");
    }
    size_t pending = m.acked().size();
    auto name_of = [&](uint32_t seq) -> std::string {
        for (const auto& s : m.acked())
            if (s.seq == seq) return s.what;
        return "netlink request";
    };
    std::optional<Error> first;
    alignas(nlmsghdr) static thread_local char buf[1 << 16];
    while (pending > 0 || until_done) {
        ssize_t n = ::recv(fd(), buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return sys_error("netlink receive");
        }
        size_t left = static_cast<size_t>(n);
        for (auto* h = reinterpret_cast<const nlmsghdr*>(buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_pid != port_ && h->nlmsg_pid != 0) continue;
            if (h->nlmsg_type == NLMSG_DONE) {
                if (until_done) return first ? std::unexpected(*first) : Status{};
                continue;
            }
            if (h->nlmsg_type != NLMSG_ERROR) {
                if (each) (*each)(h);
                continue;
            }
            auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
            if (pending > 0) --pending;
            if (e->error == 0 || first) continue;
            std::string what = name_of(h->nlmsg_seq);
            // The kernel's own words (extended ack), after the capped header.
            if (h->nlmsg_flags & NLM_F_ACK_TLVS) {
                size_t off = NLMSG_HDRLEN + sizeof(nlmsgerr);
                if (!(h->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - sizeof(nlmsghdr);
                for (size_t p = off; p + NLA_HDRLEN <= h->nlmsg_len;) {
                    auto* a = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(h) + p);
                    if (a->nla_len < NLA_HDRLEN) break;
                    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG && a->nla_len > NLA_HDRLEN) {
                        std::string text(static_cast<const char*>(nla_payload(a)), nla_len(a));
                        text.resize(strnlen(text.c_str(), text.size()));
                        if (!text.empty()) what += " (" + text + ")";
                    }
                    p += NLA_ALIGN(a->nla_len);
                }
            }
            first = Error{-e->error, what};
            if (until_done) return std::unexpected(*first);
        }
    }
    if (first) return std::unexpected(*first);
    return {};
}

namespace {

// The attributes between `from` and `end` bytes of `base`.
NlAttrs attrs_in(const char* base, size_t from, size_t end) {
    NlAttrs out;
    for (size_t off = from; off + NLA_HDRLEN <= end;) {
        auto* a = reinterpret_cast<const nlattr*>(base + off);
        if (a->nla_len < NLA_HDRLEN || off + a->nla_len > end) break;
        uint16_t t = a->nla_type & NLA_TYPE_MASK;
        if (t >= out.at.size()) out.at.resize(t + 1u, nullptr);
        out.at[t] = a;
        off += NLA_ALIGN(a->nla_len);
    }
    return out;
}

}  // namespace

NlAttrs parse_attrs(const nlmsghdr* h, size_t hdrlen) {
    return attrs_in(reinterpret_cast<const char*>(h), NLMSG_HDRLEN + NLMSG_ALIGN(hdrlen), h->nlmsg_len);
}

NlAttrs parse_nested(const nlattr* n) { return attrs_in(reinterpret_cast<const char*>(n), NLA_HDRLEN, n->nla_len); }

std::string NlAttrs::str(uint16_t type) const {
    auto* a = get(type);
    if (!a) return {};
    std::string s(static_cast<const char*>(nla_payload(a)), nla_len(a));
    s.resize(strnlen(s.c_str(), s.size()));
    return s;
}

uint32_t NlAttrs::u32(uint16_t type) const {
    auto* a = get(type);
    uint32_t v = 0;
    if (a && nla_len(a) >= 4) std::memcpy(&v, nla_payload(a), 4);
    return v;
}

uint32_t NlAttrs::be32(uint16_t type) const { return be32toh(u32(type)); }

uint64_t NlAttrs::be64(uint16_t type) const {
    auto* a = get(type);
    uint64_t v = 0;
    if (a && nla_len(a) >= 8) std::memcpy(&v, nla_payload(a), 8);
    return be64toh(v);
}

}  // namespace hako::net
