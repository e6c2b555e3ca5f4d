// `hako run` killed (SIGKILL, HAKO_FAULT=STEP) at each step of its way, from
// the container's directory to the runtime's last write: after `hako rm -f
// -v NAME`, or for a container never recorded the next `hako ps -a`, nothing
// is left: no container directory, mount, cgroup, process, link, nftables
// table, resolver, network state or volume. And the image store killed at
// each step of import, load, build and rmi: never a half image, never a
// layer named but missing, nothing left once the command is done again.
#include <dirent.h>
#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "hako_fixture.hpp"

namespace hako::test {
namespace {

using Faults = Hako;

// A process run with HAKO_FAULT=STEP:stop reached STEP: it stopped itself.
bool stops_within(pid_t pid, std::chrono::seconds limit) {
    return wait_until([&] { return contains(read_file("/proc/" + std::to_string(pid) + "/stat"), ") T "); }, limit);
}

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
        if (i >= 2) {
            EXPECT_FALSE(mounts_under(store.path()).empty()) << "no overlay mounted before the kill?";
        }
        if (i >= 3) {
            EXPECT_NE(network_leftovers(0ms), "") << "no network set up before the kill?";
        }
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

namespace hako::test {
namespace {

// What is wrong with the image store at `root`: an image record that does
// not parse, or names a layer that is not there ("" when nothing).
std::string store_damage(const std::string& root) {
    std::string bad;
    for (const auto& f : entries(root + "/images")) {
        if (!f.ends_with(".json") || f[0] == '.') continue;
        auto j = nlohmann::json::parse(read_file(root + "/images/" + f), nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("layers")) {
            bad += "corrupt record " + f + "; ";
            continue;
        }
        for (const auto& l : j["layers"])
            if (!l.is_string() || !std::filesystem::is_directory(root + "/layers/" + l.get<std::string>()))
                bad += f + " names a missing layer " + l.dump() + "; ";
    }
    return bad;
}

// Entries of layers/ that no image names, or that are scratch (.tmp-).
std::vector<std::string> unnamed_layers(const std::string& root) {
    std::set<std::string> named;
    for (const auto& f : entries(root + "/images"))
        if (f.ends_with(".json") && f[0] != '.') {
            auto j = nlohmann::json::parse(read_file(root + "/images/" + f), nullptr, false);
            if (j.is_object() && j.contains("layers"))
                for (const auto& l : j["layers"])
                    if (l.is_string()) named.insert(l.get<std::string>());
        }
    std::vector<std::string> out;
    for (const auto& e : entries(root + "/layers"))
        if (e != ".locks" && !named.count(e)) out.push_back(e);
    return out;
}

TEST_F(Faults, StoreKilledAtEachStepKeepsNoHalfImage) {
    TempDir tmp("store-faults");
    std::string tar = tmp / "rootfs.tar", archive = tmp / "image.tar", ctx = tmp / "ctx";
    ASSERT_EQ(run_command({"tar", "-C", fixture_rootfs(), "-cf", tar, "."}).exit_code, 0);
    std::filesystem::create_directories(ctx);
    write_file(ctx + "/Dockerfile", "FROM imported:1\nRUN echo built > /built\n");
    auto killed = [&](const std::string& step, std::vector<std::string> args) {
        std::vector<std::string> cmd = {"env", "HAKO_FAULT=" + step, hako_binary(), "--root", store.path()};
        cmd.insert(cmd.end(), args.begin(), args.end());
        auto r = run_command(cmd, with_timeout(60s));
        EXPECT_EQ(r.term_signal, SIGKILL) << "HAKO_FAULT=" << step << " never reached: " << r;
        EXPECT_EQ(store_damage(store.path()), "") << "after a kill at " << step;
    };
    auto ok = [&](std::vector<std::string> args) {
        auto r = (*this)(std::move(args));
        EXPECT_EQ(r.exit_code, 0) << r;
        return r;
    };
    auto runs = [&](const std::string& image, const std::string& cmd) {
        auto r = (*this)({"run", "--rm", "--network", "none", image, "sh", "-c", cmd});
        EXPECT_EQ(r.exit_code, 0) << image << ": " << r;
    };
    // import: killed unpacked (a scratch dir left), with the layer in place
    // (not yet named), while moving names, and once saved; then done again.
    for (const char* step : {"store:unpacked", "store:layer", "store:names", "store:saved"}) {
        SCOPED_TRACE(step);
        killed(step, {"import", tar, "imported:1"});
        ok({"import", tar, "imported:1"});
        EXPECT_EQ(unnamed_layers(store.path()), std::vector<std::string>{}) << "after the import done again";
        runs("imported:1", "test -x /bin/sh");
    }
    // load, of an archive of it, the image removed first each time
    ok({"save", "-o", archive, "imported:1"});
    for (const char* step : {"store:unpacked", "store:layer", "store:saved"}) {
        SCOPED_TRACE(std::string("load ") + step);
        ok({"rmi", "imported:1"});
        killed(step, {"load", "-i", archive});
        ok({"load", "-i", archive});
        ok({"image", "prune"});  // (a layer the killed load left unnamed)
        EXPECT_EQ(unnamed_layers(store.path()), std::vector<std::string>{});
        runs("imported:1", "test -x /bin/sh");
    }
    // build: a step's layer adopted, the image saved
    for (const char* step : {"store:layer", "store:saved"}) {
        SCOPED_TRACE(std::string("build ") + step);
        killed(step, {"build", "-t", "built:1", ctx});
        ok({"build", "-t", "built:1", ctx});
        runs("built:1", "grep -q built /built");
    }
    ok({"builder", "prune", "-a"});  // (the build cache's own images)
    // rmi: killed with the record gone (its layer left), and half-way
    // through removing a layer (renamed out of place, not yet deleted)
    killed("rmi:unlinked", {"rmi", "built:1"});
    ok({"image", "prune"});
    EXPECT_EQ(unnamed_layers(store.path()), std::vector<std::string>{}) << "image prune after a killed rmi";
    runs("imported:1", "test -x /bin/sh");
    killed("rmi:pruning", {"rmi", "imported:1"});
    EXPECT_EQ(trim((*this)({"images", "-q", "imported:1"}).out), "") << "the image is gone";
    for (const auto& e : unnamed_layers(store.path()))  // (renamed out of place before its deletion began)
        EXPECT_TRUE(e.starts_with(".tmp-")) << "a layer half removed under its own name: " << e;
    ok({"image", "prune"});
    EXPECT_EQ(unnamed_layers(store.path()), std::vector<std::string>{}) << "a killed removal's layer is left";
    // And a pull of what was half removed finds nothing half there.
    ok({"import", tar, "imported:1"});
    runs("imported:1", "test -x /bin/sh");
}

// The store lock: an rmi that prunes a layer while an import of another
// image with that same layer is under way (its layer found in place, its
// record not yet written: the import stopped there, HAKO_FAULT=…:stop) waits
// for it, and the new image keeps its layer.
TEST_F(Faults, RmiWaitsForAnImportOfTheSameLayer) {
    TempDir tmp("store-race");
    std::string tar = tmp / "rootfs.tar";
    ASSERT_EQ(run_command({"tar", "-C", fixture_rootfs(), "-cf", tar, "."}).exit_code, 0);
    ASSERT_EQ((*this)({"import", tar, "a:1"}).exit_code, 0);
    auto hako = [&](std::vector<std::string> args) {
        std::vector<std::string> cmd = {hako_binary(), "--root", store.path()};
        cmd.insert(cmd.end(), args.begin(), args.end());
        return cmd;
    };
    Child imp({"env", "HAKO_FAULT=store:layer:stop", hako_binary(), "--root", store.path(), "import", tar, "b:1"},
              with_timeout(60s));
    ASSERT_TRUE(stops_within(imp.pid(), 20s))
        << "the import never reached store:layer";
    Child rmi(hako({"rmi", "a:1"}), with_timeout(60s));
    std::this_thread::sleep_for(1s);
    EXPECT_TRUE(rmi.running()) << "rmi did not wait for the import under way: " << rmi.wait();
    kill(imp.pid(), SIGCONT);
    auto ri = imp.wait(), rr = rmi.wait();
    ASSERT_EQ(ri.exit_code, 0) << ri;
    ASSERT_EQ(rr.exit_code, 0) << rr;
    EXPECT_EQ(store_damage(store.path()), "");
    EXPECT_EQ(unnamed_layers(store.path()), std::vector<std::string>{});
    auto r = (*this)({"run", "--rm", "--network", "none", "b:1", "test", "-x", "/bin/sh"});
    EXPECT_EQ(r.exit_code, 0) << r;
}

// Two runs of one name at once: the first, stopped after it checked the
// name and made its directory but before its record says so (run:dir),
// holds the names lock; the second waits for it, then is told the name is
// taken. (Without the lock both made a container `same`.)
TEST_F(Faults, ARunOfANameHoldsItUntilItsRecordIsSaved) {
    auto start = [&](const char* fault) {
        return Child({"env", std::string("HAKO_FAULT=") + fault, hako_binary(), "--root", store.path(), "run", "-d",
                      "--network", "none", "--name", "same", "busybox", "sleep", "60"},
                     with_timeout(60s));
    };
    Child first = start("run:dir:stop");
    ASSERT_TRUE(stops_within(first.pid(), 20s))
        << "the run never reached run:dir";
    Child second = start("");
    std::this_thread::sleep_for(1s);
    EXPECT_TRUE(second.running()) << "the second run did not wait for the first: " << second.wait();
    kill(first.pid(), SIGCONT);
    auto r1 = first.wait(), r2 = second.wait();
    EXPECT_EQ(r1.exit_code, 0) << r1;
    EXPECT_EQ(r2.exit_code, 125) << r2;
    EXPECT_TRUE(contains(r2.err, "the name `same` is in use by container")) << r2;
    EXPECT_EQ(trim((*this)({"ps", "-a", "--format", "{{.Names}}"}).out), "same");
    EXPECT_EQ((*this)({"rm", "-f", "same"}).exit_code, 0);
}

// A container that ended by itself, its monitor stopped after it removed the
// runtime's state and before it wrote down the exit (exit:unrecorded): it is
// running yet to inspect, and `wait` waits for the exit code. (It had read
// "created" there, and `wait` had returned 0 at once.)
TEST_F(Faults, AnExitIsNotOverUntilItsMonitorHasRecordedIt) {
    auto r = run_command({"env", "HAKO_FAULT=exit:unrecorded:stop", hako_binary(), "--root", store.path(), "run", "-d",
                          "--network", "none", "--name", "x", "busybox", "sh", "-c", "exit 3"});
    ASSERT_EQ(r.exit_code, 0) << r;
    auto rec = nlohmann::json::parse(read_file(store.path() + "/containers/" + trim(r.out) + "/container.json"));
    pid_t monitor = rec.at("monitor").at(0).get<pid_t>();
    ASSERT_TRUE(stops_within(monitor, 20s)) << "the monitor never reached exit:unrecorded";
    EXPECT_EQ(trim((*this)({"inspect", "-f", "{{.State.Status}}", "x"}).out), "running");
    Child waiter({hako_binary(), "--root", store.path(), "wait", "x"}, with_timeout(60s));
    std::this_thread::sleep_for(500ms);
    EXPECT_TRUE(waiter.running()) << "wait returned before the exit was recorded: " << waiter.wait();
    kill(monitor, SIGCONT);
    auto w = waiter.wait();
    EXPECT_EQ(trim(w.out), "3") << w;
    EXPECT_EQ(trim((*this)({"inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "x"}).out), "exited 3");
}

}  // namespace
}  // namespace hako::test
