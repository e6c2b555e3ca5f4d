// The exec stub (stub/exec_stub.cpp) as a sealed memfd for init to exec into.
#pragma once

#include <cstddef>

#include "common/error.hpp"
#include "sys/fd.hpp"

namespace hako::proc {

// A sealed, close-on-exec memfd holding the stub; an invalid fd where this
// build has no stub (init then waits and execs by itself).
Result<UniqueFd> make_exec_stub();

// A sealed, read-only, close-on-exec memfd holding the program `data`, to
// execveat(AT_EMPTY_PATH): a stub that no file on the host backs.
Result<UniqueFd> sealed_executable(const char* name, const unsigned char* data, std::size_t size);

}  // namespace hako::proc
