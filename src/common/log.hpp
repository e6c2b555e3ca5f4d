// Logging for both executables: text or runc's JSON lines, to a file or
// stderr; `--debug` adds every setup step with its duration.
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <string>
#include <string_view>

namespace hako::log {

enum class Level { Debug, Info, Warn, Error };

struct Options {
    int fd = 2;          // where log lines go
    bool json = false;   // runc's {"level":…,"msg":…,"time":…}
    bool logrus = false; // runc's text lines: time="…" level=debug msg="…"
    bool debug = false;  // emit Debug lines
};

void configure(const Options& opts);
const Options& options();
inline bool debug_enabled() { return options().debug; }

void write(Level level, std::string_view msg);

template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
    if (debug_enabled()) write(Level::Debug, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
    write(Level::Warn, fmt::format(f, std::forward<Args>(args)...));
}

// Times one setup step; logs "<name> (0.123 ms)" at Debug when it ends.
class Step {
public:
    explicit Step(std::string_view name) {
        if (debug_enabled()) {
            name_ = name;
            start_ = std::chrono::steady_clock::now();
        }
    }
    Step(const Step&) = delete;
    Step& operator=(const Step&) = delete;
    ~Step();

private:
    std::string name_;
    std::chrono::steady_clock::time_point start_{};
};

}  // namespace hako::log
