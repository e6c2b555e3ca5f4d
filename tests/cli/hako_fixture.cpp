// The hako CLI tests' fixture and client machine (see hako_fixture.hpp).
#include "hako_fixture.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <dirent.h>
#include <cstring>
#include <filesystem>

namespace hako::test {

std::string hako_binary() {
    const char* e = getenv("HAKO_TEST_HAKO");
    return e && *e ? e : HAKO_BIN;
}

namespace {

std::string link_of(const std::string& path) {
    char buf[256];
    ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

}  // namespace

bool have_tool(const char* tool) {
    return run_command({"sh", "-c", std::string("command -v ") + tool}).exit_code == 0;
}

void Hako::SetUp() {
    if (geteuid() != 0) GTEST_SKIP() << "containers need root";
    // This test's own host: a network and mount namespace.
    ASSERT_EQ(unshare(CLONE_NEWNET | CLONE_NEWNS), 0) << strerror(errno);
    ASSERT_EQ(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0) << strerror(errno);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::strcpy(ifr.ifr_name, "lo");
    ASSERT_EQ(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    ASSERT_EQ(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
    close(s);
    // The only upstream name server: a test's fake one on a client machine.
    write_file(etc / "resolv.conf", "nameserver 198.18.0.2\n");
    if (path_exists("/etc/resolv.conf")) {
        ASSERT_EQ(mount((etc / "resolv.conf").c_str(), "/etc/resolv.conf", nullptr, MS_BIND, nullptr), 0)
            << strerror(errno);
    }
    setenv("HAKO_RUNROOT", run.path().c_str(), 1);
}

void Hako::TearDown() {
    if (IsSkipped()) return;
    auto ids = (*this)({"ps", "-a", "-q"});
    for (const auto& id : lines(ids.out)) (*this)({"rm", "-f", id});
    EXPECT_TRUE(mounts_under(store.path()).empty()) << "mounts left under " << store.path();
    EXPECT_EQ(network_leftovers(), "");
    EXPECT_TRUE(mounts_under(run.path()).empty()) << "mounts left under " << run.path();
}

Result Hako::operator()(std::vector<std::string> args, const SpawnOptions& opts) {
    args.insert(args.begin(), {hako_binary(), "--root", store.path()});
    return run_command(args, opts);
}

std::string Hako::network_leftovers(std::chrono::milliseconds timeout) {
    std::string me = link_of("/proc/self/ns/net");
    auto look = [&] {
        std::string left;
        for (const auto& l : lines(run_command({"ip", "-o", "link", "show"}).out)) {
            auto w = words(l);
            if (w.size() < 2) continue;
            std::string name = w[1].substr(0, w[1].find_first_of("@:"));
            if (name != "lo" && name != "hk-up") left += "link " + name + "; ";
        }
        if (have_tool("nft") && contains(run_command({"nft", "list", "tables"}).out, "inet hako")) left += "nftables table inet hako; ";
        if (DIR* d = opendir("/proc")) {
            while (dirent* e = readdir(d)) {
                if (!isdigit(static_cast<unsigned char>(e->d_name[0]))) continue;
                std::string p = std::string("/proc/") + e->d_name;
                std::string comm;
                try {
                    comm = trim(read_file(p + "/comm"));
                } catch (...) {
                    continue;
                }
                if (comm == "hako-resolver" && link_of(p + "/ns/net") == me) left += "resolver pid " + std::string(e->d_name) + "; ";
            }
            closedir(d);
        }
        if (path_exists(run / "net/state.json")) {
            auto j = json::parse(read_file(run / "net/state.json"), nullptr, false);
            if (!j.is_object() || !j["networks"].empty() || !j["containers"].empty())
                left += "network state " + read_file(run / "net/state.json") + "; ";
        }
        std::error_code ec;
        if (path_exists(run / "netns"))
            for (const auto& e : std::filesystem::directory_iterator(run / "netns", ec))
                left += "netns " + e.path().string() + "; ";
        return left;
    };
    std::string left;
    wait_until([&] { return (left = look()).empty(); }, timeout);
    return left;
}

Client::Client() {
    holder_ = std::make_unique<Child>(std::vector<std::string>{"unshare", "--net", "--", "sleep", "600"});
    std::string host = link_of("/proc/self/ns/net");
    EXPECT_TRUE(wait_until([&] { return link_of(netns()) != host && !link_of(netns()).empty(); }, 5s));
    std::string pid = std::to_string(holder_->pid());
    auto sh = [](const std::string& script) {
        auto r = run_command({"sh", "-c", script});
        EXPECT_EQ(r.exit_code, 0) << script << "\n" << r;
    };
    sh("ip link add hk-up type veth peer name eth0 netns " + pid +
       " && ip addr add 198.18.0.1/24 dev hk-up && ip -6 addr add 2001:2::1/64 dev hk-up nodad && ip link set hk-up up");
    sh("nsenter --net=" + netns() +
       " sh -c 'ip link set lo up && ip addr add 198.18.0.2/24 dev eth0 && ip -6 addr add 2001:2::2/64 dev eth0 nodad"
       " && ip link set eth0 up && ip route add default via 198.18.0.1 && ip -6 route add default via 2001:2::1'");
}

Client::~Client() {
    stop_ = true;
    if (dns_.joinable()) dns_.join();
    holder_.reset();  // its netns goes, and the veth pair with it
}

std::string Client::netns() const { return "/proc/" + std::to_string(holder_->pid()) + "/ns/net"; }

Result Client::run(std::vector<std::string> argv, const SpawnOptions& opts) {
    argv.insert(argv.begin(), {"nsenter", "--net=" + netns(), "--"});
    return run_command(argv, opts);
}

std::unique_ptr<Child> Client::spawn(std::vector<std::string> argv) {
    argv.insert(argv.begin(), {"nsenter", "--net=" + netns(), "--"});
    return std::make_unique<Child>(argv);
}

void Client::serve_dns() {
    int ns = open(netns().c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(ns, 0);
    dns_ = std::thread([this, ns] {
        // (this thread only: a network namespace is per thread)
        if (setns(ns, CLONE_NEWNET) < 0) return;
        close(ns);
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(53);
        inet_pton(AF_INET, "198.18.0.2", &a.sin_addr);
        if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return;
        bound_ = true;
        while (!stop_) {
            pollfd p{s, POLLIN, 0};
            if (poll(&p, 1, 100) <= 0) continue;
            unsigned char q[512];
            sockaddr_in from{};
            socklen_t flen = sizeof from;
            ssize_t n = recvfrom(s, q, sizeof q, 0, reinterpret_cast<sockaddr*>(&from), &flen);
            if (n < 17) continue;
            ++queries_;
            size_t end = 12;
            while (end < static_cast<size_t>(n) && q[end]) end += q[end] + 1u;
            end += 5;  // the root label, type, class
            if (end > static_cast<size_t>(n)) continue;
            std::vector<unsigned char> r(q, q + end);
            r[2] = 0x81;  // QR, RD
            r[3] = 0x80;  // RA
            r[6] = 0, r[7] = 1;                         // one answer
            r[8] = r[9] = r[10] = r[11] = 0;
            bool a_query = q[end - 4] == 0 && q[end - 3] == 1;
            if (!a_query) r[7] = 0;
            else
                for (unsigned char b : {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 18, 0, 99}) r.push_back(b);
            sendto(s, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), flen);
        }
        close(s);
    });
    wait_until([&] { return bound_.load(); }, 5s);
    ASSERT_TRUE(bound_.load()) << "the fake DNS server did not start";
}

}  // namespace hako::test
