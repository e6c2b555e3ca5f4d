// The commands that act through the container's cgroup: pause, resume,
// update, ps (its pids) and events.
#include <poll.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "cgroup/cgroup.hpp"
#include "runtime/container.hpp"
#include "common/log.hpp"

namespace hako::runtime {
namespace {

struct Opened {
    ContainerState state;
    ContainerStatus status;
    cgroup::Cgroup cg;
};

// The container, its status and its cgroup; an error if it has none.
Result<Opened> open_with_cgroup(const StateStore& store, const std::string& id) {
    auto dir = HAKO_TRY(store.open(id));
    auto st = HAKO_TRY(dir.load());
    if (st.cgroup_dirs.empty()) return error("container `" + id + "` has no cgroup");
    auto status = status_of(st, dir);
    auto cg = cgroup::Cgroup::from_dirs(st.cgroup_dirs);
    return Opened{std::move(st), status, std::move(cg)};
}

}  // namespace

Status pause(const StateStore& store, const std::string& id) {
    auto c = HAKO_TRY(open_with_cgroup(store, id));
    if (c.status != ContainerStatus::Running)
        return error("container `" + id + "` is " + status_name(c.status) + ", not running: it can't be paused");
    HAKO_TRY_CTX(c.cg.freeze(), "pause `" + id + "`");
    return {};
}

Status resume(const StateStore& store, const std::string& id) {
    auto c = HAKO_TRY(open_with_cgroup(store, id));
    if (c.status != ContainerStatus::Paused)
        return error("container `" + id + "` is " + status_name(c.status) + ", not paused: it can't be resumed");
    HAKO_TRY_CTX(c.cg.thaw(), "resume `" + id + "`");
    return {};
}

Status update(const StateStore& store, const std::string& id, const oci::Resources& r) {
    HAKO_TRY(oci::validate_resources(r));
    auto c = HAKO_TRY(open_with_cgroup(store, id));
    if (c.status == ContainerStatus::Stopped) return error("container `" + id + "` is stopped: nothing to update");
    std::vector<oci::Device> devices;  // linux.devices stay allowed when the rules change
    if (!r.devices.empty()) {
        auto spec = oci::load_spec(c.state.bundle + "/config.json");
        if (spec && spec->linux) devices = spec->linux->devices;
    }
    HAKO_TRY_CTX(c.cg.apply(r, devices, /*update=*/true), "update `" + id + "`");
    return {};
}

Result<std::vector<pid_t>> pids(const StateStore& store, const std::string& id) {
    auto c = HAKO_TRY(open_with_cgroup(store, id));
    if (c.status == ContainerStatus::Stopped) return std::vector<pid_t>{};  // (ps: the header only)
    return c.cg.pids();
}

Status events(const StateStore& store, const std::string& id, const EventsOptions& opts,
              const std::function<void(const std::string&)>& emit) {
    auto c = HAKO_TRY(open_with_cgroup(store, id));  // (the state lock is released here)
    if (c.status == ContainerStatus::Stopped) return error("container `" + id + "` is not running");
    auto event = [&](const char* type, nlohmann::json data) {
        nlohmann::ordered_json j;
        j["type"] = type;
        j["id"] = id;
        if (!data.is_null()) j["data"] = std::move(data);
        emit(j.dump());
    };
    if (opts.stats_once) {
        event("stats", cgroup::stats(c.cg));
        return {};
    }
    auto pidfd = HAKO_TRY(open_init(c.state));
    // OOM kills are looked for often, stats sent every interval.
    constexpr int kOomPollMs = 100;
    uint64_t ooms = c.cg.oom_kills();
    auto next_stats = std::chrono::steady_clock::now();
    for (;;) {
        auto now = std::chrono::steady_clock::now();
        if (now >= next_stats) {
            event("stats", cgroup::stats(c.cg));
            next_stats = now + std::chrono::milliseconds(std::max(opts.interval_ms, 1));
        }
        uint64_t n = c.cg.oom_kills();
        if (n > ooms) {
            ooms = n;
            event("oom", nullptr);
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_stats - now).count();
        pollfd p{pidfd.get(), POLLIN, 0};
        int r = poll(&p, 1, static_cast<int>(std::min<int64_t>(left, kOomPollMs)));
        if (r > 0) break;  // init exited
    }
    // A last look: an OOM kill often is what ended the container.
    if (c.cg.oom_kills() > ooms) event("oom", nullptr);
    return {};
}

}  // namespace hako::runtime
