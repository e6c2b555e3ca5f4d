// What the freestanding stubs (exec_stub.cpp, frontend/monitor) share: raw
// x86_64 syscalls, a strlen, writing to stderr, and the _start that calls
// NAME(long* sp). No libc; include inside extern "C".
#pragma once

namespace {

inline long sys(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
    long r;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return r;
}

constexpr long kWrite = 1;

inline unsigned long length(const char* s) {
    unsigned long n = 0;
    while (s[n]) ++n;
    return n;
}

inline void put(const char* s) { sys(kWrite, 2, reinterpret_cast<long>(s), static_cast<long>(length(s))); }

}  // namespace

// _start: the stack pointer (argc, argv..., envp...) to NAME, 16-byte aligned.
#define HAKO_STUB_ENTRY(NAME)          \
    __asm__(".text\n"                  \
            ".globl _start\n"          \
            "_start:\n"                \
            "  xor %rbp, %rbp\n"       \
            "  mov %rsp, %rdi\n"       \
            "  and $-16, %rsp\n"       \
            "  call " #NAME "\n"       \
            "  hlt\n");
