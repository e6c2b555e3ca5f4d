// net/: addresses and prefixes, -p specs, DNS messages, the resolver's
// names and answers (no root, no kernel).
#include <gtest/gtest.h>

#include "net/addr.hpp"
#include "net/dns.hpp"
#include "net/ports.hpp"
#include "net/resolver.hpp"

namespace hako::net {
namespace {

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

TEST(NetAddr, PrefixesParseContainOverlapAndCount) {
    auto p = Prefix::parse("10.1.0.0/24");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->str(), "10.1.0.0/24");
    EXPECT_TRUE(p->contains(ip("10.1.0.77")));
    EXPECT_FALSE(p->contains(ip("10.1.1.1")));
    EXPECT_FALSE(p->contains(ip("fd00::1")));
    EXPECT_EQ(p->size(), 256u);
    EXPECT_EQ(p->nth(1)->str(), "10.1.0.1");
    EXPECT_EQ(p->nth(255)->str(), "10.1.0.255");
    EXPECT_FALSE(p->nth(256));
    EXPECT_EQ(p->last().str(), "10.1.0.255");
    EXPECT_EQ(p->offset(ip("10.1.0.9")), 9u);
    EXPECT_TRUE(p->overlaps(*Prefix::parse("10.0.0.0/8")));
    EXPECT_TRUE(Prefix::parse("10.0.0.0/8")->overlaps(*p));
    EXPECT_FALSE(p->overlaps(*Prefix::parse("10.1.1.0/24")));
    EXPECT_EQ(Prefix::parse("10.1.2.3/16", false)->str(), "10.1.0.0/16");
    EXPECT_EQ(Prefix::network(ip("192.168.7.9"), 20).str(), "192.168.0.0/20");
    auto v6 = Prefix::parse("fd00:18::/64");
    ASSERT_TRUE(v6);
    EXPECT_TRUE(v6->contains(ip("fd00:18::abcd")));
    EXPECT_EQ(v6->nth(2)->str(), "fd00:18::2");
    EXPECT_EQ(v6->nth(0x1ff)->str(), "fd00:18::1ff");
    EXPECT_EQ(v6->size(), uint64_t{1} << 32);  // (capped)
}

TEST(NetAddr, BadPrefixesSayWhy) {
    for (const char* bad : {"10.1.0.0", "10.1.0.0/33", "10.1.0.0/x", "10.1.0/24", "bogus/8", "fd00::/129", "", "/24"}) {
        auto p = Prefix::parse(bad);
        EXPECT_FALSE(p) << bad;
    }
    auto host_bits = Prefix::parse("10.1.0.1/24");
    ASSERT_FALSE(host_bits);
    EXPECT_NE(host_bits.error().msg.find("host bits set (the network is 10.1.0.0/24)"), std::string::npos);
}

TEST(NetAddr, AddressesMacsAndReverseNames) {
    EXPECT_TRUE(ip("127.0.0.5").is_loopback());
    EXPECT_TRUE(ip("::1").is_loopback());
    EXPECT_TRUE(ip("0.0.0.0").is_unspecified());
    EXPECT_TRUE(ip("::").is_unspecified());
    EXPECT_FALSE(IpAddr::parse("1.2.3"));
    EXPECT_FALSE(IpAddr::parse("1.2.3.4.5"));
    EXPECT_EQ(ip_of(sockaddr_of(ip("10.2.3.4"), 53).ss).str(), "10.2.3.4");
    EXPECT_EQ(port_of(sockaddr_of(ip("fd00::1"), 5353).ss), 5353);
    EXPECT_EQ(ip_of(sockaddr_of(ip("::ffff:10.2.3.4"), 53).ss).str(), "10.2.3.4");  // v4-mapped
    EXPECT_EQ(mac_str(*parse_mac("02:42:AC:11:00:02")), "02:42:ac:11:00:02");
    EXPECT_FALSE(parse_mac("01:00:00:00:00:00"));  // multicast
    EXPECT_FALSE(parse_mac("02:42:ac:11:00"));
    EXPECT_FALSE(parse_mac("02-42-ac-11-00-02"));
    EXPECT_EQ(mac_str(mac_for(ip("10.90.0.2"))), "0a:58:0a:5a:00:02");
}

TEST(NetPorts, PublishSpecsAsDockerReadsThem) {
    auto p = parse_publish("8080:80");
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->host_ip);
    EXPECT_EQ(p->host_first, 8080);
    EXPECT_EQ(p->ctr_first, 80);
    EXPECT_EQ(p->proto, 6);
    p = parse_publish("127.0.0.1:9090:90/udp");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->host_ip->str(), "127.0.0.1");
    EXPECT_EQ(p->proto, 17);
    p = parse_publish("80");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->host_first, 0);  // a random host port
    p = parse_publish("127.0.0.1::80");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->host_first, 0);
    EXPECT_TRUE(p->host_ip);
    p = parse_publish("0.0.0.0:8000-8010:90-100");
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->host_ip);  // 0.0.0.0: every address
    EXPECT_EQ(p->host_last, 8010);
    EXPECT_EQ(p->ctr_last, 100);
    p = parse_publish("8000-8010:80");  // one container port: the first free host port of the range
    ASSERT_TRUE(p);
    EXPECT_EQ(p->ctr_first, p->ctr_last);
    p = parse_publish("[fd00::5]:8080:80");
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->host_ip->v6);
    p = parse_exposed("53/udp");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->proto, 17);
    EXPECT_EQ(p->ctr_first, 53);
}

