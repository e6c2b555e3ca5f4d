#include "runtime/state.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cgroup/cgroup.hpp"
#include "process/launcher.hpp"
#include "sys/syscalls.hpp"

namespace hako::runtime {
namespace {
constexpr const char* kStateFile = "state.json";

// Take the container's lock (waiting for other commands on the same id).
Result<UniqueFd> take_lock(int dirfd, const std::string& dirpath) {
    UniqueFd fd(::openat(dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return sys_error("open `" + dirpath + "/lock`");
    struct flock fl{};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    while (fcntl(fd.get(), F_SETLKW, &fl) < 0) {
        if (errno != EINTR) return sys_error("lock `" + dirpath + "`");
    }
    return fd;
}

Status remove_tree(int dirfd) {
    UniqueFd dup(::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dup) return sys_error("open");
    DIR* d = fdopendir(dup.release());
    if (!d) return sys_error("fdopendir");
    while (dirent* e = readdir(d)) {
        std::string_view n = e->d_name;
        if (n == "." || n == "..") continue;
        if (e->d_type == DT_DIR) {
            UniqueFd sub(::openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (sub) (void)remove_tree(sub.get());
            unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
        } else {
            unlinkat(dirfd, e->d_name, 0);
        }
    }
    closedir(d);
    return {};
}
}  // namespace

const char* status_name(ContainerStatus s) {
    switch (s) {
        case ContainerStatus::Creating: return "creating";
        case ContainerStatus::Created: return "created";
        case ContainerStatus::Running: return "running";
        case ContainerStatus::Paused: return "paused";
        case ContainerStatus::Stopped: return "stopped";
    }
    return "unknown";
}

Status validate_id(const std::string& id) {
    if (id.empty()) return error("container id: must not be empty");
    if (id == "." || id == "..") return error("container id `" + id + "`: invalid");
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '+' || c == '-' || c == '.';
        if (!ok) return error("container id `" + id + "`: only [A-Za-z0-9_+.-] are allowed");
    }
    if (id.size() > 1024) return error("container id: too long");
    return {};
}

namespace {

// The poststart and poststop hooks are kept with the state: they run at
// start and delete, whatever has become of the bundle since.
nlohmann::json hooks_to_json(const std::vector<oci::Hook>& hooks) {
    auto out = nlohmann::json::array();
    for (const auto& h : hooks) {
        nlohmann::json j{{"path", h.path}, {"args", h.args}, {"env", h.env}};
        if (h.timeout) j["timeout"] = *h.timeout;
        out.push_back(std::move(j));
    }
    return out;
}

std::vector<oci::Hook> hooks_from_json(const nlohmann::json& j, const char* key) {
    std::vector<oci::Hook> out;
    if (!j.contains(key) || !j[key].is_array()) return out;
    for (const auto& h : j[key]) {
        if (!h.is_object()) continue;
        oci::Hook hook;
        hook.path = h.value("path", "");
        hook.args = h.value("args", std::vector<std::string>{});
        hook.env = h.value("env", std::vector<std::string>{});
        if (h.contains("timeout") && h["timeout"].is_number_integer()) hook.timeout = h["timeout"].get<int>();
        out.push_back(std::move(hook));
    }
    return out;
}

}  // namespace

Status ContainerDir::save(const ContainerState& st) const {
    nlohmann::json j{{"ociVersion", st.oci_version}, {"id", st.id},         {"bundle", st.bundle},
                     {"rootfs", st.rootfs},          {"pid", st.pid},       {"pidStart", st.pid_start},
                     {"created", st.created},        {"owner", st.owner},   {"annotations", st.annotations},
                     {"cgroupDirs", st.cgroup_dirs}};
    if (!st.poststart.empty()) j["poststart"] = hooks_to_json(st.poststart);
    if (!st.poststop.empty()) j["poststop"] = hooks_to_json(st.poststop);
    HAKO_TRY_CTX(sys::write_file_atomic(fd_.get(), kStateFile, j.dump()), "`" + path_ + "`");
    return {};
}

Result<ContainerState> ContainerDir::load() const {
    auto text = HAKO_TRY_CTX(sys::read_file(kStateFile, fd_.get()), "`" + path_ + "`");
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return error("`" + path_ + "/state.json`: corrupt");
    ContainerState st;
    st.oci_version = j.value("ociVersion", "");
    st.id = j.value("id", "");
    st.bundle = j.value("bundle", "");
    st.rootfs = j.value("rootfs", "");
    st.pid = j.value("pid", 0);
    st.pid_start = j.value("pidStart", uint64_t{0});
    st.created = j.value("created", "");
    st.owner = j.value("owner", 0u);
    if (j.contains("cgroupDirs") && j["cgroupDirs"].is_array())
        for (auto& d : j["cgroupDirs"])
            if (d.is_string()) st.cgroup_dirs.push_back(d.get<std::string>());
    if (j.contains("annotations") && j["annotations"].is_object())
        for (auto& [k, v] : j["annotations"].items())
            if (v.is_string()) st.annotations[k] = v.get<std::string>();
    st.poststart = hooks_from_json(j, "poststart");
    st.poststop = hooks_from_json(j, "poststop");
    return st;
}

bool ContainerDir::has_exec_fifo() const {
    struct stat st{};
    return fstatat(fd_.get(), proc::kExecFifo, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

Status ContainerDir::remove() {
    HAKO_TRY_CTX(remove_tree(fd_.get()), "remove `" + path_ + "`");
    if (rmdir(path_.c_str()) < 0 && errno != ENOENT) return sys_error("remove `" + path_ + "`");
    return {};
}

Result<ContainerDir> StateStore::create(const std::string& id) const {
    HAKO_TRY(validate_id(id));
    HAKO_TRY_CTX(sys::mkdir_all(root_, 0711), "create the state root (--root)");
    std::string path = root_ + "/" + id;
    if (mkdir(path.c_str(), 0711) < 0) {
        if (errno == EEXIST) return error("container `" + id + "` already exists");
        return sys_error("create `" + path + "`");
    }
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
    auto lock = fd ? take_lock(fd.get(), path) : sys_error("open `" + path + "`");
    if (!lock) {
        rmdir(path.c_str());
        return std::unexpected(std::move(lock).error());
    }
    return ContainerDir(path, std::move(fd), std::move(*lock));
}

StateStore StateStore::pinned() const {
    StateStore s(root_);
    UniqueFd fd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd) s.root_fd_ = std::make_shared<const UniqueFd>(std::move(fd));
    return s;
}

Result<ContainerDir> StateStore::open(const std::string& id, bool locked) const {
    HAKO_TRY(validate_id(id));
    std::string path = root_ + "/" + id;
    UniqueFd fd(root_fd_ ? ::openat(root_fd_->get(), id.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
                         : ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
        if (errno == ENOENT) return std::unexpected(Error{kNoSuchContainer, "container `" + id + "` does not exist"});
        return sys_error("open `" + path + "`");
    }
    if (!locked) return ContainerDir(path, std::move(fd), UniqueFd());
    auto lock = HAKO_TRY(take_lock(fd.get(), path));
    // Deleted while we waited for the lock? (A directory without state.json
    // is what a create killed early leaves: opened, so delete removes it.)
    struct stat st{};
    if (fstat(fd.get(), &st) < 0 || st.st_nlink == 0)
        return std::unexpected(Error{kNoSuchContainer, "container `" + id + "` does not exist"});
    return ContainerDir(path, std::move(fd), std::move(lock));
}

Result<std::vector<std::string>> StateStore::ids() const {
    std::vector<std::string> out;
    DIR* d = opendir(root_.c_str());
    if (!d) {
        if (errno == ENOENT) return out;
        return sys_error("list `" + root_ + "` (--root)");
    }
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == ".." || e->d_type != DT_DIR) continue;
        struct stat st{};
        if (stat((root_ + "/" + n + "/" + kStateFile).c_str(), &st) == 0) out.push_back(n);
    }
    closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

uint64_t process_start_time(pid_t pid, bool* zombie) {
    if (pid <= 0) return 0;
    auto text = sys::read_kernel_file("/proc/" + std::to_string(pid) + "/stat");
    if (!text) return 0;
    // pid (comm) state ppid ... : comm may hold spaces and parens, so start after the last ')'.
    size_t rp = text->rfind(')');
    if (rp == std::string::npos || rp + 2 >= text->size()) return 0;
    const char* p = text->c_str() + rp + 2;
    if (zombie) *zombie = (*p == 'Z' || *p == 'X');
    // fields from state (3) on; starttime is field 22
    int field = 3;
    while (*p && field < 22) {
        if (*p == ' ') ++field;
        ++p;
    }
    return strtoull(p, nullptr, 10);
}

ContainerStatus status_of(const ContainerState& st, const ContainerDir& dir) {
    bool zombie = false;
    uint64_t start = process_start_time(st.pid, &zombie);
    if (start == 0 || zombie || start != st.pid_start) return ContainerStatus::Stopped;
    if (dir.has_exec_fifo()) return ContainerStatus::Created;
    if (!st.cgroup_dirs.empty() && cgroup::Cgroup::from_dirs(st.cgroup_dirs).frozen())
        return ContainerStatus::Paused;
    return ContainerStatus::Running;
}

}  // namespace hako::runtime
