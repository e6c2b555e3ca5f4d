// The build context's ignore patterns (moby's patternmatcher semantics).
#include "build/ignore.hpp"

#include <vector>

namespace hako::build {
namespace {

// "./a//b/" -> "a/b"; "/a" -> "a"; ".." segments resolved lexically.
std::string clean(std::string_view p) {
    std::vector<std::string> parts;
    size_t i = 0;
    while (i <= p.size()) {
        size_t e = p.find('/', i);
        if (e == std::string_view::npos) e = p.size();
        std::string_view seg = p.substr(i, e - i);
        if (seg == "..") {
            if (!parts.empty()) parts.pop_back();
        } else if (!seg.empty() && seg != ".") {
            parts.emplace_back(seg);
        }
        i = e + 1;
    }
    std::string out;
    for (const auto& s : parts) {
        if (!out.empty()) out += '/';
        out += s;
    }
    return out;
}

// [...] at p[0]: matches c; `len` gets the class's length (0: malformed).
bool char_class(std::string_view p, char c, size_t& len) {
    size_t i = 1;
    bool neg = false;
    if (i < p.size() && (p[i] == '^' || p[i] == '!')) {
        neg = true;
        ++i;
    }
    bool hit = false, first = true;
    while (i < p.size() && (p[i] != ']' || first)) {
        first = false;
        char lo = p[i];
        if (lo == '\\' && i + 1 < p.size()) lo = p[++i];
        char hi = lo;
        if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
            hi = p[i + 2];
            if (hi == '\\' && i + 3 < p.size()) hi = p[++i + 2];
            i += 2;
        }
        if (c >= lo && c <= hi) hit = true;
        ++i;
    }
    if (i >= p.size()) {
        len = 0;
        return false;
    }
    len = i + 1;
    return hit != neg;
}

// Pattern p[i..] against s[j..], memoized: every (i, j) is tried once, so
// many `*` and `**` stay polynomial.
struct Matcher {
    std::string_view p, s;
    std::vector<signed char> memo;  // -1 unknown, 0 no, 1 yes

    bool at(size_t i, size_t j) {
        signed char& m = memo[i * (s.size() + 1) + j];
        if (m < 0) m = compute(i, j) ? 1 : 0;
        return m == 1;
    }

    bool compute(size_t i, size_t j) {
        if (i == p.size()) return j == s.size();
        if (p.substr(i, 2) == "**") {
            size_t r = i + 2;
            if (r < p.size() && p[r] == '/') {
                if (at(r + 1, j)) return true;  // zero directories
                for (size_t k = j; k < s.size(); ++k)
                    if (s[k] == '/' && at(r + 1, k + 1)) return true;
                return false;
            }
            for (size_t k = j; k <= s.size(); ++k)
                if (at(r, k)) return true;
            return false;
        }
        char c = p[i];
        if (c == '*') {
            for (size_t k = j; k <= s.size(); ++k) {
                if (at(i + 1, k)) return true;
                if (k < s.size() && s[k] == '/') break;
            }
            return false;
        }
        if (j == s.size()) return false;
        if (c == '?') return s[j] != '/' && at(i + 1, j + 1);
        if (c == '[') {
            size_t len = 0;
            if (s[j] == '/' || !char_class(p.substr(i), s[j], len)) return false;
            return at(i + len, j + 1);
        }
        if (c == '\\' && i + 1 < p.size()) return s[j] == p[i + 1] && at(i + 2, j + 1);
        return s[j] == c && at(i + 1, j + 1);
    }
};

bool match(std::string_view p, std::string_view s) {
    Matcher m{p, s, std::vector<signed char>((p.size() + 1) * (s.size() + 1), -1)};
    return m.at(0, 0);
}

}  // namespace

bool path_match(std::string_view pattern, std::string_view path) { return match(pattern, path); }

Ignore::Ignore(std::string_view text) {
    size_t i = 0;
    while (i <= text.size()) {
        size_t e = text.find('\n', i);
        if (e == std::string_view::npos) e = text.size();
        std::string_view line = text.substr(i, e - i);
        i = e + 1;
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
        if (line.empty() || line.front() == '#') continue;
        Rule r;
        if (line.front() == '!') {
            r.exclude = false;
            line.remove_prefix(1);
            exceptions_ = true;
        }
        r.pattern = clean(line);
        if (r.pattern.empty()) continue;
        rules_.push_back(std::move(r));
    }
}

bool Ignore::excluded(std::string_view path) const {
    std::string p = clean(path);
    bool out = false;
    for (const auto& r : rules_) {
        bool hit = match(r.pattern, p);
        // (a pattern that names a directory excludes what is below it)
        for (size_t k = p.find('/'); !hit && k != std::string::npos; k = p.find('/', k + 1))
            hit = match(r.pattern, std::string_view(p).substr(0, k));
        if (hit) out = r.exclude;
    }
    return out;
}

}  // namespace hako::build
