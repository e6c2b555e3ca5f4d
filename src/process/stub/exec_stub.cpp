// hako-exec: the container's init execs into this tiny static program (from a
// sealed memfd) once its setup is done, so that no process of the container
// ever runs the host's hako-runtime binary while the container can reach it
// (CVE-2019-5736: /proc/<init>/exe, `#!/proc/self/exe`). It waits for `start`
// on the exec fifo, then execs the container's process.
//
//   argv: hako-exec f<fifo fd> <path> <argv0> <argv1> ...
//         the exec fifo (an O_PATH fd), reopened through /proc/self/fd to
//         wait: while the stub is dumpable for a moment after its exec, a
//         process of the container that opens the fd finds only the fifo
//   argv: hako-exec <state dir fd> <path> <argv0> ...   (no /proc: the same
//         through the state directory)
//   argv: hako-exec - <path> <argv0> ...    no wait: the process, after
//         startContainer hooks (init waited for `start` itself then)
//   argv: hako-exec -h <path> <argv0> ...   no wait: a hook that init runs
//
// Freestanding: no libc, raw syscalls, x86_64 only (elsewhere the runtime
// waits and execs in init itself).
extern "C" {

#include "process/stub/freestanding.hpp"

namespace {

constexpr long kClose = 3, kExecve = 59, kExit = 60, kPrctl = 157, kOpenat = 257;
constexpr long kOWronly = 01, kOCloexec = 02000000, kAtFdcwd = -100;
constexpr long kPrSetDumpable = 4;

[[noreturn]] void die(const char* what, const char* path, const char* field, long err) {
    char num[24];
    int i = 23;
    num[i] = 0;
    unsigned long e = static_cast<unsigned long>(-err);
    do {
        num[--i] = static_cast<char>('0' + e % 10);
        e /= 10;
    } while (e && i > 0);
    put("hako-runtime: ");
    put(what);
    put(" `");
    put(path);
    put("`");
    put(field);
    put(": errno ");
    put(num + i);
    put("\n");
    sys(kExit, 127);
    __builtin_unreachable();
}

}  // namespace

[[noreturn]] __attribute__((used)) void hako_stub_main(long* sp) {
    long argc = sp[0];
    char** argv = reinterpret_cast<char**>(sp + 1);
    char** envp = argv + argc + 1;
    // Keep /proc/self/fd (the fd we wait with) out of reach while we wait.
    sys(kPrctl, kPrSetDumpable, 0);
    if (argc < 4) die("exec", "(missing arguments)", "", -22);
    bool wait = argv[1][0] != '-', hook = !wait && argv[1][1] == 'h';
    if (wait) {
        bool by_fifo = argv[1][0] == 'f';
        const char* digits = argv[1] + (by_fifo ? 1 : 0);
        long fd = 0;
        for (const char* p = digits; *p; ++p) fd = fd * 10 + (*p - '0');
        long fifo;
        if (by_fifo) {
            char path[40] = "/proc/self/fd/";
            unsigned long n = length(path), i = 0;
            for (; digits[i] && n + i < sizeof path - 1; ++i) path[n + i] = digits[i];
            path[n + i] = 0;
            fifo = sys(kOpenat, kAtFdcwd, reinterpret_cast<long>(path), kOWronly | kOCloexec);
        } else {
            fifo = sys(kOpenat, fd, reinterpret_cast<long>("exec.fifo"), kOWronly | kOCloexec);
        }
        if (fifo < 0) sys(kExit, 1);
        if (sys(kWrite, fifo, reinterpret_cast<long>("0"), 1) != 1) sys(kExit, 1);
        // The fifo stays open until execve closes it (close-on-exec): its EOF
        // tells `start` that the process runs (poststart hooks wait for that).
        sys(kClose, fd);
    }
    long r = sys(kExecve, reinterpret_cast<long>(argv[2]), reinterpret_cast<long>(argv + 3),
                 reinterpret_cast<long>(envp));
    die("exec", argv[2], hook ? "" : " (process.args[0])", r);
}

HAKO_STUB_ENTRY(hako_stub_main)

}  // extern "C"
