// The registry tests' fixture (see registry_fixture.hpp).
#include "registry_fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

namespace hako::test {
namespace {

std::string tests_dir() { return std::string(HAKO_SOURCE_DIR) + "/tests/registry"; }


bool port_open(int port) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(s);
    return ok;
}

struct Layouts {
    TempDir dir{"hako-layouts"};
    json summary;
    Layouts() {
        auto r = run_command({"/usr/bin/python3", tests_dir() + "/make-layouts.py", dir.path(), fixture_rootfs()});
        if (r.ok()) summary = json::parse(r.out, nullptr, false);
        else ADD_FAILURE() << "make-layouts.py: " << r;
    }
};

Layouts& the_layouts() {
    static Layouts l;
    return l;
}

}  // namespace

const std::string& RegistryTest::layouts() { return the_layouts().dir.path(); }
const json& RegistryTest::summary() { return the_layouts().summary; }

void RegistryTest::SetUp() {
    Hako::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (const char* t : {"docker-registry", "skopeo", "/usr/bin/python3", "htpasswd", "openssl"})
        if (!have_tool(t)) GTEST_SKIP() << "needs " << t << " (scripts/deps.sh installs it)";
    write_file(conf_path(), "");
    setenv("CONTAINERS_REGISTRIES_CONF", conf_path().c_str(), 1);
    setenv("REGISTRY_AUTH_FILE", auth_path().c_str(), 1);
    setenv("DOCKER_CONFIG", (etc / "docker").c_str(), 1);
    unsetenv("HTTPS_PROXY");
    unsetenv("https_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("http_proxy");
    ASSERT_FALSE(layouts().empty());
}

void RegistryTest::TearDown() {
    mocks_.clear();  // (killed and reaped)
    for (const auto& d : registries_) run_command({tests_dir() + "/stop-registry.sh", d});
    registries_.clear();
    Hako::TearDown();
    // Nothing half-made in the store: no scratch directories, no partial layers.
    for (const auto& l : lines(run_command({"sh", "-c", "ls -a " + store.path() + "/layers 2>/dev/null"}).out))
        EXPECT_TRUE(l == "." || l == ".." || l == ".locks" || l.size() == 64) << "left in layers/: " << l;
    unsetenv("CONTAINERS_REGISTRIES_CONF");
    unsetenv("REGISTRY_AUTH_FILE");
    unsetenv("DOCKER_CONFIG");
}

std::string RegistryTest::start_registry(const std::string& mode, int port) {
    std::string dir = etc / fmt::format("registry-{}", port);
    auto r = run_command({tests_dir() + "/start-registry.sh", dir, mode, std::to_string(port)}, with_timeout(30s));
    EXPECT_TRUE(r.ok()) << r;
    registries_.push_back(dir);
    return dir;
}

std::string RegistryTest::cert_dir(const std::string& reg_dir, int port) {
    std::string d = reg_dir + "-certs";
    for (int p : {port, port + 1}) {
        std::string sub = fmt::format("{}/127.0.0.1:{}", d, p);
        run_command({"mkdir", "-p", sub});
        write_file(sub + "/ca.crt", read_file(reg_dir + "/ca.crt"));
    }
    write_file(d + "/ca.crt", read_file(reg_dir + "/ca.crt"));  // (skopeo's --cert-dir: the files directly)
    return d;
}

void RegistryTest::seed(const std::string& layout, const std::string& dest, std::vector<std::string> flags) {
    std::vector<std::string> argv{"skopeo", "copy", "-q", "--preserve-digests"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back("oci:" + layouts() + "/" + layout + ":latest");
    argv.push_back("docker://" + dest);
    auto r = run_command(argv, with_timeout(60s));
    ASSERT_TRUE(r.ok()) << r;
}

std::string RegistryTest::start_mock(int port, const std::string& layout, const std::string& repo, const std::string& faults) {
    std::string log = etc / fmt::format("mock-{}.log", port);
    std::vector<std::string> argv{"/usr/bin/python3", tests_dir() + "/mock_registry.py", "--port", std::to_string(port),
                                  "--layout", layouts() + "/" + layout, "--repo", repo, "--log", log,
                                  "--redirect-port", std::to_string(port + 1)};
    if (!faults.empty()) argv.insert(argv.end(), {"--faults", faults});
    mocks_.push_back(std::make_unique<Child>(argv, with_timeout(300s)));
    EXPECT_TRUE(wait_until([&] { return port_open(port); }, 10s)) << "the mock registry did not start";
    return log;
}

std::vector<json> RegistryTest::log_of(const std::string& path) {
    std::vector<json> out;
    if (!path_exists(path)) return out;
    for (const auto& l : lines(read_file(path))) {
        auto j = json::parse(l, nullptr, false);
        if (!j.is_discarded()) out.push_back(j);
    }
    return out;
}

}  // namespace hako::test
