// Runtime state: one directory per container under --root, locked with
// flock so concurrent commands on one id are safe; state.json written
// atomically; the exec fifo marks a created-but-not-started container.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "oci/spec.hpp"
#include "sys/fd.hpp"

namespace hako::runtime {

enum class ContainerStatus { Creating, Created, Running, Paused, Stopped };
const char* status_name(ContainerStatus s);

struct ContainerState {
    std::string oci_version;
    std::string id;
    std::string bundle;
    std::string rootfs;
    pid_t pid = 0;
    uint64_t pid_start = 0;  // /proc/<pid>/stat starttime: guards against pid reuse
    std::string created;     // RFC 3339
    uid_t owner = 0;
    std::map<std::string, std::string> annotations;
    std::vector<std::string> cgroup_dirs;  // the container's cgroup, one per hierarchy
    std::vector<oci::Hook> poststart, poststop;  // run by start and delete
};

// A container's directory, opened and locked for this command. The lock is a
// POSIX record lock on `<dir>/lock`: unlike flock it is not inherited by the
// container's init, which holds the directory fd (O_PATH) until it execs.
class ContainerDir {
public:
    ContainerDir(std::string path, UniqueFd dirfd, UniqueFd lock)
        : path_(std::move(path)), fd_(std::move(dirfd)), lock_(std::move(lock)) {}
    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] int fd() const { return fd_.get(); }  // O_PATH, close-on-exec

    Status save(const ContainerState& st) const;
    [[nodiscard]] Result<ContainerState> load() const;
    [[nodiscard]] bool has_exec_fifo() const;
    // Removes the directory and everything in it.
    Status remove();

private:
    std::string path_;
    UniqueFd fd_;
    UniqueFd lock_;
};

// Error::err of StateStore::open's "container `ID` does not exist" (a mark,
// not an errno: not shown).
inline constexpr int kNoSuchContainer = -3;

class StateStore {
public:
    explicit StateStore(std::string root) : root_(std::move(root)) {}
    [[nodiscard]] const std::string& root() const { return root_; }
    // The same store with its root opened once: ids opened relative to it
    // (a listing opens a thousand), not walked from `/` each time. Without
    // the root (not there yet), as it was.
    [[nodiscard]] StateStore pinned() const;

    // Makes the directory; refuses an existing id.
    Result<ContainerDir> create(const std::string& id) const;
    // Opens the directory holding its lock (for changes).
    Result<ContainerDir> open(const std::string& id, bool lock = true) const;
    // Opens it for reading only, without the lock: state.json is replaced
    // by rename, so a reader sees the old or the new one (state, list).
    Result<ContainerDir> peek(const std::string& id) const { return open(id, false); }
    [[nodiscard]] Result<std::vector<std::string>> ids() const;

private:
    std::string root_;
    std::shared_ptr<const UniqueFd> root_fd_;  // (pinned)
};

// runc's rule: [A-Za-z0-9_+.-]+, not "." or "..".
Status validate_id(const std::string& id);

// The container's status now, from its init process and the exec fifo.
ContainerStatus status_of(const ContainerState& st, const ContainerDir& dir);

// Field 22 of /proc/<pid>/stat; 0 if the process is gone. `zombie` set if it is one.
uint64_t process_start_time(pid_t pid, bool* zombie = nullptr);


}  // namespace hako::runtime
