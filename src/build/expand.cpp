// The Dockerfile word expander: a small recursive-descent shell lexer.
#include "build/expand.hpp"

#include <fnmatch.h>

#include <cctype>
#include <optional>

namespace hako::build {
namespace {

bool name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ifs_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// One pass over `s` from `i`: appends to words (split mode) or to one word;
// stops at `stop` (unquoted, e.g. '}' of ${...}) or the end.
struct Lexer {
    const Expander& x;
    std::string_view s;
    size_t i = 0;
    int depth = 0;

    std::unexpected<Error> fail(const std::string& what) const { return error("`" + std::string(s) + "`: " + what); }

    std::optional<std::string> lookup(const std::string& name) const {
        auto it = x.vars.find(name);
        if (it == x.vars.end()) return std::nullopt;
        return it->second;
    }

    // After '$'. `in_quotes`: inside "..." (the value is never split).
    Result<std::string> dollar() {
        if (i >= s.size()) return std::string("$");
        char c = s[i];
        if (name_start(c)) {
            size_t st = i;
            while (i < s.size() && name_char(s[i])) ++i;
            return lookup(std::string(s.substr(st, i - st))).value_or("");
        }
        if (c != '{') return std::string("$");
        ++i;
        size_t st = i;
        while (i < s.size() && name_char(s[i])) ++i;
        std::string name(s.substr(st, i - st));
        if (name.empty() || !name_start(name[0])) return fail("bad substitution (a variable name after ${)");
        if (i >= s.size()) return fail("missing `}` after ${" + name);
        auto val = lookup(name);
        if (s[i] == '}') {
            ++i;
            return val.value_or("");
        }
        std::string op;
        if (s[i] == ':') {
            op = ":";
            ++i;
            if (i >= s.size() || (s[i] != '-' && s[i] != '+' && s[i] != '?'))
                return fail("bad substitution ${" + name + ":...} (expected :- :+ or :?)");
        }
        char m = s[i];
        if (m != '-' && m != '+' && m != '?' && m != '#' && m != '%' && m != '/')
            return fail(std::string("bad substitution: `") + m + "` after ${" + name);
        op += m;
        ++i;
        if ((m == '#' || m == '%' || m == '/') && i < s.size() && s[i] == m) {
            op += m;
            ++i;
        }
        if (m == '/') {
            std::string pat = HAKO_TRY(sub_word('/', true));
            std::string rep;
            if (i < s.size() && s[i] == '/') {
                ++i;
                rep = HAKO_TRY(sub_word('}', false));
            }
            if (i >= s.size() || s[i] != '}') return fail("missing `}` after ${" + name + "/...");
            ++i;
            return replace(val.value_or(""), pat, rep, op == "//");
        }
        std::string w = HAKO_TRY(sub_word('}', false));
        if (i >= s.size() || s[i] != '}') return fail("missing `}` after ${" + name + op + "...");
        ++i;
        const bool set = val.has_value(), nonempty = set && !val->empty();
        if (op == ":-") return nonempty ? *val : w;
        if (op == "-") return set ? *val : w;
        if (op == ":+") return nonempty ? w : std::string();
        if (op == "+") return set ? w : std::string();
        if (op == ":?" && !nonempty) return error(name + ": " + (w.empty() ? "is not set or is empty" : w));
        if (op == "?" && !set) return error(name + ": " + (w.empty() ? "is not set" : w));
        if (op == ":?" || op == "?") return *val;
        std::string v = val.value_or("");
        if (op == "#" || op == "##") {  // remove a matching prefix: shortest / longest
            if (op == "#") {
                for (size_t n = 0; n <= v.size(); ++n)
                    if (glob_match(w, std::string_view(v).substr(0, n))) return v.substr(n);
            } else {
                for (size_t n = v.size() + 1; n-- > 0;)
                    if (glob_match(w, std::string_view(v).substr(0, n))) return v.substr(n);
            }
            return v;
        }
        // % / %%: a matching suffix
        if (op == "%") {
            for (size_t n = 0; n <= v.size(); ++n)
                if (glob_match(w, std::string_view(v).substr(v.size() - n))) return v.substr(0, v.size() - n);
        } else {
            for (size_t n = v.size() + 1; n-- > 0;)
                if (glob_match(w, std::string_view(v).substr(v.size() - n))) return v.substr(0, v.size() - n);
        }
        return v;
    }

    static std::string replace(const std::string& v, const std::string& pat, const std::string& rep, bool all) {
        if (pat.empty()) return v;
        std::string out;
        size_t pos = 0;
        while (pos <= v.size()) {
            bool found = false;
            for (size_t st = pos; st < v.size() && !found; ++st)
                for (size_t n = v.size() - st; n > 0; --n)  // the longest match at the first place
                    if (glob_match(pat, std::string_view(v).substr(st, n))) {
                        out += v.substr(pos, st - pos);
                        out += rep;
                        pos = st + n;
                        found = true;
                        break;
                    }
            if (!found || !all) break;
        }
        out += v.substr(std::min(pos, v.size()));
        return out;
    }

