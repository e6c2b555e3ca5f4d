#include "common/log.hpp"

#include <unistd.h>

#include <time.h>

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
// logrus's timestamp: RFC 3339 to the second, UTC.
std::string now_seconds_utc() {
    time_t t = time(nullptr);
    struct tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// Go's %q of a string, as logrus quotes a value.
std::string go_quote(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            default:
                if (c < 0x20 || c == 0x7f)
                    out += fmt::format("\\x{:02x}", c);
                else
                    out += static_cast<char>(c);
        }
    }
    return out + "\"";
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
    } else if (g_opts.logrus) {
        line = "time=\"" + now_seconds_utc() + "\" level=" + level_name(level) + " msg=" + go_quote(msg);
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
