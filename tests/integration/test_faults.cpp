// Crashes at any moment: `create` SIGKILLed at each named step
// (HAKO_FAULT=STEP, common/fault.hpp) and during its hooks leaves nothing
// once `delete --force ID` has run: no process, cgroup, mount or state.
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "harness.hpp"

namespace hako::test {
namespace {

using Faults = ContainerTest;

// Processes whose environment holds `token` (the runtime, init, its hooks
// and the container process all carry it).
std::vector<pid_t> processes_with(const std::string& token) {
    std::vector<pid_t> out;
    DIR* d = opendir("/proc");
    if (!d) return out;
    while (dirent* e = readdir(d)) {
        char* end = nullptr;
        long pid = strtol(e->d_name, &end, 10);
        if (pid <= 0 || *end) continue;
        std::ifstream f(std::string("/proc/") + e->d_name + "/environ", std::ios::binary);
        std::string env((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        if (env.find(token) != std::string::npos && process_alive(static_cast<pid_t>(pid)))
            out.push_back(static_cast<pid_t>(pid));
    }
    closedir(d);
    return out;
}

// After `delete --force`: nothing of the container is left.
void expect_nothing_left(Runtime& rt, Bundle& b, const std::string& id, const std::string& token, size_t mounts_before) {
    auto del = rt.remove(id, /*force=*/true);
    EXPECT_TRUE(del.ok()) << del;
    EXPECT_TRUE(wait_until([&] { return processes_with(token).empty(); }, 5s))
        << "process left: pid " << processes_with(token)[0];
    EXPECT_TRUE(cgroups_named({id, "hako-" + id}).empty()) << "cgroup left: " << cgroups_named({id, "hako-" + id})[0];
    EXPECT_EQ(host_mounts().size(), mounts_before) << "mount count changed";
    EXPECT_TRUE(mounts_under(b.dir()).empty());
    EXPECT_TRUE(rt.list_ids().empty()) << rt({"list"});
    EXPECT_FALSE(path_exists(rt.root() + "/" + id)) << "state left";
}

void add_token(Bundle& b, const std::string& token) {
    b.config()["process"]["env"].push_back(token);
}

class Env {
public:
    Env(const char* k, const std::string& v) : k_(k) { ::setenv(k, v.c_str(), 1); }
    ~Env() { ::unsetenv(k_); }

private:
    const char* k_;
};

TEST_F(Faults, CreateKilledAtEachStepLeavesNothingAfterDeleteForce) {
    const std::vector<std::string> steps = {"create:state-dir", "create:recorded", "create:cgroup", "launch:cloned",
                                            "create:hooks",     "launch:ready",    "create:launched", "create:saved"};
    for (const auto& step : steps) {
        SCOPED_TRACE(step);
        Bundle b({"sleep", "1000"});
        std::string id = rt.new_id("fault");
        std::string token = "HAKO_FAULT_TOKEN=" + id;
        add_token(b, token);
        b.config()["hooks"]["prestart"] = {{{"path", "/bin/true"}}};
        b.write();
        size_t mounts = host_mounts().size();
        Result r;
        {
            Env fault("HAKO_FAULT", step);
            Env tok("HAKO_FAULT_TOKEN", id);
            r = rt({"create", "--bundle", b.dir(), id}, with_timeout(30s));
        }
        EXPECT_EQ(r.term_signal, SIGKILL) << "the step was not reached" << r;
        expect_nothing_left(rt, b, id, token, mounts);
    }
}

// Killed while a createRuntime hook runs: the hook dies with it.
TEST_F(Faults, CreateKilledDuringAHookLeavesNoHookRunning) {
    Bundle b({"sleep", "1000"});
    std::string id = rt.new_id("fault");
    std::string token = "HAKO_FAULT_TOKEN=" + id;
    add_token(b, token);
    b.config()["hooks"]["createRuntime"] = {{{"path", "/bin/sleep"}, {"args", {"sleep", "60"}}, {"env", {token}}}};
    b.write();
    size_t mounts = host_mounts().size();
    std::unique_ptr<Child> create;
    {
        Env tok("HAKO_FAULT_TOKEN", id);
        create = rt.spawn({"create", "--bundle", b.dir(), id}, with_timeout(30s));
    }
    // The hook runs: a process of the token that is neither create nor init.
    ASSERT_TRUE(wait_until([&] {
        for (pid_t p : processes_with(token))
            if (p != create->pid() && contains(read_file("/proc/" + std::to_string(p) + "/cmdline"), "sleep"))
                return true;
        return false;
    }, 10s));
    ::kill(create->pid(), SIGKILL);
    auto r = create->wait();
    EXPECT_EQ(r.term_signal, SIGKILL) << r;
    expect_nothing_left(rt, b, id, token, mounts);
}

// A later `run` of the same id works once it is deleted (nothing half-made
// stands in its way).
TEST_F(Faults, TheIdIsFreeAgainAfterDeleteForce) {
    Bundle b({"true"});
    std::string id = rt.new_id("fault");
    b.write();
    {
        Env fault("HAKO_FAULT", "launch:cloned");
        (void)rt({"create", "--bundle", b.dir(), id}, with_timeout(30s));
    }
    EXPECT_EQ(rt.status(id), "stopped");
    EXPECT_TRUE(rt.remove(id, true).ok());
    auto r = rt.run(b, id, {}, with_timeout(30s));
    EXPECT_TRUE(r.ok()) << r;
}

}  // namespace
}  // namespace hako::test
