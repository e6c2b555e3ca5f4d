// The fixture of hako's CLI tests. Each test is its own host: the test
// process moves into a network and mount namespace of its own first, so the
// bridges, nftables tables, sysctls and resolvers hako makes never touch the
// machine's (and die with the test); /etc/resolv.conf there names only
// 198.18.0.2, a test's fake upstream (or nothing), never the real one.
// TearDown removes every container, then fails the test for anything left:
// a mount under the store, a link, hako's nftables table, a resolver, live
// network state.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../integration/harness.hpp"

namespace hako::test {

std::string hako_binary();
// Whether TOOL is on the PATH.
bool have_tool(const char* tool);

class Hako : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;
    // `hako --root STORE args...` ($HAKO_RUNROOT is the test's own).
    Result operator()(std::vector<std::string> args, const SpawnOptions& opts = {});
    // What of hako's networking is still there after `timeout` (a network
    // goes a second after its last container): "" when nothing.
    std::string network_leftovers(std::chrono::milliseconds timeout = 5s);
    TempDir store{"hako-store"};
    TempDir run{"hako-run"};
    TempDir etc{"hako-etc"};
};

// A client machine: a network namespace on a veth pair with the test's host
// (host side `hk-up` 198.18.0.1/24 and 2001:2::1/64, client eth0
// 198.18.0.2/24 and 2001:2::2/64; the client's default route is the host).
class Client {
public:
    Client();
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;
    // argv run in the client's network namespace.
    Result run(std::vector<std::string> argv, const SpawnOptions& opts = {});
    std::unique_ptr<Child> spawn(std::vector<std::string> argv);
    std::string netns() const;  // /proc/PID/ns/net
    // A fake DNS server on 198.18.0.2:53 answering every A query with
    // 198.18.0.99 (the upstream /etc/resolv.conf names); counts queries.
    void serve_dns();
    int dns_queries() const { return queries_; }

private:
    std::unique_ptr<Child> holder_;
    std::thread dns_;
    int dns_fd_ = -1;
    std::atomic<int> queries_{0};
    std::atomic<bool> stop_{false}, bound_{false};
};

}  // namespace hako::test
