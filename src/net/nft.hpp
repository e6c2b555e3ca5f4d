// nf_tables over netlink, our own: one batch is one atomic transaction
// (tables, chains, maps, elements, rules); rules are lists of the kernel's
// expressions, as `nft --debug=netlink` prints them; and the few queries
// the firewall needs (does a table exist, every chain, a chain's rules).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "net/netlink.hpp"

namespace hako::net::nft {

enum Family : uint8_t { kInet = 1, kIp = 2, kIp6 = 10 };

// Registers: the verdict, and the 32-bit registers (NFT_REG32_00 + n).
inline constexpr uint32_t kRegVerdict = 0;
inline constexpr uint32_t reg32(uint32_t n) { return 8 + n; }

// Values in a register are padded to 4 bytes.
std::string be16(uint16_t v);
std::string be32(uint32_t v);
std::string host32(uint32_t v);
std::string pad4(std::string s);
std::string ifname_bytes(const std::string& name);  // the name and its NUL (iptables' exact match)

class Rule {
public:
    Rule& meta(uint32_t key, uint32_t dreg);
    Rule& cmp(uint32_t op, uint32_t sreg, std::string value);
    Rule& payload(uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg);
    Rule& bitwise(uint32_t sreg, uint32_t dreg, std::string mask, std::string xor_value);
    Rule& lookup(const std::string& set, uint32_t set_id, uint32_t sreg, std::optional<uint32_t> dreg);
    Rule& ct(uint32_t key, uint32_t dreg);
    Rule& fib_daddr_type(uint32_t dreg);
    Rule& nat(uint32_t type, uint8_t family, uint32_t reg_addr, uint32_t reg_proto);
    Rule& masq();
    Rule& counter();
    Rule& verdict(int code, const std::string& chain = {});

    // Shorthands, each a few of the above.
    Rule& nfproto(uint8_t family);                        // meta nfproto ipv4|ipv6
    Rule& iifname(const std::string& name, bool eq = true);
    Rule& oifname(const std::string& name, bool eq = true);
    Rule& saddr_in(const std::string& net, int prefixlen, bool v6, bool eq = true);
    Rule& daddr_in(const std::string& net, int prefixlen, bool v6, bool eq = true);
    Rule& ct_bits(uint32_t key, uint32_t bits);           // ct state/status has any of `bits`
    Rule& comment(std::string text) {
        comment_ = std::move(text);
        return *this;
    }
    Rule& accept();
    Rule& drop();
    Rule& jump(const std::string& chain);

private:
    friend class Batch;
    struct Expr {
        const char* name;
        std::function<void(NlMsg&)> data;
    };
    Rule& add(const char* name, std::function<void(NlMsg&)> data);
    std::vector<Expr> exprs_;
    std::string comment_;
};

struct Hook {
    const char* type;  // "nat" or "filter"
    uint32_t hooknum;  // NF_INET_PRE_ROUTING...
    int32_t priority;
};

struct SetSpec {
    std::string name;
    uint32_t key_type = 0, key_len = 0;  // nft's type ids (for display), bytes
    bool key_host_order = false;         // a string key (ifname): so nft shows it
    bool map = false;
    bool verdict_map = false;
    uint32_t data_type = 0, data_len = 0;
};

// nft's data type ids, concatenated as nft does (6 bits each).
uint32_t concat_type(std::initializer_list<uint32_t> types);
inline constexpr uint32_t kTypeIpAddr = 7, kTypeIp6Addr = 8, kTypeInetProto = 12,
                          kTypeInetService = 13, kTypeIfname = 41;

struct Elem {
    std::string key;
    std::string data;          // a map's value
    std::optional<int> code;   // a verdict map's verdict...
    std::string chain;         // ...and its chain
};

class Batch {
public:
    Batch();
    void add_table(Family f, const std::string& table);
    void del_table(Family f, const std::string& table);
    void add_chain(Family f, const std::string& table, const std::string& chain, std::optional<Hook> hook = {});
    void flush_chain(Family f, const std::string& table, const std::string& chain);
    void del_chain(Family f, const std::string& table, const std::string& chain);
    // Returns the set's id in this transaction (for lookups in it).
    uint32_t add_set(Family f, const std::string& table, const SetSpec& s);
    void add_elems(Family f, const std::string& table, const std::string& set, const std::vector<Elem>& e);
    void del_elems(Family f, const std::string& table, const std::string& set, const std::vector<Elem>& e);
    // Appended at the end of the chain, or inserted at its top.
    void add_rule(Family f, const std::string& table, const std::string& chain, const Rule& r, bool append = true);
    void del_rule(Family f, const std::string& table, const std::string& chain, uint64_t handle);
    [[nodiscard]] bool empty() const { return count_ == 0; }
    // The whole batch, atomically: every message or none.
    Status commit(NlSocket& s, const std::string& what);

private:
    void begin(uint16_t type, uint16_t flags, Family f, std::string what);
    void elems(uint16_t type, uint16_t flags, Family f, const std::string& table, const std::string& set,
               const std::vector<Elem>& e);
    NlMsg m_;
    size_t count_ = 0;
    uint32_t next_set_id_ = 1;
};

Result<bool> table_exists(NlSocket& s, Family f, const std::string& table);

struct ChainInfo {
    uint8_t family = 0;
    std::string table, name, type;
    std::optional<uint32_t> hooknum;
    int32_t priority = 0;
    uint32_t policy = 1;  // NF_ACCEPT
};
Result<std::vector<ChainInfo>> list_chains(NlSocket& s);

struct RuleInfo {
    uint64_t handle = 0;
    std::string comment;
};
Result<std::vector<RuleInfo>> list_rules(NlSocket& s, Family f, const std::string& table, const std::string& chain);

}  // namespace hako::net::nft
