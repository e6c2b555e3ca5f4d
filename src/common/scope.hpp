// ScopeExit: run a clean-up unless released (a half-made thing is undone on
// every error path).
#pragma once

#include <utility>

namespace hako {

template <class F>
class [[nodiscard]] ScopeExit {
public:
    explicit ScopeExit(F f) : f_(std::move(f)) {}
    ScopeExit(const ScopeExit&) = delete;
    ScopeExit& operator=(const ScopeExit&) = delete;
    ~ScopeExit() {
        if (active_) f_();
    }
    void release() { active_ = false; }

private:
    F f_;
    bool active_ = true;
};

}  // namespace hako
