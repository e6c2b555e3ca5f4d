// Containers after start: stop, kill, restart, rename, rm, wait, the exit
// record, clean-up, and a stopped container's root mounted for cp/diff.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/fault.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "frontend/engine.hpp"
#include "frontend/volumes.hpp"
#include "runtime/container.hpp"
#include "sys/syscalls.hpp"

namespace hako::frontend {

void Engine::event(const std::string& type, const std::string& action, const std::string& id,
                   const std::map<std::string, std::string>& attributes) const {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    nlohmann::json j{{"Type", type},
                     {"Action", action},
                     {"Actor", {{"ID", id}, {"Attributes", attributes}}},
                     {"time", ts.tv_sec},
                     {"timeNano", int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec}};
    std::string line = j.dump() + "\n";
    // (one write with O_APPEND: lines of several writers never interleave)
    UniqueFd fd(::open(events_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (fd) (void)!::write(fd.get(), line.data(), line.size());
}

Status Engine::cleanup(const std::string& id) const {
    (void)runtime::remove(runtime_store(), id, true);
    // (a failed network teardown stays in the state, for the next command to
    // finish: it must not keep the container from going)
    if (auto d = nets_.detach(id); !d) log::warn("container {}: network teardown: {}", id.substr(0, 12), d.error().what());
    std::string rootfs = dir(id) + "/rootfs";
    if (umount2(rootfs.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return sys_error("unmount `" + rootfs + "`");
    // (the monitor may be writing the exit record meanwhile: an entry that
    // comes or goes during the walk is retried)
    std::error_code ec;
    for (int i = 0; i < 5; ++i) {
        ec.clear();
        std::filesystem::remove_all(dir(id), ec);
        if (!ec || (ec != std::errc::no_such_file_or_directory && ec != std::errc::directory_not_empty)) break;
    }
    if (ec) return error("remove `" + dir(id) + "`: " + ec.message());
    return {};
}

Status Engine::finish(const std::string& id, int code) const {
    auto rec = load(id);
    if (!rec) return nets_.detach(id);  // removed meanwhile (rm -f)
    if (rec->rm) {
        // --rm: its anonymous volumes go with it, as docker's
        Volumes vols(root_);
        auto st = cleanup(id);
        for (const auto& m : rec->mounts)
            if (m.type == "volume" && m.anonymous) (void)vols.remove(m.source);
        return st;
    }
    if (auto d = nets_.detach(id); !d) log::warn("container {}: network teardown: {}", id.substr(0, 12), d.error().what());
    (void)runtime::remove(runtime_store(), id, true);
    umount2((dir(id) + "/rootfs").c_str(), MNT_DETACH);
    (void)::unlink((dir(id) + "/attach.sock").c_str());
    fault_point("exit:unrecorded");
    return update(id, [code](Record& r) {
        r.exit_code = code;
        r.finished = now_rfc3339();
        r.restarting = false;
    });
}

Status Engine::kill(const std::string& ref, int sig) {
    auto v = HAKO_TRY(find(ref));
    if (!v.active()) return error("container `" + ref + "` is " + v.status + ", not running");
    // A container a user kills is not restarted (docker's "manually stopped").
    HAKO_TRY(update(v.record.id, [](Record& r) { r.stop_requested = true; }));
    event("container", "kill", v.record.id, {{"name", v.record.name}, {"signal", std::to_string(sig)}});
    return runtime::kill(runtime_store(), v.record.id, sig, false);
}

Status Engine::stop(const std::string& ref, int timeout_s) {
    auto v = HAKO_TRY(find(ref));
    std::string id = v.record.id;
    if (!v.active() && v.status != "restarting") return {};  // stopped already: fine, as docker
    HAKO_TRY(update(id, [](Record& r) { r.stop_requested = true; }));
    if (timeout_s < 0) timeout_s = v.record.options.stop_timeout >= 0 ? v.record.options.stop_timeout : 10;
    int sig = SIGTERM;
    if (!v.record.stop_signal.empty())
        if (auto s = runtime::parse_signal(v.record.stop_signal)) sig = *s;
    if (v.status == "paused") (void)runtime::resume(runtime_store(), id);
    if (v.active()) (void)runtime::kill(runtime_store(), id, sig, false);
    auto gone = [&] {
        auto r = load(id);
        return !r || (r->exit_code && !r->restarting && !view(*r).active());
    };
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (!gone() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!gone()) {
        (void)runtime::kill(runtime_store(), id, SIGKILL, true);
        for (int i = 0; i < 500 && !gone(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    event("container", "stop", id, {{"name", v.record.name}});
    return {};
}

Status Engine::restart(const std::string& ref, int timeout_s) {
    auto v = HAKO_TRY(find(ref));
    HAKO_TRY(stop(v.record.id, timeout_s));
    auto r = HAKO_TRY(start(v.record.id, false));
    (void)r;
    return {};
}

Status Engine::rename(const std::string& ref, const std::string& name) {
    auto v = HAKO_TRY(find(ref));
    if (v.record.name == name) return error("rename: the container is already called `" + name + "`");
    auto naming = HAKO_TRY(check_name(name));  // (held until it is renamed)
    HAKO_TRY(update(v.record.id, [&name](Record& r) {
        r.name = name;
        r.options.name = name;
    }));
    event("container", "rename", v.record.id, {{"name", name}, {"oldName", v.record.name}});
    return {};
}

Status Engine::remove(const std::string& ref, bool force, bool volumes) {
    auto v = HAKO_TRY(find(ref));
    if ((v.active() || v.status == "restarting") && !force)
        return error("container `" + ref + "` is " + v.status + ": stop it first, or rm -f");
    if (force && (v.active() || v.status == "restarting")) {
        (void)update(v.record.id, [](Record& r) { r.stop_requested = true; });
        (void)runtime::kill(runtime_store(), v.record.id, SIGKILL, true);
    }
    HAKO_TRY(cleanup(v.record.id));
    event("container", "destroy", v.record.id, {{"name", v.record.name}, {"image", v.record.image}});
    if (volumes) {
        Volumes vols(root_);
        for (const auto& m : v.record.mounts)
            if (m.type == "volume" && m.anonymous) (void)vols.remove(m.source);
    }
    return {};
}

Result<int> Engine::wait(const std::string& ref, WaitCondition c) {
    auto v = HAKO_TRY(find(ref));
    std::string id = v.record.id;
    std::string first_finished = v.record.finished;
    for (;;) {
        auto r = load(id);
        if (!r) {
            if (c == WaitCondition::Removed) return v.record.exit_code.value_or(0);
            return error("container `" + ref + "` was removed");
        }
        v.record = *r;
        auto now = view(*r);
        if (c == WaitCondition::NotRunning && !now.active() && now.status != "restarting") return r->exit_code.value_or(0);
        if (c == WaitCondition::NextExit && r->exit_code && r->finished != first_finished) return *r->exit_code;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

Result<std::vector<std::string>> Engine::lower_dirs(const Record& r) {
    auto img = HAKO_TRY_CTX(images_.find(r.image_id), "the container's image");
    std::vector<std::string> out;
    for (auto it = img.layers.rbegin(); it != img.layers.rend(); ++it) out.push_back(images_.layer_dir(*it));
    return out;
}

Result<std::string> Engine::mounted_rootfs(const std::string& id, bool* unmount_after) {
    std::string rootfs = dir(id) + "/rootfs";
    struct statfs sf{};
    *unmount_after = false;
    if (statfs(rootfs.c_str(), &sf) == 0 && sf.f_type == 0x794c7630) return rootfs;
    auto rec = HAKO_TRY(load(id));
    auto img = HAKO_TRY_CTX(images_.find(rec.image_id), "the container's image");
    HAKO_TRY(mount_rootfs(id, img));
    *unmount_after = true;
    return rootfs;
}

}  // namespace hako::frontend
