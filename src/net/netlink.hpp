// Netlink, by hand: a message builder (headers, attributes, nests; several
// messages to one send) and a socket that sends them and collects every ack,
// with the kernel's extended-ack text in the error. rtnl.cpp (links,
// addresses, routes) and nft.cpp (nf_tables batches) speak through it.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "sys/fd.hpp"

namespace hako::net {

class NlMsg {
public:
    // Start a message: the netlink header, then the family header `hdr`.
    // NLM_F_REQUEST is always set; `what` names it in errors.
    void begin(uint16_t type, uint16_t flags, const void* hdr, size_t hdrlen, std::string what = {});
    void end();  // close the current message (its length)

    void put(uint16_t type, const void* data, size_t len);
    void put_u8(uint16_t type, uint8_t v) { put(type, &v, 1); }
    void put_u32(uint16_t type, uint32_t v) { put(type, &v, 4); }
    void put_be16(uint16_t type, uint16_t v);
    void put_be32(uint16_t type, uint32_t v);
    void put_be64(uint16_t type, uint64_t v);
    void put_str(uint16_t type, std::string_view s);  // with its NUL
    // A nested attribute: put inside, then nest_end(the returned offset).
    size_t nest(uint16_t type);
    void nest_end(size_t at);
    // Raw bytes at the current position (a nested family header).
    void append(const void* data, size_t len);

    [[nodiscard]] const std::vector<char>& bytes() const { return buf_; }
    [[nodiscard]] bool empty() const { return buf_.empty(); }
    // Messages that asked for an ack, by sequence number: their names.
    struct Sent {
        uint32_t seq;
        std::string what;
    };
    [[nodiscard]] const std::vector<Sent>& acked() const { return acked_; }
    void clear();

private:
    std::vector<char> buf_;
    size_t start_ = 0;
    uint32_t seq_ = 0;
    std::vector<Sent> acked_;
};

class NlSocket {
public:
    // A NETLINK_ROUTE or NETLINK_NETFILTER socket in the caller's netns.
    static Result<NlSocket> open(int protocol);
    [[nodiscard]] int fd() const { return fd_.get(); }

    // Send every message of `m` (one sendmsg) and wait for the ack of each
    // that asked for one; the first error names that message.
    Status request(const NlMsg& m);
    // A dump: every reply message goes to `each` until NLMSG_DONE.
    Status dump(const NlMsg& m, const std::function<void(const nlmsghdr*)>& each);
    // Request + the reply messages (NLM_F_ECHO): `each` sees them.
    Status request_echo(const NlMsg& m, const std::function<void(const nlmsghdr*)>& each);

private:
    Status receive(const NlMsg& m, const std::function<void(const nlmsghdr*)>* each, bool until_done);
    UniqueFd fd_;
    uint32_t port_ = 0;
};

// Attributes of a message after `hdrlen` bytes of family header, indexed by
// type (NLA_TYPE_MASK applied); absent ones are null.
struct NlAttrs {
    std::vector<const nlattr*> at;
    [[nodiscard]] const nlattr* get(uint16_t type) const { return type < at.size() ? at[type] : nullptr; }
    [[nodiscard]] std::string str(uint16_t type) const;
    [[nodiscard]] uint32_t u32(uint16_t type) const;
    [[nodiscard]] uint32_t be32(uint16_t type) const;
    [[nodiscard]] uint64_t be64(uint16_t type) const;
};
NlAttrs parse_attrs(const nlmsghdr* h, size_t hdrlen);
NlAttrs parse_nested(const nlattr* a);
inline const void* nla_payload(const nlattr* a) { return reinterpret_cast<const char*>(a) + NLA_HDRLEN; }
inline size_t nla_len(const nlattr* a) { return a->nla_len - NLA_HDRLEN; }

}  // namespace hako::net
