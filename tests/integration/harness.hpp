// Test harness for the hako-runtime integration tests.
//
// The tests start real containers with the runtime binary under test (the
// compiled-in HAKO_RUNTIME_BIN, or $HAKO_TEST_RUNTIME, e.g. /usr/sbin/runc) and
// check from inside, with busybox commands, that each feature holds.
//
// Everything a test makes is owned by an RAII object and removed when the test
// ends, pass or fail:
//   TempDir  a directory under /tmp; on destruction anything still mounted
//            below it fails the test (and is detached), then the tree is removed
//   Bundle   a TempDir with config.json (a default config like `runc spec`'s,
//            terminal=false) and, when needed, a private copy of the rootfs
//   Runtime  runs the runtime with a private `--root` state dir; on destruction
//            every container in it is killed and force-deleted, a container
//            process that survives that fails the test and is killed
//   Child    a spawned process in its own process group; killed and reaped on
//            destruction if still running
//
// This file depends on nothing from the engine library (only nlohmann json),
// so it also builds against a runtime that is not this project's.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hako::test {

using json = nlohmann::json;
using namespace std::chrono_literals;

// --- configuration ------------------------------------------------------------

// $HAKO_TEST_RUNTIME if set and non-empty, else the compiled-in HAKO_RUNTIME_BIN.
std::string runtime_binary();
// $HAKO_TEST_ROOTFS if set and non-empty, else the compiled-in HAKO_TEST_ROOTFS
// (the busybox tree tests/fixtures/make-rootfs.sh builds). Shared by all tests:
// containers use it read-only; anything that may write to it gets a copy.
std::string fixture_rootfs();
// $HAKO_TEST_HELPER, else the compiled-in one: tests/fixtures/test_helper.cpp,
// a static binary tests copy into a container's rootfs ("" if none).
std::string test_helper();

// --- running commands -----------------------------------------------------------

struct Result {
    int exit_code = -1;    // exit status, 128+N if killed by signal N, -1 if not run
    int term_signal = 0;   // N if killed by signal N
    bool timed_out = false;
    std::string out;       // everything read from stdout
    std::string err;       // everything read from stderr

    bool ok() const { return exit_code == 0 && !timed_out; }
};
std::ostream& operator<<(std::ostream& os, const Result& r);

struct SpawnOptions {
    std::chrono::milliseconds timeout = 60s;
    // {fd here, fd number in the child}: extra descriptors the child inherits
    // (all others above 2 are closed in the child).
    std::vector<std::pair<int, int>> inherit_fds;
    std::string cwd;  // working directory of the child; empty: inherit
};
inline SpawnOptions with_timeout(std::chrono::milliseconds t) {
    SpawnOptions o;
    o.timeout = t;
    return o;
}

// A process started with fork/exec in a new process group, stdin </dev/null,
// stdout and stderr captured in memory files (memfd), which processes that
// outlive it (a created container) keep writing to harmlessly.
class Child {
public:
    Child(const std::vector<std::string>& argv, const SpawnOptions& opts = {});
    ~Child();  // still running: SIGKILL to its process group, then reap
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    pid_t pid() const { return pid_; }
    bool running();  // not yet exited (does not reap)
    // Waits for exit (up to the spawn timeout from construction; on timeout the
    // process group is killed) and returns the status and the output so far.
    Result wait();

private:
    pid_t pid_ = -1;
    int pidfd_ = -1;
    int out_ = -1, err_ = -1;
    bool reaped_ = false;
    std::chrono::steady_clock::time_point deadline_;
    Result result_;
};

Result run_command(const std::vector<std::string>& argv, const SpawnOptions& opts = {});

// --- files and mounts ------------------------------------------------------------

class TempDir {
public:
    explicit TempDir(std::string_view tag, mode_t mode = 0755);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string operator/(std::string_view rel) const;

private:
    std::string path_;
};

struct MountEntry {
    int id = 0;
    std::string target;
    std::string fstype;
    std::string source;
    std::string options;  // per-mount options (field 6)
};
std::vector<MountEntry> host_mounts();  // /proc/self/mountinfo
// Mounts whose target is `dir` or below it.
std::vector<MountEntry> mounts_under(const std::string& dir);

std::string read_file(const std::string& path);  // throws if unreadable
void write_file(const std::string& path, std::string_view content, mode_t mode = 0644);
bool path_exists(const std::string& path);       // lstat
std::string sha256_file(const std::string& path);
// Directories with one of `names` in any cgroup hierarchy, 5 levels deep at
// most (runtimes name a container's cgroup after its id, hako "hako-ID").
std::vector<std::string> cgroups_named(const std::vector<std::string>& names);
// The process exists and is not a zombie (container inits are reparented to
// the host's init, which may reap them late).
bool process_alive(pid_t pid);

