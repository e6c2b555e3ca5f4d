#include "cgroup/cgroup.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "common/strings.hpp"
#include "runtime/log.hpp"
#include "sys/syscalls.hpp"

namespace hako::cgroup {
namespace {

constexpr const char* kRoot = "/sys/fs/cgroup";

struct Hierarchy {
    std::string controllers;  // "cpu,cpuacct"; empty for v2
    std::string mount;        // "/sys/fs/cgroup/cpu,cpuacct"
    std::string own;          // this process's cgroup in it
};

bool exists(const std::string& p) {
    struct stat st{};
    return stat(p.c_str(), &st) == 0;
}

// The hierarchies this process is in, from /proc/self/cgroup.
Result<std::vector<Hierarchy>> hierarchies() {
    std::vector<Hierarchy> out;
    bool v2 = is_pure_v2();
    for (auto& [ctrls, own] : HAKO_TRY(self_memberships())) {
        if (v2) {
            if (ctrls.empty()) out.push_back({"", kRoot, own});
            continue;
        }
        if (ctrls.empty() || ctrls.rfind("name=", 0) == 0) continue;  // v1 only; no named ones
        std::string mount = std::string(kRoot) + "/" + ctrls;
        if (!exists(mount)) continue;
        out.push_back({ctrls, mount, own});
    }
    return out;
}

std::string join_path(const std::string& a, const std::string& b) {
    std::string out = a;
    if (out.empty() || out.back() != '/') out += '/';
    out += (b.size() && b[0] == '/') ? b.substr(1) : b;
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    return out;
}

// cpuset v1: a new cgroup starts with no cpus/mems (and takes no task):
// give every level from the hierarchy's root down to `dir` its parent's.
void inherit_cpuset(const std::string& mount, const std::string& dir) {
    std::string cur = mount;
    const std::string below = dir.substr(mount.size());  // (split's views point into it)
    for (auto comp : split(below, '/')) {
        std::string parent = cur;
        cur += "/" + std::string(comp);
        for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
            auto mine = sys::read_file(cur + "/" + f);
            if (!mine || !(mine->empty() || *mine == "\n")) continue;
            if (auto v = sys::read_file(parent + "/" + f)) (void)sys::write_file(cur + "/" + f, *v);
        }
    }
}

Status write(const std::string& dir, const std::string& file, const std::string& value,
             const std::string& field) {
    if (dir.empty()) return error(field + ": the host has no such cgroup controller");
    log::debug("cgroup: {}/{} = {}", dir, file, value);
    HAKO_TRY_CTX(sys::write_file(dir + "/" + file, value), field);
    return {};
}

}  // namespace

bool is_pure_v2() { return exists(std::string(kRoot) + "/cgroup.controllers"); }

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
    if (v2_) return dirs_.empty() ? "" : dirs_[0];
    auto it = by_ctrl_.find(ctrl);
    return it == by_ctrl_.end() ? "" : it->second;
}

Result<Cgroup> Cgroup::create(const std::string& spec_path, const std::string& id) {
    log::Step step("create cgroups");
    Cgroup cg;
    cg.v2_ = is_pure_v2();
    for (const auto& h : HAKO_TRY(hierarchies())) {
        std::string rel;
        if (spec_path.empty())
            rel = join_path(h.own, "hako-" + id);
        else if (spec_path[0] == '/')
            rel = spec_path;
        else
            rel = join_path(h.own, spec_path);
        std::string dir = join_path(h.mount, rel);
        if (cg.v2_) {
            // Enable every available controller on the way down (not in the leaf).
            std::string ctl;
            if (auto avail = sys::read_file(std::string(kRoot) + "/cgroup.controllers")) {
                if (!avail->empty() && avail->back() == '\n') avail->pop_back();
                for (auto c : split(*avail, ' ')) ctl += (ctl.empty() ? "+" : " +") + std::string(c);
            }
            std::string cur = kRoot;
            for (auto comp : split(rel, '/')) {
                if (!ctl.empty()) (void)sys::write_file(cur + "/cgroup.subtree_control", ctl);
                cur = join_path(cur, std::string(comp));
                HAKO_TRY_CTX(sys::mkdir_all(cur, 0755), "linux.cgroupsPath");
            }
            cg.dirs_.push_back(dir);
            break;
        }
        HAKO_TRY_CTX(sys::mkdir_all(dir, 0755), "linux.cgroupsPath");
        if (h.controllers.find("cpuset") != std::string::npos) inherit_cpuset(h.mount, dir);
        cg.dirs_.push_back(dir);
        for (auto c : split(h.controllers, ',')) cg.by_ctrl_[std::string(c)] = dir;
    }
    return cg;
}

