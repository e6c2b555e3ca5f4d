#include "common/strings.hpp"

#include <time.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <string>

namespace hako {

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (start <= s.size()) {
        size_t end = s.find(sep, start);
        if (end == std::string_view::npos) end = s.size();
        if (end > start) out.push_back(s.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::string elide(std::string_view s, size_t max) {
    if (s.size() <= max) return std::string(s);
    return std::string(s.substr(0, max)) + "… (" + std::to_string(s.size()) + " bytes)";
}

std::string now_rfc3339() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    gmtime_r(&ts.tv_sec, &t);
    char buf[64];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
    snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
    return buf;
}

std::vector<std::string_view> fields(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    for (size_t start = 0;;) {
        size_t end = s.find(sep, start);
        out.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) return out;
        start = end + 1;
    }
}

std::string join_strings(const std::vector<std::string>& parts, std::string_view sep) {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i) out += sep;
        out += parts[i];
    }
    return out;
}

Result<int64_t> parse_size(std::string_view s, std::string_view what) {
    auto bad = [&] { return error(std::string(what) + ": invalid size \"" + elide(s, 60) + "\" (e.g. 512m, 1g)"); };
    size_t i = 0, dots = 0;
    double whole = 0, scale = 1;
    bool digits = false;
    for (; i < s.size() && (isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.'); ++i) {
        if (s[i] == '.') {
            if (++dots > 1) return bad();
            continue;
        }
        digits = true;
        if (dots) scale /= 10;
        whole = dots ? whole + (s[i] - '0') * scale : whole * 10 + (s[i] - '0');
    }
    if (!digits) return bad();
    std::string unit(s.substr(i));
    if (!unit.empty() && unit[0] == ' ') unit.erase(0, 1);
    for (auto& c : unit) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    if (unit.size() > 1 && unit.back() == 'b') unit.pop_back();
    if (unit.size() > 1 && unit.back() == 'i') unit.pop_back();
    double mult = 1;
    if (!unit.empty() && unit != "b") {
        static constexpr std::string_view kUnits = "kmgtp";
        auto p = unit.size() == 1 ? kUnits.find(unit[0]) : std::string_view::npos;
        if (p == std::string_view::npos) return bad();
        for (size_t k = 0; k <= p; ++k) mult *= 1024;
    }
    double v = whole * mult;
    if (!std::isfinite(v) || v >= 9.2233720368547758e18) return bad();
    return static_cast<int64_t>(v);
}

}  // namespace hako
