// linux.resources onto cgroup files: each runtime-spec key to its v1 file
// (memory.limit_in_bytes, cpu.cfs_quota_us, blkio.weight, ...) or its v2
// file (memory.max, cpu.max, io.weight, ...), converted as runc converts.
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <string>

#include "cgroup/cgroup.hpp"
#include "common/log.hpp"
#include "sys/syscalls.hpp"

namespace hako::cgroup {
namespace {

const std::string kBase = "linux.resources.";


// Writes into one controller's directory; errors name the config field.
struct Files {
    std::string dir;   // "" when the host has no such controller
    std::string ctrl;  // for the error

    Status write(const std::string& file, const std::string& value, const std::string& field) const {
        if (dir.empty())
            return error(kBase + field + ": the host has no `" + ctrl + "` cgroup controller");
        log::debug("cgroup: {}/{} = {}", dir, file, value);
        HAKO_TRY_CTX(sys::write_file(dir + "/" + file, value), kBase + field);
        return {};
    }
    [[nodiscard]] std::optional<int64_t> read_int(const std::string& file) const {
        auto s = sys::read_file(dir + "/" + file);
        int64_t n = 0;
        if (!s || std::from_chars(s->data(), s->data() + s->size(), n).ec != std::errc{}) return {};
        return n;
    }
};

std::string num(int64_t v) { return std::to_string(v); }
// v2: a negative limit is "max".
std::string v2_limit(int64_t v) { return v < 0 ? "max" : std::to_string(v); }

Status memory_v1(const Files& f, const oci::MemoryResources& mem) {
    oci::MemoryResources m = mem;
    // An unlimited memory with swap unset: memory+swap unlimited too (runc).
    if (m.limit == -1 && !m.swap && sys::path_exists(f.dir + "/memory.memsw.limit_in_bytes")) m.swap = -1;
    // The kernel keeps memory <= memory+swap at every step: raise whichever
    // must go first (runc's order).
    if (m.limit && m.swap) {
        auto cur = f.read_int("memory.limit_in_bytes");
        bool swap_first = *m.swap == -1 || (cur && *cur < *m.swap);
        if (swap_first) {
            HAKO_TRY(f.write("memory.memsw.limit_in_bytes", num(*m.swap), "memory.swap"));
            HAKO_TRY(f.write("memory.limit_in_bytes", num(*m.limit), "memory.limit"));
        } else {
            HAKO_TRY(f.write("memory.limit_in_bytes", num(*m.limit), "memory.limit"));
            HAKO_TRY(f.write("memory.memsw.limit_in_bytes", num(*m.swap), "memory.swap"));
        }
    } else if (m.limit) {
        HAKO_TRY(f.write("memory.limit_in_bytes", num(*m.limit), "memory.limit"));
    } else if (m.swap) {
        HAKO_TRY(f.write("memory.memsw.limit_in_bytes", num(*m.swap), "memory.swap"));
    }
    if (m.reservation)
        HAKO_TRY(f.write("memory.soft_limit_in_bytes", num(*m.reservation), "memory.reservation"));
    if (m.kernel) {
        // Linux 5.16+ no longer limits kernel memory separately (it is part
        // of the memory limit); runc and crun ignore the setting there too.
        if (auto st = f.write("memory.kmem.limit_in_bytes", num(*m.kernel), "memory.kernel"); !st)
            log::warn("{}: ignored (the kernel has no separate kernel memory limit)", kBase + "memory.kernel");
    }
    if (m.kernel_tcp)
        HAKO_TRY(f.write("memory.kmem.tcp.limit_in_bytes", num(*m.kernel_tcp), "memory.kernelTCP"));
    if (m.swappiness) HAKO_TRY(f.write("memory.swappiness", num(int64_t(*m.swappiness)), "memory.swappiness"));
    if (m.disable_oom_killer && *m.disable_oom_killer)
        HAKO_TRY(f.write("memory.oom_control", "1", "memory.disableOOMKiller"));
    return {};
}

Status memory_v2(const Files& f, const oci::MemoryResources& m) {
    if (m.limit) HAKO_TRY(f.write("memory.max", v2_limit(*m.limit), "memory.limit"));
    if (m.swap) {
        // v2 limits swap alone: memory.swap.max = (memory+swap) - memory.
        // 0 means unset; -1 unlimited (runc's conversion).
        int64_t limit = m.limit.value_or(0);
        if (*m.swap == -1)
            HAKO_TRY(f.write("memory.swap.max", "max", "memory.swap"));
        else if (*m.swap > 0) {
            if (limit <= 0)
                return error(kBase + "memory.swap: cgroup v2 can't limit swap without memory.limit");
            HAKO_TRY(f.write("memory.swap.max", num(*m.swap - limit), "memory.swap"));
        } else if (limit == -1) {
            HAKO_TRY(f.write("memory.swap.max", "max", "memory.swap"));
        }
    }
    if (m.reservation) HAKO_TRY(f.write("memory.low", v2_limit(*m.reservation), "memory.reservation"));
    if (m.swappiness) return error(kBase + "memory.swappiness: not supported on cgroup v2");
    if (m.kernel || m.kernel_tcp)
        log::warn("{}: ignored on cgroup v2 (kernel memory is part of memory.max)",
                  kBase + (m.kernel ? "memory.kernel" : "memory.kernelTCP"));
    if (m.disable_oom_killer && *m.disable_oom_killer)
        log::warn("{}: ignored on cgroup v2 (it has no way to disable the OOM killer)",
                  kBase + "memory.disableOOMKiller");
    return {};
}

Status cpu_v1(const Files& f, const oci::CpuResources& c) {
    if (c.shares) HAKO_TRY(f.write("cpu.shares", num(int64_t(*c.shares)), "cpu.shares"));
    // The kernel checks quota/period against the parent's at each write: in
    // a nested (pod) cgroup with a limit of its own, the first of the two
    // writes may briefly exceed it (EINVAL). Period first (a longer one only
    // lowers the rate); refused, quota first, then period (runc's order).
    bool quota_done = false;
    if (c.period) {
        auto st = f.write("cpu.cfs_period_us", num(int64_t(*c.period)), "cpu.period");
        if (!st && st.error().err == EINVAL && c.quota) {
            HAKO_TRY(f.write("cpu.cfs_quota_us", num(*c.quota), "cpu.quota"));
            quota_done = true;
            st = f.write("cpu.cfs_period_us", num(int64_t(*c.period)), "cpu.period");
        }
        HAKO_TRY(std::move(st));
    }
    if (c.quota && !quota_done) HAKO_TRY(f.write("cpu.cfs_quota_us", num(*c.quota), "cpu.quota"));
    if (c.burst) HAKO_TRY(f.write("cpu.cfs_burst_us", num(int64_t(*c.burst)), "cpu.burst"));
    if (c.realtime_period)
        HAKO_TRY(f.write("cpu.rt_period_us", num(int64_t(*c.realtime_period)), "cpu.realtimePeriod"));
    if (c.realtime_runtime)
        HAKO_TRY(f.write("cpu.rt_runtime_us", num(*c.realtime_runtime), "cpu.realtimeRuntime"));
    if (c.idle) HAKO_TRY(f.write("cpu.idle", num(*c.idle), "cpu.idle"));
    return {};
}

Status cpu_v2(const Files& f, const oci::CpuResources& c) {
    if (c.shares && *c.shares != 0) {
        // runc's mapping of shares [2, 262144] onto weight [1, 10000].
        uint64_t s = std::clamp<uint64_t>(*c.shares, 2, 262144);
        HAKO_TRY(f.write("cpu.weight", std::to_string(1 + ((s - 2) * 9999) / 262142), "cpu.shares"));
    }
    if (c.quota || c.period) {
        // cpu.max is "QUOTA PERIOD": keep the half the config leaves out.
        std::string quota = "max", period = "100000";
        if (auto cur = sys::read_file(f.dir + "/cpu.max")) {
            auto sp = cur->find(' ');
            if (sp != std::string::npos) {
                quota = cur->substr(0, sp);
                period = cur->substr(sp + 1);
                while (!period.empty() && period.back() == '\n') period.pop_back();
            }
        }
        if (c.quota) quota = *c.quota < 0 ? "max" : num(*c.quota);
        if (c.period && *c.period) period = num(int64_t(*c.period));
        HAKO_TRY(f.write("cpu.max", quota + " " + period, c.quota ? "cpu.quota" : "cpu.period"));
    }
    if (c.burst) HAKO_TRY(f.write("cpu.max.burst", num(int64_t(*c.burst)), "cpu.burst"));
    if (c.idle) HAKO_TRY(f.write("cpu.idle", num(*c.idle), "cpu.idle"));
    if (c.realtime_period || c.realtime_runtime)
        return error(kBase + (c.realtime_period ? "cpu.realtimePeriod" : "cpu.realtimeRuntime") +
                     ": realtime scheduling limits are not supported on cgroup v2");
    return {};
}

Status cpuset(const Files& f, const oci::CpuResources& c) {
    if (!c.cpus.empty()) HAKO_TRY(f.write("cpuset.cpus", c.cpus, "cpu.cpus"));
    if (!c.mems.empty()) HAKO_TRY(f.write("cpuset.mems", c.mems, "cpu.mems"));
    return {};
}

std::string devnum(int64_t major, int64_t minor) { return fmt::format("{}:{}", major, minor); }

Status blkio_v1(const Files& f, const oci::BlockIOResources& b) {
    // Kernels with BFQ and without CFQ have blkio.bfq.weight only.
    const bool bfq = !sys::path_exists(f.dir + "/blkio.weight") && sys::path_exists(f.dir + "/blkio.bfq.weight");
    const std::string weight = bfq ? "blkio.bfq.weight" : "blkio.weight";
    if (b.weight) HAKO_TRY(f.write(weight, num(*b.weight), "blockIO.weight"));
    if (b.leaf_weight) HAKO_TRY(f.write("blkio.leaf_weight", num(*b.leaf_weight), "blockIO.leafWeight"));
    for (size_t i = 0; i < b.weight_device.size(); ++i) {
        const auto& d = b.weight_device[i];
        std::string field = fmt::format("blockIO.weightDevice[{}]", i);
        if (d.weight)
            HAKO_TRY(f.write(weight + "_device", devnum(d.major, d.minor) + " " + num(*d.weight), field));
        if (d.leaf_weight)
            HAKO_TRY(f.write("blkio.leaf_weight_device", devnum(d.major, d.minor) + " " + num(*d.leaf_weight),
                             field));
    }
    auto throttle = [&](const std::vector<oci::BlockIOThrottleDevice>& list, const char* file,
                        const char* key) -> Status {
        for (size_t i = 0; i < list.size(); ++i)
            HAKO_TRY(f.write(file, devnum(list[i].major, list[i].minor) + " " + num(int64_t(list[i].rate)),
                             fmt::format("blockIO.{}[{}]", key, i)));
        return {};
    };
    HAKO_TRY(throttle(b.throttle_read_bps, "blkio.throttle.read_bps_device", "throttleReadBpsDevice"));
    HAKO_TRY(throttle(b.throttle_write_bps, "blkio.throttle.write_bps_device", "throttleWriteBpsDevice"));
    HAKO_TRY(throttle(b.throttle_read_iops, "blkio.throttle.read_iops_device", "throttleReadIOPSDevice"));
    HAKO_TRY(throttle(b.throttle_write_iops, "blkio.throttle.write_iops_device", "throttleWriteIOPSDevice"));
    return {};
}

Status io_v2(const Files& f, const oci::BlockIOResources& b) {
    // io.bfq.weight takes blkio's 10..1000 as is; io.weight wants 1..10000.
    const bool bfq = sys::path_exists(f.dir + "/io.bfq.weight");
    auto weight = [&](uint16_t w) { return bfq ? num(w) : num(1 + (int64_t(std::clamp<uint16_t>(w, 10, 1000)) - 10) * 9999 / 990); };
    const std::string wfile = bfq ? "io.bfq.weight" : "io.weight";
    if (b.weight) HAKO_TRY(f.write(wfile, (bfq ? "" : "default ") + weight(*b.weight), "blockIO.weight"));
    if (b.leaf_weight) return error(kBase + "blockIO.leafWeight: not supported on cgroup v2");
    for (size_t i = 0; i < b.weight_device.size(); ++i) {
        const auto& d = b.weight_device[i];
        if (d.weight)
            HAKO_TRY(f.write(wfile, devnum(d.major, d.minor) + " " + weight(*d.weight),
                             fmt::format("blockIO.weightDevice[{}]", i)));
    }
    auto throttle = [&](const std::vector<oci::BlockIOThrottleDevice>& list, const char* key,
                        const char* field) -> Status {
        for (size_t i = 0; i < list.size(); ++i) {
            std::string rate = list[i].rate == 0 ? "max" : num(int64_t(list[i].rate));
            HAKO_TRY(f.write("io.max", fmt::format("{} {}={}", devnum(list[i].major, list[i].minor), key, rate),
                             fmt::format("blockIO.{}[{}]", field, i)));
        }
        return {};
    };
    HAKO_TRY(throttle(b.throttle_read_bps, "rbps", "throttleReadBpsDevice"));
    HAKO_TRY(throttle(b.throttle_write_bps, "wbps", "throttleWriteBpsDevice"));
    HAKO_TRY(throttle(b.throttle_read_iops, "riops", "throttleReadIOPSDevice"));
    HAKO_TRY(throttle(b.throttle_write_iops, "wiops", "throttleWriteIOPSDevice"));
    return {};
}

Status hugetlb(const Files& f, const std::vector<oci::HugepageLimit>& limits, bool v2) {
    for (size_t i = 0; i < limits.size(); ++i) {
        const auto& h = limits[i];
        std::string field = fmt::format("hugepageLimits[{}]", i);
        std::string file = "hugetlb." + h.page_size + (v2 ? ".max" : ".limit_in_bytes");
        if (!f.dir.empty() && !sys::path_exists(f.dir + "/" + file))
            return error(kBase + field + ": the host has no huge pages of size \"" + h.page_size + "\"");
        HAKO_TRY(f.write(file, num(int64_t(h.limit)), field));
    }
    return {};
}

Status network_v1(const Files& cls, const Files& prio, const oci::NetworkResources& n) {
    if (n.class_id) HAKO_TRY(cls.write("net_cls.classid", num(*n.class_id), "network.classID"));
    for (size_t i = 0; i < n.priorities.size(); ++i)
        HAKO_TRY(prio.write("net_prio.ifpriomap", n.priorities[i].name + " " + num(n.priorities[i].priority),
                            fmt::format("network.priorities[{}]", i)));
    return {};
}

Status rdma(const Files& f, const std::map<std::string, oci::RdmaLimit>& limits) {
    for (const auto& [dev, l] : limits) {
        std::string line = dev;
        if (l.hca_handles) line += " hca_handle=" + num(*l.hca_handles);
        if (l.hca_objects) line += " hca_object=" + num(*l.hca_objects);
        HAKO_TRY(f.write("rdma.max", line, "rdma." + dev));
    }
    return {};
}

// memory.checkBeforeUpdate: refuse a limit below what is in use now.
Status check_memory_update(const Files& f, bool v2, int64_t limit) {
    auto usage = f.read_int(v2 ? "memory.current" : "memory.usage_in_bytes");
    if (limit >= 0 && usage && *usage > limit)
        return error(fmt::format("{}memory.limit: {} is below the current usage {} (checkBeforeUpdate)", kBase,
                                 limit, *usage));
    return {};
}

}  // namespace

Status Cgroup::apply(const oci::Resources& r, const std::vector<oci::Device>& devices, bool update) const {
    auto files = [this](const std::string& ctrl) { return Files{dir_for(ctrl), ctrl}; };
    if (!r.devices.empty() || !update) {
        auto rules = effective_device_rules(r, devices);
        if (!rules.empty()) {
            if (v2_) HAKO_TRY(apply_devices_v2(unified_, rules));
            else {
                std::string d = dir_for("devices");
                if (d.empty()) return error(kBase + "devices: the host has no `devices` cgroup controller");
                HAKO_TRY(apply_devices_v1(d, rules));
            }
        }
    }
    if (r.memory) {
        auto f = files("memory");
        if (update && r.memory->check_before_update.value_or(false) && r.memory->limit)
            HAKO_TRY(check_memory_update(f, v2_, *r.memory->limit));
        HAKO_TRY(v2_ ? memory_v2(f, *r.memory) : memory_v1(f, *r.memory));
    }
    if (r.cpu) {
        HAKO_TRY(v2_ ? cpu_v2(files("cpu"), *r.cpu) : cpu_v1(files("cpu"), *r.cpu));
        HAKO_TRY(cpuset(files("cpuset"), *r.cpu));
    }
    if (r.pids_limit) {
        std::string v = *r.pids_limit <= 0 ? "max" : num(*r.pids_limit);
        HAKO_TRY(files("pids").write("pids.max", v, "pids.limit"));
    }
    if (r.block_io) HAKO_TRY(v2_ ? io_v2(files("io"), *r.block_io) : blkio_v1(files("blkio"), *r.block_io));
    if (!r.hugepage_limits.empty()) HAKO_TRY(hugetlb(files("hugetlb"), r.hugepage_limits, v2_ || dir_for("hugetlb") == unified_));
    if (r.network && (r.network->class_id || !r.network->priorities.empty())) {
        if (v2_) return error(kBase + "network: cgroup v2 has no net_cls/net_prio controllers");
        HAKO_TRY(network_v1(files("net_cls"), files("net_prio"), *r.network));
    }
    if (!r.rdma.empty()) HAKO_TRY(rdma(files("rdma"), r.rdma));
    if (!r.unified.empty()) {
        if (unified_.empty())
            return error("invalid configuration: " + kBase +
                         "unified: cannot use unified on cgroup v1 (the host has no cgroup v2 hierarchy)");
        Files f{unified_, "unified"};
        for (const auto& [key, value] : r.unified) {
            if (!sys::path_exists(unified_ + "/" + key))
                return error(kBase + "unified." + key + ": no such file in `" + unified_ +
                             "` (is its controller enabled?)");
            HAKO_TRY(f.write(key, value, "unified." + key));
        }
    }
    return {};
}

}  // namespace hako::cgroup
