// Pieces of the config maker shared by spec.cpp and spec_host.cpp.
#pragma once

#include <nlohmann/json.hpp>

#include "frontend/engine.hpp"

namespace hako::frontend {

// "100m", "1g", "512k", "1048576" -> bytes; `flag` names it in errors.
Result<int64_t> parse_bytes(const std::string& s, const char* flag);
// linux.resources from -m, --memory-swap, --memory-reservation, --cpus,
// --cpuset-cpus, --cpu-shares, --blkio-weight, --pids-limit,
// --oom-kill-disable (the devices rules already in `res` are kept).
Status resources(const RunOptions& o, nlohmann::json& res);
// The rest of the host-facing flags: --privileged, --device, --group-add,
// --ulimit, --shm-size, --sysctl, --pid/--ipc/--uts/--cgroupns/--userns,
// --oom-score-adj.
Status apply_host_options(nlohmann::json& spec, const RunOptions& o, const SpecInputs& in);

}  // namespace hako::frontend
