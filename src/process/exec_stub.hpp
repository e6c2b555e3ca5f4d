// The exec stub (stub/exec_stub.cpp) as a sealed memfd that init, exec's
// process and the hooks init runs exec through.
#pragma once

#include <cstddef>
#include <vector>

#include "common/error.hpp"
#include "sys/fd.hpp"

namespace hako::proc {

// A sealed, close-on-exec memfd holding the stub; an invalid fd where this
// build has no stub (init then waits and execs by itself).
Result<UniqueFd> make_exec_stub();

// A sealed, read-only, close-on-exec memfd holding the program `data`, to
// execveat(AT_EMPTY_PATH): a stub that no file on the host backs.
Result<UniqueFd> sealed_executable(const char* name, const unsigned char* data, std::size_t size);

// execveat the stub `stub_fd` as `hako-exec MODE PATH ARGV...` (MODE: the
// state directory's fd, to wait for start; "-", the process without a wait;
// "-h", a hook): the stub then execs PATH. `argv` as c_strings makes it
// (ending in a null). Returns only when that fails
// (errno set; a seccomp filter may refuse execveat): exec PATH directly then.
void exec_through_stub(int stub_fd, const char* mode, const char* path, const std::vector<char*>& argv, char* const* envp);

}  // namespace hako::proc
