// A build's RUN: a hako container over the parent image's layers (its
// image volumes not mounted, no healthcheck, no log), output to our
// stderr; its upper dir, without the mount points the runtime made, becomes
// the step's layer.
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/scope.hpp"
#include "frontend/build_internal.hpp"
#include "sys/syscalls.hpp"

namespace hako::frontend::bld {

Result<RunResult> run_step(Engine& engine, const image::Image& parent, const RunStep& step, int64_t epoch) {
    RunOptions o;
    o.image = parent.id;
    o.command = step.argv;
    o.entrypoint = "";
    o.env = step.env;
    o.user = step.user;
    o.workdir = step.workdir;
    if (!step.network.empty() && step.network != "default") o.net.networks = {step.network};
    o.mounts = step.mounts;
    o.tmpfs = step.tmpfs;
    o.log_driver = "none";
    o.no_healthcheck = true;
    o.pull = "never";
    o.build = true;
    auto id = HAKO_TRY(engine.create(o));
    ScopeExit gone([&] { (void)engine.remove(id, true, true); });
    // The step's output goes to our stderr: stdout is for the image id.
    UniqueFd saved(::fcntl(1, F_DUPFD_CLOEXEC, 3));
    ::dup2(2, 1);
    auto code = engine.start(id, /*foreground=*/true);
    if (saved) ::dup2(saved.get(), 1);
    RunResult out;
    out.status = HAKO_TRY(std::move(code));
    if (out.status != 0) return out;
    auto rec = HAKO_TRY(engine.load(id));
    auto lowers = HAKO_TRY(engine.lower_dirs(rec));
    std::vector<std::string> dests;
    if (auto cfg = sys::read_file(engine.dir(id) + "/bundle/config.json")) {
        auto j = nlohmann::json::parse(*cfg, nullptr, false);
        if (j.is_object() && j.contains("mounts") && j["mounts"].is_array())
            for (const auto& m : j["mounts"])
                if (m.is_object() && m.contains("destination") && m["destination"].is_string())
                    dests.push_back(m["destination"].get<std::string>());
    }
    std::string upper = engine.upper_dir(id);
    drop_mount_points(upper, lowers, dests);
    HAKO_TRY(sys::mkdir_all(engine.root() + "/build", 0700));
    out.layer = HAKO_TRY(adopt_upper(engine.images(), upper, engine.root() + "/build/" + id + ".layer", epoch));
    return out;
}

}  // namespace hako::frontend::bld
