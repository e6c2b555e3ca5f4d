#include "process/exec_stub.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <string>

#include "common/log.hpp"

#ifdef HAKO_HAVE_EXEC_STUB
namespace hako::proc {
extern const unsigned char kExecStub[];
extern const std::size_t kExecStub_size;
}  // namespace hako::proc
#endif

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

namespace hako::proc {

Result<UniqueFd> sealed_executable(const char* name, const unsigned char* data, std::size_t size) {
    unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
    UniqueFd fd(memfd_create(name, flags | MFD_EXEC));
    if (!fd && errno == EINVAL) fd.reset(memfd_create(name, flags));  // kernel < 6.3
    if (!fd) return sys_error(std::string("memfd_create (") + name + ")");
    const unsigned char* p = data;
    size_t left = size;
    while (left > 0) {
        ssize_t n = ::write(fd.get(), p, left);
        if (n < 0) return sys_error(std::string("write ") + name);
        p += n;
        left -= static_cast<size_t>(n);
    }
    if (fchmod(fd.get(), 0555) < 0) return sys_error(std::string("chmod ") + name);
    if (fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
        return sys_error(std::string("seal ") + name);
    return fd;
}

void exec_through_stub(int stub_fd, const char* mode, const char* path, const std::vector<char*>& argv, char* const* envp) {
    if (stub_fd < 0) return;
    std::vector<char*> sargv{const_cast<char*>("hako-exec"), const_cast<char*>(mode), const_cast<char*>(path)};
    sargv.insert(sargv.end(), argv.begin(), argv.end());  // (with its closing null)
    syscall(SYS_execveat, stub_fd, "", sargv.data(), envp, AT_EMPTY_PATH);
}

Result<UniqueFd> make_exec_stub() {
#ifdef HAKO_HAVE_EXEC_STUB
    log::Step step("exec stub memfd");
    return sealed_executable("hako-exec", kExecStub, kExecStub_size);
#else
    return UniqueFd();
#endif
}

}  // namespace hako::proc