TEST(NetPorts, BadPublishSpecsNameTheirFault) {
    struct Case {
        const char* spec;
        const char* says;
    };
    for (const auto& c : {Case{"80:99999", "container port `99999`"}, Case{"0", "is not a port"},
                          Case{"abc", "`abc` is not a port"}, Case{"80/sctp", "`sctp` is not tcp or udp"},
                          Case{"1-3:4-5", "the host range has 3 ports, the container range 2"},
                          Case{"9-1:80", "is an empty range"}, Case{"1.2.3:80:80", "`1.2.3` is not an IP address"},
                          Case{"::1:80:80", "too many `:`"}, Case{"[::1]:80:80", "::1 is not supported"},
                          Case{"[fd00::1:80", "brackets"}, Case{"", "is not a port"}}) {
        auto p = parse_publish(c.spec);
        ASSERT_FALSE(p) << c.spec;
        EXPECT_NE(p.error().msg.find(c.says), std::string::npos) << c.spec << ": " << p.error().msg;
        EXPECT_NE(p.error().msg.find(std::string("-p `") + c.spec + "`"), std::string::npos) << p.error().msg;
    }
}

// A query as a resolver library sends it: id 0x1234, RD, one question.
std::vector<uint8_t> query(const char* name, uint16_t type) {
    std::vector<uint8_t> q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    std::string n = name;
    size_t start = 0;
    while (start <= n.size()) {
        size_t dot = n.find('.', start);
        if (dot == std::string::npos) dot = n.size();
        q.push_back(static_cast<uint8_t>(dot - start));
        q.insert(q.end(), n.begin() + static_cast<long>(start), n.begin() + static_cast<long>(dot));
        start = dot + 1;
    }
    q.push_back(0);
    q.insert(q.end(), {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0, 1});
    return q;
}

TEST(NetDns, QueriesParseAndRepliesCarryTheAnswers) {
    auto raw = query("Web.App", dns::kTypeA);
    auto q = dns::parse_query(raw);
    ASSERT_TRUE(q);
    EXPECT_EQ(q->id, 0x1234);
    EXPECT_EQ(q->name, "web.app");  // lowercase
    EXPECT_EQ(q->type, dns::kTypeA);
    EXPECT_EQ(q->question_end, raw.size());
    auto reply = dns::make_reply(*q, raw, dns::kNoError, {{dns::kTypeA, ip("10.1.0.2"), {}}}, 30);
    ASSERT_EQ(reply.size(), raw.size() + 16);
    EXPECT_EQ(reply[0], 0x12);
    EXPECT_EQ(reply[2] & 0x80, 0x80);  // a response
    EXPECT_EQ(reply[2] & 0x04, 0x04);  // authoritative
    EXPECT_EQ(reply[7], 1);            // one answer
    EXPECT_EQ(std::vector<uint8_t>(reply.end() - 4, reply.end()), (std::vector<uint8_t>{10, 1, 0, 2}));
    EXPECT_EQ(dns::reply_id(reply), 0x1234);
    EXPECT_FALSE(dns::reply_id(raw));  // (a query is no reply)
    dns::set_id(reply, 0xbeef);
    EXPECT_EQ(dns::reply_id(reply), 0xbeef);
    auto ptr = dns::make_reply(*q, raw, dns::kNoError, {{dns::kTypePtr, {}, "db"}}, 30);
    EXPECT_EQ(ptr.size(), raw.size() + 12 + 4);  // 0x02 'd' 'b' 0x00
}

