#include "cgroup/cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <string>

#include "common/strings.hpp"
#include "common/log.hpp"
#include "sys/syscalls.hpp"

namespace hako::cgroup {
namespace {

constexpr const char* kRoot = "/sys/fs/cgroup";
constexpr const char* kUnified = "/sys/fs/cgroup/unified";  // hybrid hosts' v2 hierarchy

struct Hierarchy {
    std::string controllers;  // "cpu,cpuacct"; empty for v2
    std::string mount;        // "/sys/fs/cgroup/cpu,cpuacct"
    std::string own;          // this process's cgroup in it
};


// The hierarchies this process is in, from /proc/self/cgroup: the one v2
// hierarchy on a pure v2 host; else every v1 hierarchy of controllers (not
// the named ones) and, on a hybrid host, the unified one last.
Result<std::vector<Hierarchy>> hierarchies(bool v2) {
    std::vector<Hierarchy> out;
    std::optional<Hierarchy> unified;
    for (auto& [ctrls, own] : HAKO_TRY(self_memberships())) {
        if (ctrls.empty()) {
            if (v2) out.push_back({"", kRoot, own});
            else if (sys::path_exists(std::string(kUnified) + "/cgroup.controllers")) unified = Hierarchy{"", kUnified, own};
            continue;
        }
        if (v2 || ctrls.rfind("name=", 0) == 0) continue;
        std::string mount = std::string(kRoot) + "/" + ctrls;
        if (!sys::path_exists(mount)) continue;
        out.push_back({ctrls, mount, own});
    }
    if (unified) out.push_back(*unified);
    return out;
}

std::string join_path(const std::string& a, const std::string& b) {
    std::string out = a;
    if (out.empty() || out.back() != '/') out += '/';
    out += (b.size() && b[0] == '/') ? b.substr(1) : b;
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    return out;
}

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

// cpuset v1: a new cgroup starts with no cpus/mems (and takes no task):
// give every level from the hierarchy's root down to `dir` its parent's.
void inherit_cpuset(const std::string& mount, const std::string& dir) {
    std::string cur = mount;
    const std::string below = dir.substr(mount.size());  // (split's views point into it)
    for (auto comp : split(below, '/')) {
        std::string parent = cur;
        cur.append("/").append(comp);  // (not "/" + ...: a false g++ 12 -Wrestrict)
        for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
            auto mine = sys::read_file(cur + "/" + f);
            if (!mine || !(mine->empty() || *mine == "\n")) continue;
            if (auto v = sys::read_file(parent + "/" + f)) (void)sys::write_file(cur + "/" + f, *v);
        }
    }
}

// A v2 hierarchy: create `rel` below `mount`, enabling on the way down every
// controller each level offers (never in the leaf: it holds processes).
Status make_v2_path(const std::string& mount, const std::string& rel) {
    std::string cur = mount;
    for (auto comp : split(rel, '/')) {
        if (auto avail = sys::read_file(cur + "/cgroup.controllers")) {
            std::string ctl, names = trimmed(*avail);  // (split's views point into it)
            for (auto c : split(names, ' ')) ctl += (ctl.empty() ? "+" : " +") + std::string(c);
            // Fails (EBUSY) in a cgroup with processes other than the root:
            // the controllers are then missing below, and asking for one says so.
            if (!ctl.empty()) (void)sys::write_file(cur + "/cgroup.subtree_control", ctl);
        }
        cur = join_path(cur, std::string(comp));
        HAKO_TRY_CTX(sys::mkdir_all(cur, 0755), "linux.cgroupsPath");
    }
    return {};
}

// A directory of the hybrid host's unified (v2) hierarchy?
bool in_unified(const std::string& d) { return d.rfind(std::string(kUnified) + "/", 0) == 0; }

// Every pid in `dir`'s cgroup.procs and in its descendants'.
void collect_pids(const std::string& dir, std::vector<pid_t>& out) {
    if (auto procs = sys::read_file(dir + "/cgroup.procs")) {
        for (auto p : split(*procs, '\n')) {
            pid_t pid = 0;
            if (std::from_chars(p.data(), p.data() + p.size(), pid).ec == std::errc{} && pid > 0)
                out.push_back(pid);
        }
    }
    DIR* d = opendir(dir.c_str());
    if (!d) return;
    while (dirent* e = readdir(d)) {
        if (e->d_type == DT_DIR && e->d_name[0] != '.') collect_pids(dir + "/" + e->d_name, out);
    }
    closedir(d);
}

// rmdir `dir` after its sub-cgroups (made inside the container), retrying
// while the kernel still counts exiting tasks.
Status remove_tree(const std::string& dir) {
    if (DIR* d = opendir(dir.c_str())) {
        std::vector<std::string> subs;
        while (dirent* e = readdir(d))
            if (e->d_type == DT_DIR && e->d_name[0] != '.') subs.push_back(dir + "/" + e->d_name);
        closedir(d);
        for (const auto& s : subs) HAKO_TRY(remove_tree(s));
    }
    for (int i = 0; i < 400; ++i) {
        if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
        if (errno != EBUSY) break;
        usleep(5000);
    }
    return sys_error("remove cgroup `" + dir + "`");
}

// Read `file` until it says `want` (the freezer settles asynchronously).
Status wait_for_state(const std::string& file, const std::string& want, const std::string& what) {
    for (int i = 0; i < 2000; ++i) {
        auto s = sys::read_file(file);
        if (!s) return std::unexpected(std::move(s).error());
        if (s->find(want) != std::string::npos) return {};
        usleep(i < 100 ? 100 : 2000);
    }
    return error(what + ": `" + file + "` did not reach `" + want + "`");
}

// "key value" lines (memory.events, memory.oom_control): the value of `key`.
uint64_t keyed_value(const std::string& text, std::string_view key) {
    for (auto line : split(text, '\n')) {
        if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ' ')
            continue;
        auto v = line.substr(key.size() + 1);
        uint64_t n = 0;
        std::from_chars(v.data(), v.data() + v.size(), n);
        return n;
    }
    return 0;
}

}  // namespace

