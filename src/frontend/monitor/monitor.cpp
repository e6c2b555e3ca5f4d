// hako-monitor: what a detached container's monitor execs into once the
// container runs (from a sealed memfd): a few pages instead of the whole of
// hako while it waits. It is the init's parent (and a subreaper): it reaps
// until the init exits, then execs
//     <hako> --root <root> __monitor-exited <id> <exit code>
// which records the exit status and cleans up (--rm).
//
//   argv: hako-monitor <init pid> <hako path> <root> <id>
//
// Freestanding: no libc, raw syscalls, x86_64 only (elsewhere the monitor
// waits as hako itself).
extern "C" {

#include "process/stub/freestanding.hpp"

namespace {

constexpr long kExecve = 59, kExit = 60, kWait4 = 61;
constexpr long kEchild = 10, kEintr = 4;

long number(const char* s) {
    long n = 0;
    for (; *s >= '0' && *s <= '9'; ++s) n = n * 10 + (*s - '0');
    return n;
}

// "137" into buf (which must hold 12).
char* decimal(char* buf, long v) {
    char tmp[12];
    int i = 0;
    do {
        tmp[i++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v && i < 11);
    int j = 0;
    while (i) buf[j++] = tmp[--i];
    buf[j] = 0;
    return buf;
}

}  // namespace

[[noreturn]] __attribute__((used)) void hako_monitor_main(long* sp) {
    long argc = sp[0];
    char** argv = reinterpret_cast<char**>(sp + 1);
    char** envp = argv + argc + 1;
    if (argc < 5) {
        put("hako-monitor: missing arguments\n");
        sys(kExit, 2);
    }
    long init = number(argv[1]);
    long code = 255;  // (init vanished without our seeing its status)
    for (;;) {
        int status = 0;
        long pid = sys(kWait4, -1, reinterpret_cast<long>(&status), 0, 0);
        if (pid == -kEintr) continue;
        if (pid < 0) break;  // -ECHILD: nobody left
        if (pid != init) continue;  // an orphan of the container, reaped
        int sig = status & 0x7f;
        code = sig ? 128 + sig : (status >> 8) & 0xff;
        break;
    }
    (void)kEchild;
    char num[12];
    char root_flag[] = "--root";
    char verb[] = "__monitor-exited";
    char* args[] = {argv[2], root_flag, argv[3], verb, argv[4], decimal(num, code), nullptr};
    long r = sys(kExecve, reinterpret_cast<long>(argv[2]), reinterpret_cast<long>(args), reinterpret_cast<long>(envp));
    put("hako-monitor: exec ");
    put(argv[2]);
    put(" failed\n");
    sys(kExit, r < 0 ? 1 : 0);
    __builtin_unreachable();
}

HAKO_STUB_ENTRY(hako_monitor_main)

}  // extern "C"
