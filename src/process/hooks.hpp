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

// Run hooks.<kind>[index]: a failure (exec error, non-zero exit, a signal,
// the timeout) is an error naming it and its path, with the start of the
// hook's output. A hook without `env` gets the runtime's environment (as
// in runc and crun); `cwd`, when given, is its working directory.
// `exec_stub`: a hook init runs (createContainer, startContainer) execs
// through the exec stub (exec_stub.hpp), so that no process of the
// container runs the host's binary even for a moment (CVE-2019-5736: a hook
// script in the image whose interpreter is /proc/self/exe); -1: directly.
Status run_hook(const oci::Hook& hook, std::string_view kind, size_t index, std::string_view state_json,
                const std::string& cwd = {}, int exec_stub = -1);
// Run `hooks` in order; the first failure ends it.
Status run_hooks(const std::vector<oci::Hook>& hooks, std::string_view kind, std::string_view state_json,
                 const std::string& cwd = {}, int exec_stub = -1);

}  // namespace hako::proc
