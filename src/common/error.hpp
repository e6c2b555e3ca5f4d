// Error values: errno plus a chain of context, carried by std::expected.
// No exceptions on the container start-up path: every step returns Result.
#pragma once

#include <cerrno>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace hako {

struct Error {
    int err = 0;       // errno, or 0 when the error is not a failed syscall (< 0: a mark, not shown)
    std::string msg;   // outermost context first: "mount `/proc` on `/r/proc`"

    // "msg: EPERM (Operation not permitted)"
    [[nodiscard]] std::string what() const;

    // Prepend context: error("x").context("step") -> "step: x".
    Error context(std::string_view ctx) &&;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = Result<void>;

// An error from a failed syscall; errno is captured at the call.
inline std::unexpected<Error> sys_error(std::string msg, int e = errno) {
    return std::unexpected(Error{e, std::move(msg)});
}
// An error that is not a syscall's (bad input, unsupported feature...).
inline std::unexpected<Error> error(std::string msg) {
    return std::unexpected(Error{0, std::move(msg)});
}

// Name of an errno value ("EPERM"), or "errno N".
std::string errno_name(int e);

namespace detail {
template <class T>
T unwrap(std::expected<T, Error>&& r) { return std::move(*r); }
inline void unwrap(std::expected<void, Error>&&) {}
}  // namespace detail

}  // namespace hako

// Propagate an error: `auto fd = HAKO_TRY(open_x());` or `HAKO_TRY(step());`.
#define HAKO_TRY(expr)                                                    \
    ({                                                                    \
        auto _hako_r = (expr);                                            \
        if (!_hako_r) return std::unexpected(std::move(_hako_r).error()); \
        ::hako::detail::unwrap(std::move(_hako_r));                       \
    })

// Same, adding context to the error: HAKO_TRY_CTX(step(), "mounts[2]").
#define HAKO_TRY_CTX(expr, ctx)                                                        \
    ({                                                                                 \
        auto _hako_r = (expr);                                                         \
        if (!_hako_r) return std::unexpected(std::move(_hako_r).error().context(ctx)); \
        ::hako::detail::unwrap(std::move(_hako_r));                                    \
    })
