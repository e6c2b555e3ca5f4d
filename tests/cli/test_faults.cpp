// `hako run` killed (SIGKILL, HAKO_FAULT=STEP) at each step of its way, from
// the container's directory to the runtime's last write: after `hako rm -f
// -v NAME`, or for a container never recorded the next `hako ps -a`, nothing
// is left: no container directory, mount, cgroup, process, link, nftables
// table, resolver, network state or volume.
#include <dirent.h>
#include <signal.h>

#include <filesystem>

#include "hako_fixture.hpp"

namespace hako::test {
namespace {

using Faults = Hako;

std::vector<std::string> entries(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) out.push_back(e.path().filename());
    return out;
}

// Processes whose command line is exactly `argv` (the container's, made unique).
std::vector<pid_t> processes_running(const std::vector<std::string>& argv) {
    std::string want;
    for (const auto& a : argv) want += a + '\0';
    std::vector<pid_t> out;
    if (DIR* d = opendir("/proc")) {
        while (dirent* e = readdir(d)) {
            if (!isdigit(static_cast<unsigned char>(e->d_name[0]))) continue;
            std::string cmd;
            try {
                cmd = read_file(std::string("/proc/") + e->d_name + "/cmdline");
            } catch (...) {
                continue;
            }
            if (cmd == want && process_alive(atoi(e->d_name))) out.push_back(atoi(e->d_name));
        }
        closedir(d);
    }
    return out;
}

TEST_F(Faults, RunKilledAtEachStepLeavesNothingAfterRmOrGc) {
    // (hako's own steps, then the runtime's: hako runs it in-process)
    // (not create:hooks: hako's specs have none)
    const std::vector<std::string> steps = {"run:dir",          "run:saved",       "run:overlay",   "run:network",
                                            "create:state-dir", "create:recorded", "create:cgroup", "launch:cloned",
                                            "launch:ready",     "create:launched", "create:saved"};
    std::string containers = store / "containers";
    for (size_t i = 0; i < steps.size(); ++i) {
        const std::string& step = steps[i];
        SCOPED_TRACE(step);
        std::string name = "killed" + std::to_string(i);
        std::vector<std::string> argv = {"sleep", std::to_string(7000 + i)};
        std::vector<std::string> cmd = {"env", "HAKO_FAULT=" + step, hako_binary(), "--root", store.path(), "run",
                                        "--name", name, "-p", "127.0.0.1:18080:80", "-v", "/data", "busybox"};
        cmd.insert(cmd.end(), argv.begin(), argv.end());
        auto r = run_command(cmd, with_timeout(30s));
        EXPECT_EQ(r.term_signal, SIGKILL) << r;
        std::vector<std::string> ids;
        for (const auto& e : entries(containers)) ids.push_back(e.starts_with(".new-") ? e.substr(5) : e);
        // (what the kill left is there to clean: the test would see it)
        if (i >= 2) EXPECT_FALSE(mounts_under(store.path()).empty()) << "no overlay mounted before the kill?";
        if (i >= 3) EXPECT_NE(network_leftovers(0ms), "") << "no network set up before the kill?";
        if (step == "run:dir") {
            // Never recorded: not listed, and the listing collects it.
            auto ps = (*this)({"ps", "-a", "--format", "{{.Names}}"});
            EXPECT_EQ(ps.exit_code, 0) << ps;
            EXPECT_FALSE(contains(ps.out, name)) << ps;
        } else {
            auto rm = (*this)({"rm", "-f", "-v", name});
            EXPECT_EQ(rm.exit_code, 0) << rm;
        }
        EXPECT_EQ(entries(containers), std::vector<std::string>{}) << "a container directory is left";
        EXPECT_TRUE(mounts_under(store.path()).empty()) << "mounts left under the store";
        EXPECT_TRUE(mounts_under(run.path()).empty()) << "mounts left under the run root";
        std::vector<std::string> cg;
        for (const auto& id : ids) cg.insert(cg.end(), {id, "hako-" + id});
        EXPECT_TRUE(cg.empty() || cgroups_named(cg).empty()) << "a cgroup is left: " << cgroups_named(cg)[0];
        EXPECT_TRUE(wait_until([&] { return processes_running(argv).empty(); }, 5s)) << "the container's process lives";
        EXPECT_EQ(network_leftovers(), "");
        EXPECT_EQ(trim((*this)({"volume", "ls", "-q"}).out), "") << "a volume is left";
        EXPECT_EQ(trim((*this)({"ps", "-a", "-q"}).out), "");
    }
    // And the name is free again: a run that is not killed works.
    auto ok = (*this)({"run", "--rm", "--name", "killed0", "-p", "127.0.0.1:18080:80", "busybox", "true"});
    EXPECT_EQ(ok.exit_code, 0) << ok;
}

}  // namespace
}  // namespace hako::test
