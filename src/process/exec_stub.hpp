// The exec stub (stub/exec_stub.cpp) as a sealed memfd for init to exec into.
#pragma once

#include "common/error.hpp"
#include "sys/fd.hpp"

namespace hako::proc {

// A sealed, close-on-exec memfd holding the stub; an invalid fd where this
// build has no stub (init then waits and execs by itself).
Result<UniqueFd> make_exec_stub();

}  // namespace hako::proc