bool is_pure_v2() {
    static const bool v2 = sys::path_exists(std::string(kRoot) + "/cgroup.controllers");  // (the host's layout: once)
    return v2;
}

Result<std::vector<Membership>> self_memberships() {
    auto text = HAKO_TRY(sys::read_file("/proc/self/cgroup"));
    std::vector<Membership> out;
    for (auto line : split(text, '\n')) {
        size_t c1 = line.find(':'), c2 = line.find(':', c1 + 1);
        if (c1 == std::string_view::npos || c2 == std::string_view::npos) continue;
        out.push_back({std::string(line.substr(c1 + 1, c2 - c1 - 1)), std::string(line.substr(c2 + 1))});
    }
    return out;
}

std::string Cgroup::dir_for(const std::string& ctrl) const {
    auto it = by_ctrl_.find(ctrl);
    if (it == by_ctrl_.end() && !unified_read_ && !unified_.empty()) {
        // What the unified directory offers, read when first asked for (a
        // status check of a v1 controller never needs it).
        unified_read_ = true;
        if (auto ctrls = sys::read_file(unified_ + "/cgroup.controllers")) {
            std::string names = trimmed(*ctrls);  // (split's views point into it)
            for (auto c : split(names, ' ')) by_ctrl_.emplace(std::string(c), unified_);  // v1 first
        }
        it = by_ctrl_.find(ctrl);
    }
    return it == by_ctrl_.end() ? "" : it->second;
}

std::string Cgroup::unified_dir() const { return unified_; }

// by_ctrl_ and unified_ from dirs_: a v1 directory's controllers are in its
// mount's name; a v2 directory offers what its cgroup.controllers lists.
void Cgroup::index_dirs() {
    by_ctrl_.clear();
    unified_.clear();
    const std::string root = std::string(kRoot) + "/";
    for (const auto& d : dirs_) {
        bool unified = v2_ || in_unified(d);
        if (!unified) {
            if (d.rfind(root, 0) != 0) continue;
            std::string rest = d.substr(root.size());
            std::string mount = rest.substr(0, rest.find('/'));
            for (auto c : split(mount, ',')) by_ctrl_.emplace(std::string(c), d);
            continue;
        }
        unified_ = d;
        unified_read_ = false;  // (its cgroup.controllers: by dir_for, when needed)
    }
}

namespace {

// The container's cgroup in hierarchy h, relative to its mount.
std::string relative_dir(const Hierarchy& h, const std::string& spec_path, const std::string& id) {
    if (spec_path.empty()) return join_path(h.own, "hako-" + id);
    if (spec_path[0] == '/') return spec_path;
    return join_path(h.own, spec_path);
}

}  // namespace

Result<std::vector<std::string>> Cgroup::planned_dirs(const std::string& spec_path, const std::string& id) {
    std::vector<std::string> out;
    for (const auto& h : HAKO_TRY(hierarchies(is_pure_v2())))
        out.push_back(join_path(h.mount, relative_dir(h, spec_path, id)));
    return out;
}

Result<Cgroup> Cgroup::create(const std::string& spec_path, const std::string& id) {
    log::Step step("create cgroups");
    Cgroup cg;
    cg.v2_ = is_pure_v2();
    for (const auto& h : HAKO_TRY(hierarchies(cg.v2_))) {
        std::string rel = relative_dir(h, spec_path, id);
        std::string dir = join_path(h.mount, rel);
        cg.existed_ = cg.existed_ || sys::path_exists(dir);
        if (h.controllers.empty()) {
            auto made = make_v2_path(h.mount, rel);
            if (!made) {
                if (cg.v2_) return std::unexpected(std::move(made).error());
                log::debug("cgroup: no directory in the unified hierarchy: {}", made.error().msg);
                continue;  // hybrid: the v1 controllers still work
            }
        } else {
            HAKO_TRY_CTX(sys::mkdir_all(dir, 0755), "linux.cgroupsPath");
            if (h.controllers.find("cpuset") != std::string::npos) inherit_cpuset(h.mount, dir);
        }
        cg.dirs_.push_back(dir);
    }
    cg.index_dirs();
    // A process cloned into a frozen cgroup never runs: refuse, at once.
    if (cg.frozen_in_effect()) {
        std::string d = cg.v2_ ? cg.unified_ : cg.dir_for("freezer");
        if (!cg.existed_)  // made here, under a frozen parent
            for (const auto& made : cg.dirs_) ::rmdir(made.c_str());
        return error("cgroup `" + d + "` is frozen: thaw it first (linux.cgroupsPath)");
    }
    return cg;
}

