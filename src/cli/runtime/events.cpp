// events [--stats] [--interval 5s] ID: runc's container events as JSON lines.
#include <iostream>

#include "cli/runtime/commands.hpp"

namespace hako::cli {
namespace {

// A Go duration as runc takes it ("5s", "100ms", "1m30s", "2") in ms.
Result<int> parse_duration_ms(const std::string& s) {
    if (s.empty()) return error("--interval: empty duration");
    double total = 0;
    size_t i = 0;
    while (i < s.size()) {
        size_t j = i;
        while (j < s.size() && (isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) ++j;
        if (j == i) return error("--interval: invalid duration \"" + s + "\"");
        double v = std::stod(s.substr(i, j - i));
        size_t k = j;
        while (k < s.size() && isalpha(static_cast<unsigned char>(s[k]))) ++k;
        std::string unit = s.substr(j, k - j);
        double ms;
        if (unit == "ms") ms = 1;
        else if (unit == "s" || unit.empty()) ms = 1000;
        else if (unit == "m") ms = 60000;
        else if (unit == "h") ms = 3600000;
        else if (unit == "us" || unit == "µs") ms = 0.001;
        else if (unit == "ns") ms = 0.000001;
        else return error("--interval: unknown unit \"" + unit + "\" in \"" + s + "\"");
        total += v * ms;
        i = k;
    }
    if (total < 1) return error("--interval: duration must be at least 1ms");
    return static_cast<int>(total);
}

}  // namespace

void add_events(CLI::App& app, Globals& g, Action& action) {
    auto* sub = app.add_subcommand("events", "print container events and resource usage as JSON");
    auto id = std::make_shared<std::string>();
    auto stats = std::make_shared<bool>(false);
    auto interval = std::make_shared<std::string>("5s");
    sub->add_flag("--stats", *stats, "print one stats object and exit");
    sub->add_option("--interval", *interval, "time between stats events")->capture_default_str();
    sub->add_option("id", *id, "container id")->required();
    sub->callback([&g, &action, id, stats, interval] {
        action = [&g, id, stats, interval] {
            runtime::EventsOptions opts;
            opts.stats_once = *stats;
            auto ms = parse_duration_ms(*interval);
            if (!ms) return fail(ms.error());
            opts.interval_ms = *ms;
            auto r = runtime::events(g.store(), *id, opts,
                                     [](const std::string& line) { std::cout << line << std::endl; });
            return r ? 0 : fail(r.error());
        };
    });
}

}  // namespace hako::cli
