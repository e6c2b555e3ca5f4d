#include "common/log.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/strings.hpp"

namespace hako::log {
namespace {
Options g_opts;

const char* level_name(Level l) {
    switch (l) {
        case Level::Debug: return "debug";
        case Level::Info: return "info";
        case Level::Warn: return "warning";
        case Level::Error: return "error";
    }
    return "info";
}
}  // namespace

void configure(const Options& opts) { g_opts = opts; }
const Options& options() { return g_opts; }

void write(Level level, std::string_view msg) {
    if (level == Level::Debug && !g_opts.debug) return;
    std::string line;
    if (g_opts.json) {
        nlohmann::json j{{"level", level_name(level)}, {"msg", msg}, {"time", now_rfc3339()}};
        line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else if (g_opts.fd == 2 && level == Level::Error) {
        line = "hako-runtime: ";
        line += msg;
    } else {
        line = fmt::format("{} [{}] {}", now_rfc3339(), level_name(level), msg);
    }
    line += '\n';
    // One write per line so concurrent writers (parent and init) don't interleave.
    ssize_t ignored = ::write(g_opts.fd, line.data(), line.size());
    (void)ignored;
}

Step::~Step() {
    if (name_.empty()) return;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - start_)
                  .count();
    write(Level::Debug, fmt::format("{} ({}.{:03} ms)", name_, us / 1000, us % 1000));
}

}  // namespace hako::log