    // A word inside ${...} up to `stop` (not consumed); `keep_glob`: a
    // pattern (escapes kept for fnmatch).
    Result<std::string> sub_word(char stop, bool keep_glob) {
        std::string out;
        while (i < s.size() && s[i] != stop && !(stop == '/' && s[i] == '}')) {
            char c = s[i];
            if (c == x.escape && i + 1 < s.size()) {
                if (keep_glob) out += '\\';
                out += s[i + 1];
                i += 2;
            } else if (c == '$') {
                ++i;
                out += HAKO_TRY(dollar());
            } else if (c == '\'' && !x.raw) {
                size_t e = s.find('\'', i + 1);
                if (e == std::string_view::npos) return fail("unterminated single quote");
                out.append(s.substr(i + 1, e - i - 1));
                i = e + 1;
            } else if (c == '"' && !x.raw) {
                ++i;
                out += HAKO_TRY(double_quoted());
            } else if (c == '{') {
                // (a literal brace: keep the nesting so its `}` is not ours)
                size_t e = s.find('}', i);
                if (e == std::string_view::npos) return fail("missing `}`");
                out.append(s.substr(i, e - i + 1));
                i = e + 1;
            } else {
                out += c;
                ++i;
            }
        }
        return out;
    }

    // After the opening '"', through the closing one.
    Result<std::string> double_quoted() {
        std::string out;
        while (i < s.size() && s[i] != '"') {
            char c = s[i];
            if (c == x.escape && i + 1 < s.size()) {
                char n = s[i + 1];
                if (n == '"' || n == '$' || n == x.escape) out += n;
                else {
                    out += c;
                    out += n;
                }
                i += 2;
            } else if (c == '$') {
                ++i;
                out += HAKO_TRY(dollar());
            } else {
                out += c;
                ++i;
            }
        }
        if (i >= s.size()) return fail("unterminated double quote");
        ++i;
        return out;
    }

    Status run(std::vector<std::string>* words, std::string* one) {
        std::string cur;
        bool have = false;
        auto flush = [&] {
            if (have && words) words->push_back(cur);
            if (words) {
                cur.clear();
                have = false;
            }
        };
        while (i < s.size()) {
            char c = s[i];
            if (x.raw) {
                if (c == x.escape && i + 1 < s.size() && s[i + 1] == '$') {
                    cur += '$';
                    i += 2;
                } else if (c == '$') {
                    ++i;
                    cur += HAKO_TRY(dollar());
                } else {
                    cur += c;
                    ++i;
                }
                have = true;
                continue;
            }
            if (c == x.escape) {
                if (i + 1 < s.size()) cur += s[i + 1];
                else cur += c;
                i += 2;
                have = true;
            } else if (c == '\'') {
                size_t e = s.find('\'', i + 1);
                if (e == std::string_view::npos) return fail("unterminated single quote");
                cur.append(s.substr(i + 1, e - i - 1));
                i = e + 1;
                have = true;
            } else if (c == '"') {
                ++i;
                cur += HAKO_TRY(double_quoted());
                have = true;
            } else if (c == '$') {
                ++i;
                std::string v = HAKO_TRY(dollar());
                if (words) {  // an unquoted value splits
                    for (char ch : v) {
                        if (is_ifs_space(ch)) flush();
                        else {
                            cur += ch;
                            have = true;
                        }
                    }
                } else {
                    cur += v;
                    have = true;
                }
            } else if (words && is_ifs_space(c)) {
                flush();
                ++i;
            } else {
                cur += c;
                have = true;
                ++i;
            }
        }
        flush();
        if (one) *one = std::move(cur);
        return {};
    }
};

}  // namespace

Vars vars_of_env(const std::vector<std::string>& env) {
    Vars v;
    for (const auto& e : env) {
        auto eq = e.find('=');
        v[e.substr(0, eq)] = eq == std::string::npos ? "" : e.substr(eq + 1);
    }
    return v;
}

void set_env(std::vector<std::string>& env, const std::string& k, const std::string& v) {
    for (auto& e : env)
        if (e.compare(0, k.size() + 1, k + "=") == 0) {
            e = k + "=" + v;
            return;
        }
    env.push_back(k + "=" + v);
}

bool glob_match(std::string_view pattern, std::string_view s) {
    return fnmatch(std::string(pattern).c_str(), std::string(s).c_str(), 0) == 0;
}

Result<std::string> Expander::word(std::string_view s) const {
    Lexer l{*this, s};
    std::string out;
    HAKO_TRY(l.run(nullptr, &out));
    return out;
}

Result<std::vector<std::string>> Expander::words(std::string_view s) const {
    Lexer l{*this, s};
    std::vector<std::string> out;
    HAKO_TRY(l.run(&out, nullptr));
    return out;
}

}  // namespace hako::build
