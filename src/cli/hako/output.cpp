// --format and --filter for the commands that list or inspect: docker's Go
// templates (src/format), `json`, tables; filters checked by name.
#include <cstdio>

#include "cli/hako/commands.hpp"
#include "format/template.hpp"
#include "sys/syscalls.hpp"

#include <ctime>

namespace hako::cli {

using json = nlohmann::json;

int print_rows(const std::string& format, const std::vector<json>& rows, const json& headers,
               const std::string& default_format) {
    return print_rows(format, rows.size(), [&rows](size_t i) { return rows[i]; }, headers, default_format);
}

int print_rows(const std::string& format, size_t n, const std::function<json(size_t)>& row, const json& headers,
               const std::string& default_format) {
    if (format == "json") {
        json arr = json::array();
        for (size_t i = 0; i < n; ++i) arr.push_back(row(i));
        std::string out = arr.dump(2) + "\n";
        (void)sys::write_all(1, out.data(), out.size());
        return 0;
    }
    auto text = format::render_list(format.empty() ? default_format : format, n, row, headers);
    if (!text) return hako_fail(std::move(text).error().context("--format"));
    (void)sys::write_all(1, text->data(), text->size());
    return 0;
}

int print_inspect(const std::string& format, const std::vector<json>& items) {
    std::string out;
    if (format.empty() || format == "json") {
        json arr = json::array();
        for (const auto& i : items) arr.push_back(i);
        out = arr.dump(4) + "\n";
    } else {
        for (const auto& i : items) {
            auto t = format::render_one(format, i);
            if (!t) return hako_fail(std::move(t).error().context("--format"));
            out += *t;
        }
    }
    (void)sys::write_all(1, out.data(), out.size());
    return 0;
}

Result<Filters> parse_filters(const std::vector<std::string>& items, const std::vector<std::string>& known,
                              const std::string& command) {
    Filters f;
    for (const auto& kv : items) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0)
            return error(command + " --filter `" + kv + "`: expected KEY=VALUE");
        std::string key = kv.substr(0, eq);
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            std::string list;
            for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
            return error(command + " --filter: unknown filter `" + key + "` (" + list + ")");
        }
        f.emplace(key, kv.substr(eq + 1));
    }
    return f;
}

bool filter_any(const Filters& f, const char* key, const std::function<bool(const std::string&)>& test) {
    auto [lo, hi] = f.equal_range(key);
    if (lo == hi) return true;
    for (auto it = lo; it != hi; ++it)
        if (test(it->second)) return true;
    return false;
}

bool label_matches(const std::map<std::string, std::string>& labels, const std::string& want) {
    auto eq = want.find('=');
    auto it = labels.find(want.substr(0, eq));
    if (it == labels.end()) return false;
    return eq == std::string::npos || it->second == want.substr(eq + 1);
}

std::string human_size(double bytes) {
    const char* units[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (bytes >= 1000 && u < 4) {
        bytes /= 1000;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f%s" : "%.3g%s", bytes, units[u]);
    return buf;
}

std::string human_since(const std::string& rfc3339) {
    tm t{};
    if (rfc3339.size() < 19 || !strptime(rfc3339.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &t)) return rfc3339;
    time_t then = timegm(&t), now = time(nullptr);
    long s = static_cast<long>(now - then);
    auto unit = [](long n, const char* one, const char* many) {
        return n == 1 ? std::string(one) : std::to_string(n) + " " + many;
    };
    if (s < 1) return "Less than a second";
    if (s < 60) return unit(s, "1 second", "seconds");
    if (s < 3600) return unit(s / 60, "About a minute", "minutes");
    if (s < 86400) return unit(s / 3600, "About an hour", "hours");
    if (s < 86400 * 14) return unit(s / 86400, "1 day", "days");
    if (s < 86400 * 60) return unit(s / 86400 / 7, "1 week", "weeks");
    if (s < 86400 * 365 * 2) return unit(s / 86400 / 30, "1 month", "months");
    return unit(s / 86400 / 365, "1 year", "years");
}

// --since / --until: an RFC 3339 time, a Unix time, or a duration ago ("10m").
Result<int64_t> time_arg(const std::string& s, const char* flag) {
    if (s.empty()) return 0;
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ns = int64_t(now.tv_sec) * 1000000000 + now.tv_nsec;
    if (s.find_first_not_of("0123456789.") == std::string::npos) return static_cast<int64_t>(std::stod(s) * 1e9);
    if (auto d = frontend::parse_duration(s, flag)) return now_ns - *d;
    tm t{};
    const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &t);
    if (!rest) rest = strptime(s.c_str(), "%Y-%m-%d", &t);
    if (!rest) return error(std::string(flag) + " `" + s + "`: expected a time (2026-12-01T10:00:00Z), a Unix time or a duration (10m)");
    int64_t ns = int64_t(timegm(&t)) * 1000000000;
    if (*rest == '.') {
        std::string frac;
        for (++rest; isdigit(static_cast<unsigned char>(*rest)); ++rest) frac += *rest;
        frac.resize(9, '0');
        ns += std::stoll(frac.substr(0, 9));
    }
    return ns;
}

}  // namespace hako::cli