TEST(NetDns, MalformedMessagesAreNotQueries) {
    auto raw = query("a.b", dns::kTypeA);
    EXPECT_FALSE(dns::parse_query(std::span<const uint8_t>(raw.data(), 11)));
    auto cut = raw;
    cut.resize(cut.size() - 2);  // no class
    EXPECT_FALSE(dns::parse_query(cut));
    auto response = raw;
    response[2] |= 0x80;
    EXPECT_FALSE(dns::parse_query(response));
    auto loop = raw;  // a compression pointer to itself
    loop[12] = 0xc0;
    loop[13] = 12;
    EXPECT_FALSE(dns::parse_query(loop));
    auto none = raw;
    none[5] = 0;  // no question
    EXPECT_FALSE(dns::parse_query(none));
}

TEST(NetDns, PtrNamesAndResolvConf) {
    EXPECT_EQ(dns::ptr_address("4.3.2.10.in-addr.arpa")->str(), "10.2.3.4");
    EXPECT_EQ(dns::ptr_address("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa")->str(),
              "fd00::1");
    EXPECT_FALSE(dns::ptr_address("300.3.2.10.in-addr.arpa"));
    EXPECT_FALSE(dns::ptr_address("3.2.10.in-addr.arpa"));
    EXPECT_FALSE(dns::ptr_address("example.com"));
    auto servers = dns::nameservers("# a comment\nnameserver 10.0.0.1\nnameserver\tfe80::1%eth0\nsearch x\nnameserver bogus\n");
    ASSERT_EQ(servers.size(), 2u);
    EXPECT_EQ(servers[0].str(), "10.0.0.1");
    EXPECT_EQ(servers[1].str(), "fe80::1");
}

TEST(NetResolver, NamesAnswerAAaaaPtrAndForwardTheRest) {
    auto names = parse_names("10.1.0.2 web 0123456789ab front\nfd00::2 web 0123456789ab front\n"
                             "10.1.0.3 DB\nupstream 10.1.0.2 198.18.0.2\nbogus line\n");
    EXPECT_EQ(names.by_name["web"].size(), 2u);
    EXPECT_EQ(names.by_name["db"].size(), 1u);  // lowercase
    EXPECT_EQ(names.upstream[ip("10.1.0.2")].front().str(), "198.18.0.2");
    auto ask = [&](const char* name, uint16_t type, std::vector<dns::Answer>& out) {
        auto raw = query(name, type);
        return answer_locally(names, *dns::parse_query(raw), out);
    };
    std::vector<dns::Answer> a;
    ASSERT_TRUE(ask("front", dns::kTypeA, a));
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].addr.str(), "10.1.0.2");
    a.clear();
    ASSERT_TRUE(ask("web", dns::kTypeAaaa, a));
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].addr.str(), "fd00::2");
    a.clear();
    ASSERT_TRUE(ask("db", dns::kTypeAaaa, a));  // ours, without IPv6: an empty answer, not forwarded
    EXPECT_TRUE(a.empty());
    a.clear();
    ASSERT_TRUE(ask("3.0.1.10.in-addr.arpa", dns::kTypePtr, a));
    EXPECT_EQ(a[0].target, "db");
    a.clear();
    ASSERT_TRUE(ask("2.0.1.10.in-addr.arpa", dns::kTypePtr, a));
    EXPECT_EQ(a[0].target, "web");  // the container's name, not an alias
    a.clear();
    EXPECT_FALSE(ask("example.com", dns::kTypeA, a));
    EXPECT_FALSE(ask("9.9.9.9.in-addr.arpa", dns::kTypePtr, a));
}

}  // namespace
}  // namespace hako::net