Cgroup Cgroup::from_dirs(std::vector<std::string> dirs) {
    Cgroup cg;
    cg.v2_ = is_pure_v2();
    cg.dirs_ = std::move(dirs);
    return cg;
}

Status Cgroup::apply(const oci::Resources& r) const {
    const std::string base = "linux.resources.";
    if (r.pids_limit) {
        std::string v = *r.pids_limit <= 0 ? "max" : std::to_string(*r.pids_limit);
        HAKO_TRY(write(dir_for("pids"), "pids.max", v, base + "pids.limit"));
    }
    if (r.memory) {
        const auto& m = *r.memory;
        auto val = [&](int64_t x) { return x < 0 ? (v2_ ? std::string("max") : "-1") : std::to_string(x); };
        std::string d = dir_for("memory");
        if (v2_) {
            if (m.limit) HAKO_TRY(write(d, "memory.max", val(*m.limit), base + "memory.limit"));
            if (m.reservation)
                HAKO_TRY(write(d, "memory.low", val(*m.reservation), base + "memory.reservation"));
            if (m.swap) {
                std::string sw = *m.swap < 0 ? "max" : std::to_string(*m.swap - m.limit.value_or(0));
                HAKO_TRY(write(d, "memory.swap.max", sw, base + "memory.swap"));
            }
        } else {
            if (m.limit) HAKO_TRY(write(d, "memory.limit_in_bytes", val(*m.limit), base + "memory.limit"));
            if (m.reservation)
                HAKO_TRY(write(d, "memory.soft_limit_in_bytes", val(*m.reservation),
                               base + "memory.reservation"));
            if (m.swap)
                HAKO_TRY(write(d, "memory.memsw.limit_in_bytes", val(*m.swap), base + "memory.swap"));
        }
    }
    if (r.cpu) {
        const auto& c = *r.cpu;
        std::string d = dir_for("cpu");
        if (v2_) {
            if (c.shares) {
                uint64_t w = *c.shares == 0 ? 100 : 1 + ((*c.shares - 2) * 9999) / 262142;
                HAKO_TRY(write(d, "cpu.weight", std::to_string(w), base + "cpu.shares"));
            }
            if (c.quota || c.period) {
                std::string q = (!c.quota || *c.quota < 0) ? "max" : std::to_string(*c.quota);
                HAKO_TRY(write(d, "cpu.max", q + " " + std::to_string(c.period.value_or(100000)),
                               base + "cpu.quota"));
            }
        } else {
            if (c.shares) HAKO_TRY(write(d, "cpu.shares", std::to_string(*c.shares), base + "cpu.shares"));
            if (c.period)
                HAKO_TRY(write(d, "cpu.cfs_period_us", std::to_string(*c.period), base + "cpu.period"));
            if (c.quota)
                HAKO_TRY(write(d, "cpu.cfs_quota_us", std::to_string(*c.quota), base + "cpu.quota"));
        }
        std::string cs = dir_for("cpuset");
        if (!c.cpus.empty()) HAKO_TRY(write(cs, "cpuset.cpus", c.cpus, base + "cpu.cpus"));
        if (!c.mems.empty()) HAKO_TRY(write(cs, "cpuset.mems", c.mems, base + "cpu.mems"));
    }
    return {};
}

Status Cgroup::add(pid_t pid) const {
    log::Step step("join cgroups");
    for (const auto& d : dirs_)
        HAKO_TRY(sys::write_file(d + "/cgroup.procs", std::to_string(pid)));
    return {};
}

Status Cgroup::destroy() const {
    for (const auto& d : dirs_) {
        for (int i = 0; i < 200; ++i) {
            if (rmdir(d.c_str()) == 0 || errno == ENOENT) break;
            if (errno != EBUSY) return sys_error("remove cgroup `" + d + "`");
            usleep(5000);
        }
    }
    return {};
}

}  // namespace hako::cgroup
