// OCI hooks: each runs as a child process with the container's state JSON
// on its stdin, its own args and env, and an optional timeout (seconds).
// Used by the runtime (prestart, createRuntime, poststart, poststop) and by
// init (createContainer before pivot_root, startContainer before execve),
// so it throws nothing.
#pragma once

#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "oci/spec.hpp"

namespace hako::proc {

// Run `hooks` in order; the first failure (exec error, non-zero exit, a
// signal, the timeout) is an error naming `hooks.<kind>[i]` and the path,
// with the start of the hook's output.
Status run_hooks(const std::vector<oci::Hook>& hooks, std::string_view kind, std::string_view state_json);

}  // namespace hako::proc