std::string trim(std::string_view s);
std::vector<std::string> lines(std::string_view s);       // trailing '\n' ignored
std::vector<std::string> words(std::string_view s);       // split on whitespace
bool contains(std::string_view haystack, std::string_view needle);
bool contains_line(std::string_view text, std::string_view line);  // exact line, trimmed
// Polls `pred` every 20 ms until it returns true or `timeout` passes.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// --- unix sockets (console socket, seccomp listener) ----------------------------------

// A listening SOCK_STREAM unix socket at `path` (removed with it).
class UnixListener {
public:
    explicit UnixListener(std::string path);
    ~UnixListener();
    UnixListener(const UnixListener&) = delete;
    UnixListener& operator=(const UnixListener&) = delete;
    const std::string& path() const { return path_; }
    // A connection, or -1 if none comes within `timeout` (the caller closes it).
    int accept(std::chrono::milliseconds timeout);

private:
    std::string path_;
    int fd_ = -1;
};
// One message from `sock` and the fd it carries (-1 if none); the text in *data.
int recv_fd(int sock, std::string* data, std::chrono::milliseconds timeout);
// Everything readable from `fd` within `timeout`, until `until` appears in it
// (or EOF / EIO).
std::string read_until(int fd, std::string_view until, std::chrono::milliseconds timeout);

// --- bundles --------------------------------------------------------------------------

// The default config: `runc spec` (OCI 1.0.2) with terminal=false.
json default_config();

class Bundle {
public:
    explicit Bundle(std::vector<std::string> args = {"sh"});

    const std::string& dir() const { return dir_.path(); }
    json& config() { return config_; }
    const json& config() const { return config_; }
    Bundle& args(std::vector<std::string> argv);
    // sh -c SCRIPT
    Bundle& script(const std::string& script) { return args({"sh", "-c", script}); }

    // Creates dir()/name (mode) and returns its absolute path; removed with the bundle.
    std::string host_dir(std::string_view name, mode_t mode = 0755);
    // Appends to config.mounts.
    Bundle& add_mount(json mount);
    Bundle& bind(const std::string& source, const std::string& destination,
                 std::vector<std::string> options = {"rbind", "rw"});
    Bundle& tmpfs(const std::string& destination);

    // A private copy of the fixture rootfs at dir()/rootfs (made on first call;
    // root.path becomes "rootfs", relative to the bundle). Returns its path.
    std::string private_rootfs();
    // private_rootfs() and root.readonly=false.
    std::string writable_rootfs();
    // The absolute path root.path currently names.
    std::string rootfs() const;

    // Writes config.json. If root.path is still the shared fixture but the
    // container might write to it (root.readonly false, a mount destination
    // or process.cwd the runtime would have to create), switches to a private
    // copy first, so the fixture never changes.
    void write();

private:
    bool needs_private_rootfs() const;
    TempDir dir_;
    json config_;
    bool private_ = false;
};

// --- the runtime ------------------------------------------------------------------------

class Runtime {
public:
    Runtime();
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    const std::string& binary() const { return bin_; }
    const std::string& root() const { return root_.path(); }

    // A fresh container id (unique across test processes), remembered for cleanup.
    std::string new_id(std::string_view prefix = "");

    // `BINARY --root ROOT args...`
    Result operator()(const std::vector<std::string>& args, const SpawnOptions& opts = {});
    std::unique_ptr<Child> spawn(const std::vector<std::string>& args, const SpawnOptions& opts = {});

    // `run --bundle DIR [extra...] ID`, `create --bundle DIR [extra...] ID`
    // (both write the bundle's config.json first)
    Result run(Bundle& b, const std::string& id, std::vector<std::string> extra = {},
               const SpawnOptions& opts = {});
    Result create(Bundle& b, const std::string& id, std::vector<std::string> extra = {},
                  const SpawnOptions& opts = {});
    Result start(const std::string& id);
    Result kill(const std::string& id, const std::string& signal = "", bool all = false);
    Result remove(const std::string& id, bool force = false);  // `delete`

    // Parsed `state ID`, or nullopt if it fails or does not print JSON.
    std::optional<json> state(const std::string& id);
    std::string status(const std::string& id);  // state's "status", "" if none
    bool wait_status(const std::string& id, const std::string& status,
                     std::chrono::milliseconds timeout = 10s);
    std::vector<std::string> list_ids();  // `list -q`

private:
    void remember(const std::string& id) { ids_.insert(id); }
    std::string bin_;
    TempDir root_;
    std::set<std::string> ids_;
};

// `run --bundle DIR ID` in the foreground with a private Runtime (state dir),
// returning the container's exit status and output.
Result run_container(Bundle& bundle, const std::string& id = "", const SpawnOptions& opts = {});

// --- test fixture --------------------------------------------------------------------------

// Skips when not root (containers need it), fails when the runtime or the
// rootfs fixture is missing. `rt` is the test's private runtime.
class ContainerTest : public ::testing::Test {
protected:
    void SetUp() override;
    // Runs `bundle` in the foreground in rt under a new id.
    Result run(Bundle& bundle, const SpawnOptions& opts = {});
    Runtime rt;
};

}  // namespace hako::test
