// Fault injection for the crash tests: with HAKO_FAULT=STEP in its
// environment, a process SIGKILLs itself on reaching the point named STEP
// ("create:cgroup", "run:network", ...), so a test can check what a kill at
// that moment leaves behind; with HAKO_FAULT=STEP:stop it stops itself
// there (SIGSTOP) instead, so a test can act while it waits at that moment.
// One getenv per point: nothing on hot paths.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace hako {

inline void fault_point(std::string_view step) {
    static const char* want = std::getenv("HAKO_FAULT");
    if (!want) return;
    std::string_view w = want;
    if (step == w) ::kill(::getpid(), SIGKILL);
    else if (w.size() == step.size() + 5 && w.starts_with(step) && w.ends_with(":stop")) ::kill(::getpid(), SIGSTOP);
}

}  // namespace hako
