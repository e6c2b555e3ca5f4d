// hako-init (`hako run --init`): a minimal PID 1 for the container, as
// docker's tini: it runs the command as its child, forwards every signal it
// gets to it, reaps orphaned zombies, and exits with the command's status
// (128+N for a signal N). Bound read-only at /dev/init.
//
//   argv: /dev/init -- COMMAND [ARG...]   (COMMAND found in $PATH)
//
// Freestanding: no libc, raw syscalls, x86_64 only.
extern "C" {

#include "process/stub/freestanding.hpp"

namespace {

constexpr long kRtSigprocmask = 14, kGetpid = 39, kFork = 57, kExecve = 59, kExit = 60, kWait4 = 61,
               kKill = 62, kRtSigtimedwait = 128, kSetpgid = 109, kIoctl = 16;
constexpr long kSigBlock = 0, kSigSetmask = 2, kWnohang = 1, kEnoent = 2, kEagain = 11, kEintr = 4;
constexpr long kSigchld = 17, kTiocsptrp = 0x5410;  // TIOCSPGRP

bool starts(const char* s, const char* p) {
    while (*p)
        if (*s++ != *p++) return false;
    return true;
}

[[noreturn]] void run_command(char** argv, char** envp) {
    const char* name = argv[0];
    for (const char* c = name; *c; ++c)
        if (*c == '/') {
            sys(kExecve, reinterpret_cast<long>(name), reinterpret_cast<long>(argv), reinterpret_cast<long>(envp));
            put("hako-init: exec ");
            put(name);
            put(" failed\n");
            sys(kExit, 127);
        }
    const char* path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (char** e = envp; *e; ++e)
        if (starts(*e, "PATH=")) path = *e + 5;
    char buf[4096];
    long err = -kEnoent;
    while (*path) {
        unsigned long n = 0;
        while (path[n] && path[n] != ':') ++n;
        unsigned long len = 0;
        for (unsigned long i = 0; i < n && len < sizeof buf - 2; ++i) buf[len++] = path[i];
        if (len == 0) buf[len++] = '.';
        buf[len++] = '/';
        for (const char* c = name; *c && len < sizeof buf - 1; ++c) buf[len++] = *c;
        buf[len] = 0;
        long r = sys(kExecve, reinterpret_cast<long>(buf), reinterpret_cast<long>(argv), reinterpret_cast<long>(envp));
        if (r != -kEnoent) err = r;
        path += n;
        if (*path == ':') ++path;
    }
    put("hako-init: ");
    put(name);
    put(err == -kEnoent ? ": not found\n" : ": cannot execute\n");
    sys(kExit, err == -kEnoent ? 127 : 126);
    __builtin_unreachable();
}

}  // namespace

[[noreturn]] __attribute__((used)) void hako_init_main(long* sp) {
    long argc = sp[0];
    char** argv = reinterpret_cast<char**>(sp + 1);
    char** envp = argv + argc + 1;
    int first = (argc > 1 && argv[1][0] == '-' && argv[1][1] == '-' && !argv[1][2]) ? 2 : 1;
    if (first >= argc) {
        put("usage: /dev/init -- COMMAND [ARG...]\n");
        sys(kExit, 2);
    }
    unsigned long all = ~0UL, old = 0;
    sys(kRtSigprocmask, kSigBlock, reinterpret_cast<long>(&all), reinterpret_cast<long>(&old), 8);
    long child = sys(kFork);
    if (child == 0) {
        sys(kSetpgid, 0, 0);
        sys(kIoctl, 0, kTiocsptrp, reinterpret_cast<long>(&child));  // (a terminal: its foreground group)
        sys(kRtSigprocmask, kSigSetmask, reinterpret_cast<long>(&old), 0, 8);
        run_command(argv + first, envp);
    }
    if (child < 0) {
        put("hako-init: fork failed\n");
        sys(kExit, 125);
    }
    for (;;) {
        unsigned char info[128];
        long sig = sys(kRtSigtimedwait, reinterpret_cast<long>(&all), reinterpret_cast<long>(info), 0, 8);
        if (sig == -kEintr || sig == -kEagain) continue;
        if (sig > 0 && sig != kSigchld) {
            sys(kKill, child, sig);
            continue;
        }
        for (;;) {  // SIGCHLD: reap everything that is done
            int status = 0;
            long pid = sys(kWait4, -1, reinterpret_cast<long>(&status), kWnohang, 0);
            if (pid <= 0) break;
            if (pid == child) {
                int s = status & 0x7f;
                sys(kExit, s ? 128 + s : (status >> 8) & 0xff);
            }
        }
    }
    (void)kGetpid;
}

HAKO_STUB_ENTRY(hako_init_main)

}  // extern "C"
