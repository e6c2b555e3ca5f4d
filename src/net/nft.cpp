// nf_tables batches and queries over NETLINK_NETFILTER (see nft.hpp).
#include "net/nft.hpp"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstring>

namespace hako::net::nft {

namespace {

constexpr uint16_t msg_type(int m) { return static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | m); }

// A value attribute: a nest holding NFTA_DATA_VALUE.
void put_data(NlMsg& m, uint16_t type, const std::string& value) {
    size_t n = m.nest(type);
    m.put(NFTA_DATA_VALUE, value.data(), value.size());
    m.nest_end(n);
}

void put_verdict(NlMsg& m, uint16_t type, int code, const std::string& chain) {
    size_t n = m.nest(type);
    size_t v = m.nest(NFTA_DATA_VERDICT);
    m.put_be32(NFTA_VERDICT_CODE, static_cast<uint32_t>(code));
    if (!chain.empty()) m.put_str(NFTA_VERDICT_CHAIN, chain);
    m.nest_end(v);
    m.nest_end(n);
}

nfgenmsg gen(uint8_t family, uint16_t res_id = 0) {
    nfgenmsg g{};
    g.nfgen_family = family;
    g.version = NFNETLINK_V0;
    g.res_id = htons(res_id);
    return g;
}

}  // namespace

std::string be16(uint16_t v) {
    std::string s(4, '\0');
    s[0] = static_cast<char>(v >> 8);
    s[1] = static_cast<char>(v & 0xff);
    return s;
}

std::string be32(uint32_t v) {
    uint32_t n = htonl(v);
    return std::string(reinterpret_cast<const char*>(&n), 4);
}

std::string host32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }

std::string pad4(std::string s) {
    s.resize((s.size() + 3) & ~size_t{3}, '\0');
    return s;
}

std::string ifname_bytes(const std::string& name) { return name + '\0'; }

uint32_t concat_type(std::initializer_list<uint32_t> types) {
    uint32_t t = 0;
    for (uint32_t x : types) t = (t << 6) | x;
    return t;
}

Rule& Rule::add(const char* name, std::function<void(NlMsg&)> data) {
    exprs_.push_back({name, std::move(data)});
    return *this;
}

Rule& Rule::meta(uint32_t key, uint32_t dreg) {
    return add("meta", [=](NlMsg& m) {
        m.put_be32(NFTA_META_KEY, key);
        m.put_be32(NFTA_META_DREG, dreg);
    });
}

Rule& Rule::cmp(uint32_t op, uint32_t sreg, std::string value) {
    return add("cmp", [=](NlMsg& m) {
        m.put_be32(NFTA_CMP_SREG, sreg);
        m.put_be32(NFTA_CMP_OP, op);
        put_data(m, NFTA_CMP_DATA, value);
    });
}

Rule& Rule::payload(uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg) {
    return add("payload", [=](NlMsg& m) {
        m.put_be32(NFTA_PAYLOAD_DREG, dreg);
        m.put_be32(NFTA_PAYLOAD_BASE, base);
        m.put_be32(NFTA_PAYLOAD_OFFSET, offset);
        m.put_be32(NFTA_PAYLOAD_LEN, len);
    });
}

Rule& Rule::bitwise(uint32_t sreg, uint32_t dreg, std::string mask, std::string xor_value) {
    return add("bitwise", [=](NlMsg& m) {
        m.put_be32(NFTA_BITWISE_SREG, sreg);
        m.put_be32(NFTA_BITWISE_DREG, dreg);
        m.put_be32(NFTA_BITWISE_LEN, static_cast<uint32_t>(mask.size()));
        put_data(m, NFTA_BITWISE_MASK, mask);
        put_data(m, NFTA_BITWISE_XOR, xor_value);
    });
}