bool Cgroup::frozen_in_effect() const {
    // (v2: cgroup.events says whether it, or an ancestor, froze it)
    if (v2_ || (dir_for("freezer").empty() && !unified_.empty())) {
        auto s = sys::read_kernel_file(unified_ + "/cgroup.events");
        return s && s->find("frozen 1") != std::string::npos;
    }
    return frozen();
}

Cgroup Cgroup::from_dirs(std::vector<std::string> dirs) {
    Cgroup cg;
    cg.v2_ = is_pure_v2();
    cg.dirs_ = std::move(dirs);
    cg.index_dirs();
    return cg;
}

Status Cgroup::add(pid_t pid, bool skip_unified) const {
    log::Step step("join cgroups");
    for (const auto& d : dirs_)
        if (!skip_unified || d != unified_) HAKO_TRY(sys::write_file(d + "/cgroup.procs", std::to_string(pid)));
    return {};
}

Status Cgroup::join_self(bool skip_unified) const {
    for (const auto& d : dirs_) {
        if (skip_unified && d == unified_) continue;
        bool v1 = !v2_ && !in_unified(d);
        HAKO_TRY_CTX(sys::write_file(d + (v1 ? "/tasks" : "/cgroup.procs"), "0"), "join cgroup `" + d + "`");
    }
    return {};
}

Result<UniqueFd> Cgroup::open_leaf() const {
    if (unified_.empty()) return UniqueFd();
    UniqueFd fd(::open(unified_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return sys_error("open cgroup `" + unified_ + "`");
    return fd;
}

// v2's cgroup.freeze, or v1's freezer.state; then wait until the kernel
// reports the state reached.
Status Cgroup::set_frozen(bool frozen) const {
    const char* what = frozen ? "freeze" : "thaw";
    if (v2_) {
        HAKO_TRY(sys::write_file(unified_ + "/cgroup.freeze", frozen ? "1" : "0"));
        return wait_for_state(unified_ + "/cgroup.events", frozen ? "frozen 1" : "frozen 0", what);
    }
    std::string d = dir_for("freezer");
    if (d.empty()) return error(std::string(what) + ": the host has no freezer cgroup controller");
    const char* state = frozen ? "FROZEN" : "THAWED";
    HAKO_TRY(sys::write_file(d + "/freezer.state", state));
    return wait_for_state(d + "/freezer.state", state, what);
}

Status Cgroup::freeze() const { return set_frozen(true); }
Status Cgroup::thaw() const { return set_frozen(false); }

bool Cgroup::frozen() const {
    if (v2_) {
        auto s = sys::read_kernel_file(unified_ + "/cgroup.freeze");
        return s && s->rfind("1", 0) == 0;
    }
    std::string d = dir_for("freezer");
    if (d.empty()) return false;
    auto s = sys::read_kernel_file(d + "/freezer.state");
    return s && s->rfind("THAWED", 0) != 0;
}

Result<std::vector<pid_t>> Cgroup::pids() const {
    std::string d = v2_ ? unified_ : dir_for("pids");
    if (d.empty()) d = dir_for("freezer");
    if (d.empty() && !dirs_.empty()) d = dirs_[0];
    if (d.empty()) return error("the container has no cgroup");
    if (!sys::path_exists(d)) return sys_error("cgroup `" + d + "`");
    std::vector<pid_t> out;
    collect_pids(d, out);
    return out;
}

Status Cgroup::signal_all(int sig) const {
    if (v2_ && sig == SIGKILL && sys::path_exists(unified_ + "/cgroup.kill"))
        return sys::write_file(unified_ + "/cgroup.kill", "1");
    // Frozen, nothing forks a process we would miss. Without a freezer, best effort.
    bool was_frozen = frozen();
    bool froze = !was_frozen && freeze().has_value();
    auto pids = this->pids();
    Status st;
    if (pids) {
        for (pid_t p : *pids)
            if (::kill(p, sig) < 0 && errno != ESRCH) st = sys_error("kill " + std::to_string(p));
    } else {
        st = std::unexpected(std::move(pids).error());
    }
    if (froze) (void)thaw();
    return st;
}

Status Cgroup::destroy() const {
    if (frozen()) (void)thaw();  // a frozen task never finishes exiting
    for (const auto& d : dirs_) HAKO_TRY(remove_tree(d));
    return {};
}

uint64_t Cgroup::oom_kills() const {
    std::string d = dir_for("memory");
    if (d.empty()) return 0;
    auto text = sys::read_file(d + (v2_ ? "/memory.events" : "/memory.oom_control"));
    return text ? keyed_value(*text, "oom_kill") : 0;
}

}  // namespace hako::cgroup
