// hako's networks, as a user types them: names and aliases, DNS forwarded
// to a fake upstream, published ports from the host and from a client
// machine (with the address it has), NAT out, isolation, --internal,
// container:, UDP, IPv6, the container's files, connect/disconnect, port
// conflicts, bad input, kill -9 of init and monitor, 50 at once, another
// tool's DROP forward policy. Traffic goes only to containers and to the
// client namespace a test makes (198.18.0.0/24, 2001:2::/64).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <set>

#include "hako_fixture.hpp"

namespace hako::test {
namespace {

// busybox httpd on :80: / says hello, /cgi-bin/ip the client's address.
const char* kWeb =
    "mkdir -p /www/cgi-bin && printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho $REMOTE_ADDR\\n'"
    " > /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && echo hello > /www/index.html && exec httpd -f -p 80 -h /www";

bool have_client_tools() {
    auto ip = run_command({"ip", "-V"});
    return contains(ip.out + ip.err, "iproute2") &&
           have_tool("nsenter") && have_tool("unshare");
}
#define NEED_CLIENT() \
    if (!have_client_tools()) GTEST_SKIP() << "needs iproute2 and util-linux (nsenter, unshare)"

class Network : public Hako {
protected:
    // `hako run -d args...`: the id.
    std::string start(std::vector<std::string> args) {
        args.insert(args.begin(), {"run", "-d"});
        auto r = (*this)(args);
        EXPECT_EQ(r.exit_code, 0) << r;
        return trim(r.out);
    }
    json inspect(const std::string& name) {
        auto r = (*this)({"inspect", name});
        EXPECT_EQ(r.exit_code, 0) << r;
        auto j = json::parse(r.out, nullptr, false);
        return j.is_array() && !j.empty() ? j[0] : json::object();
    }
    std::string ip(const std::string& name, const std::string& net, const char* key = "IPAddress") {
        auto j = inspect(name);
        auto& n = j["NetworkSettings"]["Networks"];
        return n.contains(net) ? n[net].value(key, "") : "";
    }
    Result sh(const std::string& name, const std::string& script) { return (*this)({"exec", name, "sh", "-c", script}); }
    // `hako [global] run --rm FLAGS... busybox`, fetching `url` within `secs`
    // (busybox's `wget -T` crashes; `timeout` must not be PID 1, which
    // ignores its SIGTERM: sh stays PID 1).
    Result fetch(std::vector<std::string> flags, const std::string& url, int secs = 3, bool debug = false) {
        std::vector<std::string> args;
        if (debug) args.push_back("--debug");
        args.insert(args.end(), {"run", "--rm"});
        args.insert(args.end(), flags.begin(), flags.end());
        args.insert(args.end(), {"busybox", "sh", "-c", "timeout " + std::to_string(secs) + " wget -qO- " + url + "; exit $?"});
        return (*this)(args);
    }
    // Until the container's web server answers (it starts in the background).
    void wait_web(const std::string& name) {
        EXPECT_TRUE(wait_until([&] { return sh(name, "wget -qO- http://127.0.0.1/").out == "hello\n"; }, 10s));
    }
};

// A web server of the client machine on 198.18.0.2:8000, /cgi-bin/ip as the container's.
struct ClientWeb {
    explicit ClientWeb(Client& c) : www("client-www") {
        write_file(www / "index.html", "hello\n");
        run_command({"mkdir", "-p", www / "cgi-bin"});
        write_file(www / "cgi-bin/ip", "#!/bin/sh\necho Content-Type: text/plain\necho\necho $REMOTE_ADDR\n", 0755);
        server = c.spawn({"busybox", "httpd", "-f", "-p", "198.18.0.2:8000", "-h", www.path()});
        EXPECT_TRUE(wait_until([&] { return c.run({"busybox", "wget", "-qO-", "http://198.18.0.2:8000/"}).out == "hello\n"; }, 5s));
    }
    TempDir www;
    std::unique_ptr<Child> server;
};

TEST_F(Network, NamesAliasesShortIdsAndTheContainersFiles) {
    ASSERT_EQ((*this)({"network", "create", "app"}).exit_code, 0);
    std::string db = start({"--name", "db", "--network", "app", "--network-alias", "database", "busybox", "sleep", "120"});
    start({"--name", "web", "--network", "app", "busybox", "sleep", "120"});
    std::string db_ip = ip("db", "app");
    ASSERT_FALSE(db_ip.empty());
    for (const std::string& name : {std::string("db"), std::string("database"), db.substr(0, 12)}) {
        auto r = sh("web", "nslookup " + name);
        EXPECT_EQ(r.exit_code, 0) << r;
        EXPECT_TRUE(contains(r.out, "Address: " + db_ip)) << name << "\n" << r;
    }
    auto rev = sh("web", "nslookup " + db_ip);
    EXPECT_TRUE(contains(rev.out, "db")) << rev;
    EXPECT_EQ(sh("web", "ping -c1 -W2 db").exit_code, 0);
    std::string gw = ip("web", "app", "Gateway");
    EXPECT_EQ(sh("web", "cat /etc/resolv.conf").out.substr(0, 11 + gw.size()), "nameserver " + gw);
    auto hosts = sh("web", "cat /etc/hosts").out;
    std::string hostname = trim(sh("web", "hostname").out);
    EXPECT_TRUE(contains(hosts, ip("web", "app") + "\t" + hostname + " web")) << hosts;
    EXPECT_TRUE(contains(hosts, gw + "\thost.containers.internal host.docker.internal")) << hosts;
    EXPECT_TRUE(contains(hosts, "127.0.0.1\tlocalhost")) << hosts;
    EXPECT_EQ(trim(sh("web", "cat /etc/hostname").out), hostname);
    // --add-host and --dns-search / --dns-option
    auto r = (*this)({"run", "--rm", "--network", "app", "--add-host", "db.local:198.18.0.7", "--add-host",
                      "gw:host-gateway", "--dns-search", "example.test", "--dns-option", "ndots:2", "-h", "box",
                      "busybox", "sh", "-c", "cat /etc/hosts /etc/resolv.conf /etc/hostname"});
    EXPECT_TRUE(contains(r.out, "198.18.0.7\tdb.local")) << r;
    EXPECT_TRUE(contains(r.out, gw + "\tgw")) << r;
    EXPECT_TRUE(contains(r.out, "search example.test")) << r;
    EXPECT_TRUE(contains(r.out, "options ndots:2")) << r;
    EXPECT_TRUE(contains(r.out, "\nbox\n")) << r;
}

TEST_F(Network, OtherNamesGoToTheUpstreamServer) {
    NEED_CLIENT();
    Client client;
    client.serve_dns();
    ASSERT_EQ((*this)({"network", "create", "app"}).exit_code, 0);
    auto r = (*this)({"run", "--rm", "--network", "app", "busybox", "nslookup", "example.test"});
    EXPECT_TRUE(contains(r.out, "198.18.0.99")) << r;
    EXPECT_GE(client.dns_queries(), 1);
    // --dns on a user network: the resolver forwards there.
    r = (*this)({"run", "--rm", "--network", "app", "--dns", "198.18.0.2", "busybox", "sh", "-c",
                 "cat /etc/resolv.conf; nslookup other.test"});
    EXPECT_TRUE(contains(r.out, "198.18.0.99")) << r;
    EXPECT_FALSE(contains(r.out, "nameserver 198.18.0.2")) << r;  // (the resolver stays the container's server)
}

TEST_F(Network, PublishedPortsFromTheHostAndAnotherMachine) {
    NEED_CLIENT();
    Client client;
    std::string id = start({"--name", "web", "-p", "8080:80", "-p", "127.0.0.1:9090:80", "busybox", "sh", "-c", kWeb});
    wait_web("web");
    auto get = [](const std::string& url) { return run_command({"timeout", "3", "busybox", "wget", "-qO-", url}); };
    EXPECT_EQ(get("http://127.0.0.1:8080/").out, "hello\n");
    EXPECT_EQ(get("http://198.18.0.1:8080/").out, "hello\n");
    EXPECT_EQ(get("http://127.0.0.1:9090/").out, "hello\n");
    // From another machine: the container sees its real address.
    auto far = client.run({"timeout", "3", "busybox", "wget", "-qO-", "http://198.18.0.1:8080/cgi-bin/ip"});
    EXPECT_TRUE(contains(far.out, "198.18.0.2")) << far;
    // A port published on 127.0.0.1 is the host's alone: not from outside,
    // not even by a client routing 127.0.0.1 to the host (docker's hole).
    EXPECT_NE(client.run({"timeout", "2", "busybox", "wget", "-qO-", "http://198.18.0.1:9090/"}).exit_code, 0);
    auto crafted = client.run({"sh", "-c",
                               "echo 1 > /proc/sys/net/ipv4/conf/eth0/route_localnet && "
                               "ip route del local 127.0.0.0/8 dev lo table local && "
                               "ip route del local 127.0.0.1 dev lo table local; "
                               "ip route add 127.0.0.1/32 via 198.18.0.1 dev eth0 && "
                               "timeout 2 busybox wget -qO- http://127.0.0.1:9090/; echo rc=$?; "
                               "timeout 2 busybox wget -qO- http://127.0.0.1:8080/; echo rc=$?"});
    EXPECT_FALSE(contains(crafted.out, "hello")) << crafted;
    EXPECT_TRUE(contains(crafted.out, "rc=1")) << crafted;
    // Hairpin: a container to a port the host publishes.
    auto hair = fetch({}, "http://198.18.0.1:8080/");
    EXPECT_EQ(hair.out, "hello\n") << hair;
    // What docker shows.
    auto port = (*this)({"port", "web"});
    EXPECT_TRUE(contains(port.out, "80/tcp -> 0.0.0.0:8080")) << port;
    EXPECT_TRUE(contains(port.out, "80/tcp -> 127.0.0.1:9090")) << port;
    EXPECT_EQ(trim((*this)({"port", "web", "80"}).out), "0.0.0.0:8080\n127.0.0.1:9090");
    EXPECT_EQ((*this)({"port", "web", "81"}).exit_code, 125);
    EXPECT_TRUE(contains((*this)({"ps"}).out, "0.0.0.0:8080->80/tcp, 127.0.0.1:9090->80/tcp"));
    auto ports = inspect("web")["NetworkSettings"]["Ports"]["80/tcp"];
    ASSERT_EQ(ports.size(), 2u) << ports;
    EXPECT_EQ(ports[0]["HostPort"], "8080");
    // -P and a random host port, shown by `port`.
    start({"--name", "any", "-p", "80", "busybox", "sh", "-c", kWeb});
    wait_web("any");
    std::string hp = trim((*this)({"port", "any", "80"}).out);
    ASSERT_TRUE(hp.rfind("0.0.0.0:", 0) == 0) << hp;
    EXPECT_EQ(get("http://127.0.0.1:" + hp.substr(8) + "/").out, "hello\n");
    (*this)({"rm", "-f", "web", "any"});
    // The ports are free again.
    EXPECT_NE(get("http://127.0.0.1:8080/").exit_code, 0);
}

TEST_F(Network, OutboundNatInternalNetworksAndIsolation) {
    NEED_CLIENT();
    Client client;
    ClientWeb outside(client);
    // Out through NAT: the outside sees the host's address.
    auto out = fetch({}, "http://198.18.0.2:8000/cgi-bin/ip");
    EXPECT_TRUE(contains(out.out, "198.18.0.1")) << out;
    // --internal: no way out, but the network itself works.
    ASSERT_EQ((*this)({"network", "create", "--internal", "sealed"}).exit_code, 0);
    auto sealed = fetch({"--network", "sealed"}, "http://198.18.0.2:8000/", 2);
    EXPECT_NE(sealed.exit_code, 0) << sealed;
    start({"--name", "s1", "--network", "sealed", "busybox", "sleep", "120"});
    EXPECT_EQ((*this)({"run", "--rm", "--network", "sealed", "busybox", "ping", "-c1", "-W2", "s1"}).exit_code, 0);
    // Two networks can't reach each other's containers.
    ASSERT_EQ((*this)({"network", "create", "red"}).exit_code, 0);
    ASSERT_EQ((*this)({"network", "create", "blue"}).exit_code, 0);
    start({"--name", "r", "--network", "red", "busybox", "sh", "-c", kWeb});
    wait_web("r");
    std::string rip = ip("r", "red");
    EXPECT_EQ(fetch({"--network", "red"}, "http://" + rip + "/", 2).out, "hello\n");
    EXPECT_NE(fetch({"--network", "blue"}, "http://" + rip + "/", 2).exit_code, 0);
    EXPECT_NE((*this)({"run", "--rm", "--network", "blue", "busybox", "ping", "-c1", "-W1", rip}).exit_code, 0);
    // ... nor can the outside, directly.
    EXPECT_NE(client.run({"sh", "-c", "ip route add " + rip + "/32 via 198.18.0.1 && timeout 2 busybox wget -qO- http://" + rip + "/"}).exit_code, 0);
}

TEST_F(Network, ContainerModeSharesTheNetworkNamespace) {
    ASSERT_EQ((*this)({"network", "create", "pod"}).exit_code, 0);
    start({"--name", "main", "--network", "pod", "busybox", "sh", "-c", kWeb});
    wait_web("main");
    auto r = (*this)({"run", "--rm", "--network", "container:main", "busybox", "sh", "-c",
                      "ip -o -4 addr show eth0; wget -qO- http://127.0.0.1/; ps; hostname"});
    EXPECT_TRUE(contains(r.out, ip("main", "pod") + "/")) << r;
    EXPECT_TRUE(contains(r.out, "hello")) << r;
    EXPECT_FALSE(contains(r.out, "httpd")) << r;  // its own pid namespace
    EXPECT_TRUE(contains(r.out, trim(sh("main", "hostname").out))) << r;
    struct Bad {
        std::vector<std::string> flags;
        const char* says;
    };
    for (const auto& b : {Bad{{"-p", "80"}, "port publishing"}, Bad{{"--dns", "198.18.0.2"}, "dns"},
                          Bad{{"--add-host", "a:198.18.0.3"}, "host-to-IP"}, Bad{{"-h", "x"}, "hostname"},
                          Bad{{"--mac-address", "02:00:00:00:00:01"}, "mac-address"}}) {
        std::vector<std::string> args{"run", "--rm", "--network", "container:main"};
        args.insert(args.end(), b.flags.begin(), b.flags.end());
        args.insert(args.end(), {"busybox", "true"});
        auto bad = (*this)(args);
        EXPECT_EQ(bad.exit_code, 125) << bad;
        EXPECT_TRUE(contains(bad.err, "conflicting options")) << bad;
        EXPECT_TRUE(contains(bad.err, b.says)) << bad;
    }
    ASSERT_EQ((*this)({"run", "--name", "gone", "busybox", "true"}).exit_code, 0);
    auto stopped = (*this)({"run", "--rm", "--network", "container:gone", "busybox", "true"});
    EXPECT_EQ(stopped.exit_code, 125);
    EXPECT_TRUE(contains(stopped.err, "container `gone` is exited, not running")) << stopped;
    auto none = (*this)({"run", "--rm", "--network", "container:nobody", "busybox", "true"});
    EXPECT_TRUE(contains(none.err, "no such container `nobody`")) << none;
}

TEST_F(Network, UdpPorts) {
    NEED_CLIENT();
    Client client;
    std::string echo = HAKO_UDP_ECHO;
    start({"--name", "u", "-p", "5353:53/udp", "-v", echo + ":/udp-echo:ro", "busybox", "/udp-echo", "serve", "53"});
    ASSERT_TRUE(wait_until([&] { return contains((*this)({"logs", "u"}).out, "listening"); }, 5s));
    auto far = client.run({echo, "send", "198.18.0.1", "5353", "hello-udp"});
    EXPECT_TRUE(contains(far.out, "from ::ffff:198.18.0.2: hello-udp")) << far;  // the client's own address
    auto near = run_command({echo, "send", "127.0.0.1", "5353", "from-the-host"});
    EXPECT_TRUE(contains(near.out, ": from-the-host")) << near;
    EXPECT_TRUE(contains((*this)({"port", "u"}).out, "53/udp -> 0.0.0.0:5353"));
}

TEST_F(Network, DualStackNetworks) {
    ASSERT_EQ((*this)({"network", "create", "--ipv6", "--subnet", "fd00:18::/64", "dual"}).exit_code, 0);
    auto net = json::parse((*this)({"network", "inspect", "dual"}).out, nullptr, false);
    ASSERT_TRUE(net.is_array());
    EXPECT_EQ(net[0]["EnableIPv6"], true);
    EXPECT_EQ(net[0]["IPAM"]["Config"].size(), 2u) << net;  // and an IPv4 subnet chosen
    start({"--name", "a", "--network", "dual", "-p", "8081:80", "busybox", "sh", "-c", kWeb});
    wait_web("a");
    std::string a6 = ip("a", "dual", "GlobalIPv6Address");
    ASSERT_TRUE(contains(a6, "fd00:18::")) << a6;
    EXPECT_TRUE(contains(sh("a", "ip -6 addr show eth0").out, a6 + "/64"));
    auto r = (*this)({"run", "--rm", "--network", "dual", "busybox", "sh", "-c",
                      "nslookup -type=aaaa a; ping6 -c1 -W2 a && timeout 3 wget -qO- http://[" + a6 + "]/"});
    EXPECT_TRUE(contains(r.out, "Address: " + a6)) << r;
    EXPECT_TRUE(contains(r.out, "hello")) << r;
    if (!have_client_tools()) return;
    // Published on the host's IPv6 addresses too.
    Client client;
    auto far = client.run({"timeout", "3", "busybox", "wget", "-qO-", "http://[2001:2::1]:8081/cgi-bin/ip"});
    EXPECT_TRUE(contains(far.out, "2001:2::2")) << far;
}

TEST_F(Network, ConnectAndDisconnectARunningContainer) {
    ASSERT_EQ((*this)({"network", "create", "one"}).exit_code, 0);
    ASSERT_EQ((*this)({"network", "create", "two"}).exit_code, 0);
    start({"--name", "a", "--network", "one", "busybox", "sleep", "120"});
    std::string inode = trim(sh("a", "stat -c %i /etc/hosts").out);
    auto c = (*this)({"network", "connect", "--alias", "alpha", "two", "a"});
    ASSERT_EQ(c.exit_code, 0) << c;
    std::string two = ip("a", "two");
    ASSERT_FALSE(two.empty());
    EXPECT_TRUE(contains(sh("a", "ip -o -4 addr show eth1").out, two + "/")) << sh("a", "ip a");
    EXPECT_EQ((*this)({"run", "--rm", "--network", "two", "busybox", "ping", "-c1", "-W2", "alpha"}).exit_code, 0);
    // /etc/hosts updated in place (it is bind-mounted: the same inode).
    EXPECT_EQ(trim(sh("a", "stat -c %i /etc/hosts").out), inode);
    EXPECT_TRUE(contains(sh("a", "cat /etc/hosts").out, two + "\t"));
    auto again = (*this)({"network", "connect", "two", "a"});
    EXPECT_EQ(again.exit_code, 125);
    EXPECT_TRUE(contains(again.err, "already on network `two`")) << again;
    ASSERT_EQ((*this)({"network", "disconnect", "two", "a"}).exit_code, 0);
    EXPECT_FALSE(contains(sh("a", "ip -o link").out, "eth1"));
    EXPECT_FALSE(contains(sh("a", "cat /etc/hosts").out, two + "\t"));
    EXPECT_NE((*this)({"run", "--rm", "--network", "two", "busybox", "ping", "-c1", "-W1", two}).exit_code, 0);
}

TEST_F(Network, TakenPortsAreRefusedAndLeaveNothing) {
    start({"--name", "web", "-p", "8080:80", "busybox", "sleep", "120"});
    auto clash = (*this)({"run", "-d", "--name", "web2", "-p", "8080:81", "busybox", "sleep", "120"});
    EXPECT_EQ(clash.exit_code, 125);
    EXPECT_TRUE(contains(clash.err, "port 0.0.0.0:8080/tcp is already in use by container web")) << clash;
    // A port another process listens on.
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(7777);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(listen(s, 1), 0);
    auto taken = (*this)({"run", "--rm", "-p", "127.0.0.1:7777:80", "busybox", "true"});
    EXPECT_EQ(taken.exit_code, 125);
    EXPECT_TRUE(contains(taken.err, "port 127.0.0.1:7777/tcp is already in use by another process")) << taken;
    auto wild = (*this)({"run", "--rm", "-p", "7777:80", "busybox", "true"});
    EXPECT_EQ(wild.exit_code, 125) << wild;
    close(s);
    auto ps = (*this)({"ps", "-a", "--format", "json"});
    EXPECT_EQ(json::parse(ps.out, nullptr, false).size(), 1u) << ps;  // only web
    auto st = json::parse(read_file(run / "net/state.json"), nullptr, false);
    EXPECT_EQ(st["containers"].size(), 1u) << st;
}

TEST_F(Network, BadInputIsRefusedByName) {
    struct Case {
        std::vector<std::string> args;
        const char* says;
    };
    ASSERT_EQ((*this)({"network", "create", "--subnet", "198.18.200.0/24", "a"}).exit_code, 0);
    start({"--name", "x", "--network", "a", "--ip", "198.18.200.5", "busybox", "sleep", "120"});
    EXPECT_EQ(ip("x", "a"), "198.18.200.5");
    for (const auto& c : std::vector<Case>{
             {{"network", "create", "--subnet", "198.18.200.128/25", "b"}, "overlaps network `a`"},
             {{"network", "create", "--subnet", "198.18.201.0/24", "--gateway", "198.19.0.1", "c"}, "is not in the subnet"},
             {{"network", "create", "--subnet", "bogus", "d"}, "`bogus` is not a CIDR"},
             {{"network", "create", "--subnet", "198.18.202.1/24", "d"}, "host bits set"},
             {{"network", "create", "a"}, "network `a` already exists"},
             {{"network", "create", "host"}, "reserved"},
             {{"network", "create", "-o", "color=red", "e"}, "--opt `color`"},
             {{"run", "--rm", "-p", "80:99999", "busybox", "true"}, "-p `80:99999`"},
             {{"run", "--rm", "-p", "abc", "busybox", "true"}, "-p `abc`"},
             {{"run", "--rm", "-p", "1-3:4-5", "busybox", "true"}, "the host range has 3 ports"},
             {{"run", "--rm", "-p", "80/sctp", "busybox", "true"}, "`sctp` is not tcp or udp"},
             {{"run", "--rm", "--network", "nosuch", "busybox", "true"}, "no such network `nosuch`"},
             {{"run", "--rm", "--network", "a", "--ip", "198.18.9.9", "busybox", "true"}, "is not in network `a`'s subnet"},
             {{"run", "--rm", "--network", "a", "--ip", "198.18.200.5", "busybox", "true"}, "already in use by container `x`"},
             {{"run", "--rm", "--ip", "10.90.0.9", "busybox", "true"}, "user-defined network"},
             {{"run", "--rm", "--network-alias", "y", "busybox", "true"}, "user-defined networks"},
             {{"run", "--rm", "--network", "a", "--mac-address", "zz", "busybox", "true"}, "--mac-address `zz`"},
             {{"run", "--rm", "--dns", "not-an-ip", "busybox", "true"}, "--dns `not-an-ip`"},
             {{"run", "--rm", "--add-host", "nocolon", "busybox", "true"}, "--add-host `nocolon`"},
             {{"run", "--rm", "--network", "none", "--network", "a", "busybox", "true"}, "can't be combined"},
             {{"network", "rm", "a"}, "in use by container `x`"},
             {{"network", "rm", "bridge"}, "pre-defined"},
             {{"network", "inspect", "nosuch"}, "no such network `nosuch`"},
         }) {
        auto r = (*this)(c.args);
        EXPECT_EQ(r.exit_code, 125) << r;
        EXPECT_TRUE(contains(r.err, c.says)) << c.says << "\n" << r;
    }
    auto ps = json::parse((*this)({"ps", "-a", "--format", "json"}).out, nullptr, false);
    EXPECT_EQ(ps.size(), 1u) << ps;
    auto nets = (*this)({"network", "ls", "-q"});
    EXPECT_EQ(lines(nets.out).size(), 2u) << nets;  // bridge and a
}

TEST_F(Network, KillNineOfInitOrMonitorLeavesNothing) {
    ASSERT_EQ((*this)({"network", "create", "k"}).exit_code, 0);
    auto state = [&] { return json::parse(read_file(run / "net/state.json"), nullptr, false); };
    // The init killed from the host: its monitor tears the networking down.
    start({"--name", "a", "--network", "k", "-p", "8080:80", "busybox", "sleep", "600"});
    pid_t init = inspect("a")["State"].value("Pid", 0);
    ASSERT_GT(init, 0);
    ASSERT_EQ(kill(init, SIGKILL), 0);
    EXPECT_TRUE(wait_until([&] { return state()["containers"].empty(); }, 10s)) << state();
    EXPECT_TRUE(wait_until([&] { return contains((*this)({"ps", "-a"}).out, "Exited (137)"); }, 5s));
    // The monitor killed: the container runs on, unwatched; once its init
    // dies too, the next command that touches networks removes the rest.
    start({"--name", "b", "--network", "k", "-p", "8081:80", "busybox", "sleep", "600"});
    init = inspect("b")["State"].value("Pid", 0);
    std::string status = read_file("/proc/" + std::to_string(init) + "/status");
    pid_t monitor = std::stoi(status.substr(status.find("PPid:") + 5));
    ASSERT_EQ(kill(monitor, SIGKILL), 0);
    ASSERT_TRUE(wait_until([&] { return !process_alive(monitor); }, 5s));
    (*this)({"network", "ls"});
    EXPECT_EQ(state()["containers"].size(), 1u);  // b still runs: kept
    ASSERT_EQ(kill(init, SIGKILL), 0);
    ASSERT_TRUE(wait_until([&] { return !process_alive(init); }, 5s));
    EXPECT_EQ((*this)({"network", "ls"}).exit_code, 0);
    EXPECT_TRUE(state()["containers"].empty()) << state();
    // Its ports are free again.
    start({"--name", "c", "-p", "8081:80", "busybox", "true"});
}

TEST_F(Network, FiftyContainersAtOnceGetFiftyAddresses) {
    ASSERT_EQ((*this)({"network", "create", "many"}).exit_code, 0);
    std::vector<std::unique_ptr<Child>> kids;
    for (int i = 0; i < 50; ++i)
        kids.push_back(std::make_unique<Child>(
            std::vector<std::string>{hako_binary(), "--root", store.path(), "run", "-d", "--name", fmt::format("c{}", i),
                                     "--network", "many", "busybox", "sleep", "120"},
            with_timeout(90s)));
    for (auto& k : kids) {
        auto r = k->wait();
        EXPECT_EQ(r.exit_code, 0) << r;
    }
    std::set<std::string> ips;
    for (int i = 0; i < 50; ++i) ips.insert(ip(fmt::format("c{}", i), "many"));
    EXPECT_EQ(ips.size(), 50u);
    EXPECT_FALSE(ips.count(""));
    auto members = json::parse((*this)({"network", "inspect", "many"}).out, nullptr, false);
    EXPECT_EQ(members[0]["Containers"].size(), 50u);
}

TEST_F(Network, AnotherToolsDropForwardPolicyIsOpenedForUs) {
    NEED_CLIENT();
    if (!have_tool("nft")) GTEST_SKIP() << "needs nft (nftables)";
    auto table = run_command({"sh", "-c", "printf 'table ip hakotest {\\n chain forwarding {\\n  type filter hook forward priority 0; policy drop;\\n }\\n}\\n' | nft -f -"});
    ASSERT_EQ(table.exit_code, 0) << table;
    Client client;
    ClientWeb outside(client);
    auto r = fetch({}, "http://198.18.0.2:8000/", 3, /*debug=*/true);
    EXPECT_EQ(r.out, "hello\n") << r;
    EXPECT_TRUE(contains(r.err, "`ip hakotest forwarding` drops by default")) << r;
    EXPECT_EQ(network_leftovers(), "");
    auto chain = run_command({"nft", "list", "chain", "ip", "hakotest", "forwarding"});
    EXPECT_FALSE(contains(chain.out, "hako:")) << chain;  // ours went with the network
    run_command({"nft", "delete", "table", "ip", "hakotest"});
}

TEST_F(Network, AFlushedRulesetAndAKilledResolverAreRepaired) {
    if (!have_tool("nft")) GTEST_SKIP() << "needs nft (nftables)";
    ASSERT_EQ((*this)({"network", "create", "app"}).exit_code, 0);
    start({"--name", "web", "--network", "app", "-p", "8080:80", "busybox", "sh", "-c", kWeb});
    wait_web("web");
    auto get = [](const std::string& url) { return run_command({"timeout", "3", "busybox", "wget", "-qO-", url}); };
    EXPECT_EQ(get("http://127.0.0.1:8080/").out, "hello\n");
    // Another tool flushes the whole ruleset (a firewall reload, say).
    ASSERT_EQ(run_command({"nft", "flush", "ruleset"}).exit_code, 0);
    EXPECT_NE(get("http://127.0.0.1:8080/").exit_code, 0);
    // The next container that publishes a port puts it all back.
    start({"--name", "web2", "--network", "app", "-p", "8081:80", "busybox", "sh", "-c", kWeb});
    wait_web("web2");
    EXPECT_EQ(get("http://127.0.0.1:8080/").out, "hello\n");
    EXPECT_EQ(get("http://127.0.0.1:8081/").out, "hello\n");
    // The resolver killed: the next container on the network starts another.
    auto st = json::parse(read_file(run / "net/state.json"), nullptr, false);
    pid_t resolver = st["networks"]["app"]["resolver"].value("pid", 0);
    ASSERT_GT(resolver, 0);
    ASSERT_EQ(kill(resolver, SIGKILL), 0);
    ASSERT_TRUE(wait_until([&] { return !process_alive(resolver); }, 5s));
    auto r = (*this)({"run", "--rm", "--network", "app", "busybox", "nslookup", "web"});
    EXPECT_TRUE(contains(r.out, "Address: " + ip("web", "app"))) << r;
}

TEST_F(Network, DefaultBridgeNoneAndHost) {
    auto r = (*this)({"run", "--rm", "busybox", "sh", "-c", "cat /etc/resolv.conf; ip -o -4 addr show eth0"});
    if (path_exists("/etc/resolv.conf")) {  // (the fixture's: naming 198.18.0.2)
        EXPECT_TRUE(contains(r.out, "nameserver 198.18.0.2")) << r;  // the host's servers: no names on `bridge`
    }
    EXPECT_TRUE(contains(r.out, "inet 10.90.")) << r;
    auto def = json::parse((*this)({"network", "inspect", "bridge"}).out, nullptr, false);
    EXPECT_EQ(def[0]["Options"]["com.docker.network.bridge.name"], "hako0") << def;
    EXPECT_EQ(def[0]["DNSEnabled"], false);
    auto none = (*this)({"run", "--rm", "--network", "none", "busybox", "ip", "-o", "link"});
    EXPECT_EQ(lines(none.out).size(), 1u) << none;  // only lo
    auto host = (*this)({"run", "--rm", "--network", "host", "busybox", "ip", "-o", "link"});
    EXPECT_EQ(lines(host.out).size(), lines(run_command({"ip", "-o", "link"}).out).size()) << host;
}

}  // namespace
}  // namespace hako::test