Rule& Rule::lookup(const std::string& set, uint32_t set_id, uint32_t sreg, std::optional<uint32_t> dreg) {
    return add("lookup", [=](NlMsg& m) {
        m.put_str(NFTA_LOOKUP_SET, set);
        if (set_id) m.put_be32(NFTA_LOOKUP_SET_ID, set_id);
        m.put_be32(NFTA_LOOKUP_SREG, sreg);
        if (dreg) m.put_be32(NFTA_LOOKUP_DREG, *dreg);
    });
}

Rule& Rule::ct(uint32_t key, uint32_t dreg) {
    return add("ct", [=](NlMsg& m) {
        m.put_be32(NFTA_CT_KEY, key);
        m.put_be32(NFTA_CT_DREG, dreg);
    });
}

Rule& Rule::fib_daddr_type(uint32_t dreg) {
    return add("fib", [=](NlMsg& m) {
        m.put_be32(NFTA_FIB_DREG, dreg);
        m.put_be32(NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
        m.put_be32(NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR);
    });
}

Rule& Rule::nat(uint32_t type, uint8_t family, uint32_t reg_addr, uint32_t reg_proto) {
    return add("nat", [=](NlMsg& m) {
        m.put_be32(NFTA_NAT_TYPE, type);
        m.put_be32(NFTA_NAT_FAMILY, family);
        m.put_be32(NFTA_NAT_REG_ADDR_MIN, reg_addr);
        if (reg_proto) m.put_be32(NFTA_NAT_REG_PROTO_MIN, reg_proto);
    });
}

Rule& Rule::masq() { return add("masq", nullptr); }
Rule& Rule::counter() { return add("counter", nullptr); }

Rule& Rule::verdict(int code, const std::string& chain) {
    return add("immediate", [=](NlMsg& m) {
        m.put_be32(NFTA_IMMEDIATE_DREG, kRegVerdict);
        put_verdict(m, NFTA_IMMEDIATE_DATA, code, chain);
    });
}

Rule& Rule::accept() { return verdict(NF_ACCEPT); }
Rule& Rule::drop() { return verdict(NF_DROP); }
Rule& Rule::jump(const std::string& chain) { return verdict(NFT_JUMP, chain); }

Rule& Rule::nfproto(uint8_t family) {
    meta(NFT_META_NFPROTO, reg32(0));
    return cmp(NFT_CMP_EQ, reg32(0), std::string(1, static_cast<char>(family)));
}

Rule& Rule::iifname(const std::string& name, bool eq) {
    meta(NFT_META_IIFNAME, reg32(0));
    return cmp(eq ? NFT_CMP_EQ : NFT_CMP_NEQ, reg32(0), ifname_bytes(name));
}

Rule& Rule::oifname(const std::string& name, bool eq) {
    meta(NFT_META_OIFNAME, reg32(0));
    return cmp(eq ? NFT_CMP_EQ : NFT_CMP_NEQ, reg32(0), ifname_bytes(name));
}

namespace {

// Match the prefix of an address field (as raw bytes of the network).
void addr_in(Rule& r, uint32_t offset, const std::string& net, int prefixlen, bool eq) {
    uint32_t len = static_cast<uint32_t>(net.size());
    r.payload(NFT_PAYLOAD_NETWORK_HEADER, offset, len, reg32(0));
    if (prefixlen < static_cast<int>(len) * 8) {
        std::string mask(len, '\0');
        for (int i = 0; i < prefixlen; ++i) mask[static_cast<size_t>(i / 8)] |= static_cast<char>(0x80 >> (i % 8));
        r.bitwise(reg32(0), reg32(0), mask, std::string(len, '\0'));
    }
    r.cmp(eq ? NFT_CMP_EQ : NFT_CMP_NEQ, reg32(0), net);
}

}  // namespace

Rule& Rule::saddr_in(const std::string& net, int prefixlen, bool v6, bool eq) {
    nfproto(v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
    addr_in(*this, v6 ? 8 : 12, net, prefixlen, eq);
    return *this;
}

Rule& Rule::daddr_in(const std::string& net, int prefixlen, bool v6, bool eq) {
    nfproto(v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
    addr_in(*this, v6 ? 24 : 16, net, prefixlen, eq);
    return *this;
}

Rule& Rule::ct_bits(uint32_t key, uint32_t bits) {
    ct(key, reg32(0));
    bitwise(reg32(0), reg32(0), host32(bits), host32(0));
    return cmp(NFT_CMP_NEQ, reg32(0), host32(0));
}

Batch::Batch() {
    auto g = gen(AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
    m_.begin(NFNL_MSG_BATCH_BEGIN, 0, &g, sizeof g);
    m_.end();
}

void Batch::begin(uint16_t type, uint16_t flags, Family f, std::string what) {
    auto g = gen(f);
    m_.begin(msg_type(type), static_cast<uint16_t>(flags | NLM_F_ACK), &g, sizeof g, std::move(what));
    ++count_;
}

void Batch::add_table(Family f, const std::string& table) {
    begin(NFT_MSG_NEWTABLE, NLM_F_CREATE, f, "add table " + table);
    m_.put_str(NFTA_TABLE_NAME, table);
    m_.end();
}

void Batch::del_table(Family f, const std::string& table) {
    begin(NFT_MSG_DELTABLE, 0, f, "delete table " + table);
    m_.put_str(NFTA_TABLE_NAME, table);
    m_.end();
}

void Batch::add_chain(Family f, const std::string& table, const std::string& chain, std::optional<Hook> hook) {
    begin(NFT_MSG_NEWCHAIN, NLM_F_CREATE, f, "add chain " + table + " " + chain);
    m_.put_str(NFTA_CHAIN_TABLE, table);
    m_.put_str(NFTA_CHAIN_NAME, chain);
    if (hook) {
        size_t h = m_.nest(NFTA_CHAIN_HOOK);
        m_.put_be32(NFTA_HOOK_HOOKNUM, hook->hooknum);
        m_.put_be32(NFTA_HOOK_PRIORITY, static_cast<uint32_t>(hook->priority));
        m_.nest_end(h);
        m_.put_be32(NFTA_CHAIN_POLICY, NF_ACCEPT);
        m_.put_str(NFTA_CHAIN_TYPE, hook->type);
    }
    m_.end();
}

void Batch::flush_chain(Family f, const std::string& table, const std::string& chain) {
    begin(NFT_MSG_DELRULE, 0, f, "flush chain " + table + " " + chain);
    m_.put_str(NFTA_RULE_TABLE, table);
    m_.put_str(NFTA_RULE_CHAIN, chain);
    m_.end();
}

void Batch::del_chain(Family f, const std::string& table, const std::string& chain) {
    begin(NFT_MSG_DELCHAIN, 0, f, "delete chain " + table + " " + chain);
    m_.put_str(NFTA_CHAIN_TABLE, table);
    m_.put_str(NFTA_CHAIN_NAME, chain);
    m_.end();
}

uint32_t Batch::add_set(Family f, const std::string& table, const SetSpec& s) {
    uint32_t id = next_set_id_++;
    begin(NFT_MSG_NEWSET, NLM_F_CREATE, f, "add map " + table + " " + s.name);
    m_.put_str(NFTA_SET_TABLE, table);
    m_.put_str(NFTA_SET_NAME, s.name);
    uint32_t flags = s.map || s.verdict_map ? NFT_SET_MAP : 0;
    m_.put_be32(NFTA_SET_FLAGS, flags);
    m_.put_be32(NFTA_SET_KEY_TYPE, s.key_type);
    m_.put_be32(NFTA_SET_KEY_LEN, s.key_len);
    if (s.verdict_map) {
        m_.put_be32(NFTA_SET_DATA_TYPE, NFT_DATA_VERDICT);
    } else if (s.map) {
        m_.put_be32(NFTA_SET_DATA_TYPE, s.data_type);
        m_.put_be32(NFTA_SET_DATA_LEN, s.data_len);
    }
    m_.put_be32(NFTA_SET_ID, id);
    if (s.key_host_order) {  // libnftnl's user data: the key's byte order (host)
        char ud[6] = {0, 4, 1, 0, 0, 0};
        m_.put(NFTA_SET_USERDATA, ud, sizeof ud);
    }
    m_.end();
    return id;
}

void Batch::elems(uint16_t type, uint16_t flags, Family f, const std::string& table, const std::string& set,
                  const std::vector<Elem>& e) {
    begin(type, flags, f, (type == NFT_MSG_NEWSETELEM ? "add elements to " : "delete elements from ") + set);
    m_.put_str(NFTA_SET_ELEM_LIST_TABLE, table);
    m_.put_str(NFTA_SET_ELEM_LIST_SET, set);
    size_t list = m_.nest(NFTA_SET_ELEM_LIST_ELEMENTS);
    for (const auto& el : e) {
        size_t one = m_.nest(NFTA_LIST_ELEM);
        put_data(m_, NFTA_SET_ELEM_KEY, el.key);
        if (el.code) put_verdict(m_, NFTA_SET_ELEM_DATA, *el.code, el.chain);
        else if (!el.data.empty()) put_data(m_, NFTA_SET_ELEM_DATA, el.data);
        m_.nest_end(one);
    }
    m_.nest_end(list);
    m_.end();
}

void Batch::add_elems(Family f, const std::string& table, const std::string& set, const std::vector<Elem>& e) {
    if (!e.empty()) elems(NFT_MSG_NEWSETELEM, NLM_F_CREATE, f, table, set, e);
}

void Batch::del_elems(Family f, const std::string& table, const std::string& set, const std::vector<Elem>& e) {
    if (!e.empty()) elems(NFT_MSG_DELSETELEM, 0, f, table, set, e);
}

void Batch::add_rule(Family f, const std::string& table, const std::string& chain, const Rule& r, bool append) {
    begin(NFT_MSG_NEWRULE, static_cast<uint16_t>(NLM_F_CREATE | (append ? NLM_F_APPEND : 0)), f,
          "add a rule to " + table + " " + chain);
    m_.put_str(NFTA_RULE_TABLE, table);
    m_.put_str(NFTA_RULE_CHAIN, chain);
    size_t list = m_.nest(NFTA_RULE_EXPRESSIONS);
    for (const auto& e : r.exprs_) {
        size_t one = m_.nest(NFTA_LIST_ELEM);
        m_.put_str(NFTA_EXPR_NAME, e.name);
        if (e.data) {
            size_t d = m_.nest(NFTA_EXPR_DATA);
            e.data(m_);
            m_.nest_end(d);
        }
        m_.nest_end(one);
    }
    m_.nest_end(list);
    if (!r.comment_.empty()) {  // libnftnl's user data: a comment TLV nft shows
        std::string ud;
        ud += '\0';  // NFTNL_UDATA_RULE_COMMENT
        ud += static_cast<char>(r.comment_.size() + 1);
        ud += r.comment_;
        ud += '\0';
        m_.put(NFTA_RULE_USERDATA, ud.data(), ud.size());
    }
    m_.end();
}

void Batch::del_rule(Family f, const std::string& table, const std::string& chain, uint64_t handle) {
    begin(NFT_MSG_DELRULE, 0, f, "delete rule " + std::to_string(handle) + " of " + table + " " + chain);
    m_.put_str(NFTA_RULE_TABLE, table);
    m_.put_str(NFTA_RULE_CHAIN, chain);
    m_.put_be64(NFTA_RULE_HANDLE, handle);
    m_.end();
}

Status Batch::commit(NlSocket& s, const std::string& what) {
    if (count_ == 0) return {};
    NlMsg all = m_;
    auto g = gen(AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
    all.begin(NFNL_MSG_BATCH_END, 0, &g, sizeof g);
    all.end();
    auto st = s.request(all);
    if (!st) return std::unexpected(std::move(st).error().context(what));
    return {};
}

Result<bool> table_exists(NlSocket& s, Family f, const std::string& table) {
    NlMsg m;
    auto g = gen(f);
    m.begin(msg_type(NFT_MSG_GETTABLE), NLM_F_ACK, &g, sizeof g, "look up table " + table);
    m.put_str(NFTA_TABLE_NAME, table);
    m.end();
    bool found = false;
    auto st = s.request_echo(m, [&](const nlmsghdr*) { found = true; });
    if (!st && st.error().err == ENOENT) return false;
    if (!st) return std::unexpected(st.error());
    (void)found;
    return true;
}

Result<std::vector<ChainInfo>> list_chains(NlSocket& s) {
    std::vector<ChainInfo> out;
    NlMsg m;
    auto g = gen(NFPROTO_UNSPEC);
    m.begin(msg_type(NFT_MSG_GETCHAIN), NLM_F_DUMP, &g, sizeof g);
    m.end();
    HAKO_TRY_CTX(s.dump(m,
                        [&](const nlmsghdr* h) {
                            if ((h->nlmsg_type & 0xff) != NFT_MSG_NEWCHAIN) return;
                            auto* gm = static_cast<const nfgenmsg*>(NLMSG_DATA(h));
                            auto a = parse_attrs(h, sizeof(nfgenmsg));
                            ChainInfo c;
                            c.family = gm->nfgen_family;
                            c.table = a.str(NFTA_CHAIN_TABLE);
                            c.name = a.str(NFTA_CHAIN_NAME);
                            c.type = a.str(NFTA_CHAIN_TYPE);
                            if (auto* hook = a.get(NFTA_CHAIN_HOOK)) {
                                auto ha = parse_nested(hook);
                                c.hooknum = ha.be32(NFTA_HOOK_HOOKNUM);
                                c.priority = static_cast<int32_t>(ha.be32(NFTA_HOOK_PRIORITY));
                            }
                            if (a.get(NFTA_CHAIN_POLICY)) c.policy = a.be32(NFTA_CHAIN_POLICY);
                            out.push_back(std::move(c));
                        }),
                 "list the nftables chains");
    return out;
}

Result<std::vector<RuleInfo>> list_rules(NlSocket& s, Family f, const std::string& table, const std::string& chain) {
    std::vector<RuleInfo> out;
    NlMsg m;
    auto g = gen(f);
    m.begin(msg_type(NFT_MSG_GETRULE), NLM_F_DUMP, &g, sizeof g);
    m.put_str(NFTA_RULE_TABLE, table);
    m.put_str(NFTA_RULE_CHAIN, chain);
    m.end();
    HAKO_TRY_CTX(s.dump(m,
                        [&](const nlmsghdr* h) {
                            if ((h->nlmsg_type & 0xff) != NFT_MSG_NEWRULE) return;
                            auto a = parse_attrs(h, sizeof(nfgenmsg));
                            if (a.str(NFTA_RULE_CHAIN) != chain || a.str(NFTA_RULE_TABLE) != table) return;
                            RuleInfo r;
                            r.handle = a.be64(NFTA_RULE_HANDLE);
                            if (auto* ud = a.get(NFTA_RULE_USERDATA)) {
                                auto* p = static_cast<const unsigned char*>(nla_payload(ud));
                                size_t n = nla_len(ud);
                                for (size_t i = 0; i + 2 <= n;) {
                                    size_t len = p[i + 1];
                                    if (i + 2 + len > n) break;
                                    if (p[i] == 0)
                                        r.comment.assign(reinterpret_cast<const char*>(p + i + 2), strnlen(reinterpret_cast<const char*>(p + i + 2), len));
                                    i += 2 + len;
                                }
                            }
                            out.push_back(std::move(r));
                        }),
                 "list the rules of " + table + " " + chain);
    return out;
}

}  // namespace hako::net::nft
