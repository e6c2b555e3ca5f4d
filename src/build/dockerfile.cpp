// The Dockerfile parser: lines into instructions (BuildKit's grammar).
#include "build/dockerfile.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <nlohmann/json.hpp>

namespace hako::build {
namespace {

constexpr std::array kKnown{"ADD",     "ARG",     "CMD",   "COPY",       "ENTRYPOINT", "ENV",  "EXPOSE",
                            "FROM",    "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL",
                            "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view ltrim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    return s;
}
std::string_view rtrim(std::string_view s) {
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}
std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}
std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool heredoc_capable(const std::string& kw) { return kw == "RUN" || kw == "COPY" || kw == "ADD"; }
bool json_capable(const std::string& kw) {
    return kw == "RUN" || kw == "CMD" || kw == "ENTRYPOINT" || kw == "SHELL" || kw == "COPY" || kw == "ADD" ||
           kw == "VOLUME";
}

// A heredoc marker at the start of a word: [N]<<[-]["']NAME["'].
std::optional<Heredoc> heredoc_marker(std::string_view w) {
    size_t i = 0;
    while (i < w.size() && std::isdigit(static_cast<unsigned char>(w[i]))) ++i;
    if (w.substr(i, 2) != "<<") return std::nullopt;
    i += 2;
    Heredoc h;
    if (i < w.size() && w[i] == '-') {
        h.chomp = true;
        ++i;
    }
    char q = 0;
    if (i < w.size() && (w[i] == '"' || w[i] == '\'')) q = w[i++];
    size_t start = i;
    while (i < w.size() && (std::isalnum(static_cast<unsigned char>(w[i])) || w[i] == '_' || w[i] == '-' || w[i] == '.'))
        ++i;
    if (i == start) return std::nullopt;
    h.name = std::string(w.substr(start, i - start));
    if (q) {
        if (i >= w.size() || w[i] != q) return std::nullopt;
        h.expand = false;
    }
    return h;
}

std::unexpected<Error> parse_error(const std::string& where, int line, const std::string& msg) {
    return error(where + ":" + std::to_string(line) + ": " + msg);
}

}  // namespace

// A flag word's value if it is `--name` ("" when bare) or `--name=value`.
static std::optional<std::string> flag_value(std::string_view f, std::string_view name) {
    if (!f.starts_with("--")) return std::nullopt;
    f.remove_prefix(2);
    if (f == name) return std::string();
    if (f.starts_with(name) && f.size() > name.size() && f[name.size()] == '=') return std::string(f.substr(name.size() + 1));
    return std::nullopt;
}

std::optional<std::string> Instruction::flag(std::string_view name) const {
    std::optional<std::string> v;
    for (const auto& f : flags)
        if (auto x = flag_value(f, name)) v = std::move(x);  // (the last one wins)
    return v;
}

std::vector<std::string> Instruction::flag_all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& f : flags)
        if (auto x = flag_value(f, name); x && f.find('=') != std::string::npos) out.push_back(std::move(*x));
    return out;
}

bool known_instruction(std::string_view kw) {
    return std::find(kKnown.begin(), kKnown.end(), kw) != kKnown.end();
}

std::vector<std::string> split_raw(std::string_view s, char escape) {
    std::vector<std::string> out;
    std::string cur;
    bool have = false;
    char quote = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (quote) {
            cur += c;
            if (c == escape && quote == '"' && i + 1 < s.size()) cur += s[++i];
            else if (c == quote) quote = 0;
            continue;
        }
        if (c == escape && i + 1 < s.size()) {
            cur += c;
            cur += s[++i];
            have = true;
        } else if (c == '"' || c == '\'') {
            quote = c;
            cur += c;
            have = true;
        } else if (is_space(c) || c == '\n') {
            if (have) out.push_back(cur);
            cur.clear();
            have = false;
        } else {
            cur += c;
            have = true;
        }
    }
    if (have) out.push_back(cur);
    return out;
}

Result<Instruction> parse_line(std::string_view line, char, const std::string& where) {
    Instruction in;
    std::string_view s = ltrim(line);
    size_t k = 0;
    while (k < s.size() && !is_space(s[k])) ++k;
    const std::string word(s.substr(0, k));
    in.keyword = upper(word);
    s = ltrim(s.substr(k));
    if (!known_instruction(in.keyword)) return error(where + ": unknown instruction `" + word + "`");
    // --flags first (any instruction: BuildKit checks which it knows later)
    while (s.starts_with("--")) {
        size_t e = 0;
        char quote = 0;
        while (e < s.size() && (quote || !is_space(s[e]))) {
            if (quote && s[e] == quote) quote = 0;
            else if (!quote && (s[e] == '"' || s[e] == '\'')) quote = s[e];
            ++e;
        }
        in.flags.emplace_back(s.substr(0, e));
        s = ltrim(s.substr(e));
    }
    in.args = std::string(rtrim(s));
    if (json_capable(in.keyword) && !in.args.empty() && in.args[0] == '[') {
        auto j = nlohmann::json::parse(in.args, nullptr, false);
        if (!j.is_discarded() && j.is_array() &&
            std::all_of(j.begin(), j.end(), [](const auto& v) { return v.is_string(); })) {
            in.json = true;
            for (const auto& v : j) in.json_args.push_back(v.get<std::string>());
        }
    }
    in.text = in.keyword;
    for (const auto& f : in.flags) in.text += " " + f;
    if (!in.args.empty()) in.text += " " + in.args;
    return in;
}

Result<Dockerfile> parse(std::string_view text, const std::string& name) {
    Dockerfile df;
    std::vector<std::string_view> lines;
    for (size_t pos = 0; pos <= text.size();) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) {
            if (pos < text.size()) lines.push_back(text.substr(pos));
            break;
        }
        lines.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    for (auto& l : lines)
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    size_t i = 0;
    if (!lines.empty() && lines[0].starts_with("\xEF\xBB\xBF")) lines[0].remove_prefix(3);  // a UTF-8 BOM
    // Parser directives: `# key=value` lines at the very top.
    std::map<std::string, bool> seen;
    for (; i < lines.size(); ++i) {
        std::string_view l = ltrim(lines[i]);
        if (!l.starts_with('#')) break;
        l = ltrim(l.substr(1));
        size_t eq = l.find('=');
        if (eq == std::string_view::npos) break;
        std::string key = lower(rtrim(l.substr(0, eq)));
        if (key.empty() || !std::all_of(key.begin(), key.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }))
            break;
        std::string value(rtrim(ltrim(l.substr(eq + 1))));
        if (seen[key]) return parse_error(name, static_cast<int>(i + 1), "the parser directive `" + key + "` appears twice");
        seen[key] = true;
        if (key == "escape") {
            if (value != "\\" && value != "`")
                return parse_error(name, static_cast<int>(i + 1), "invalid escape token `" + value + "`: expected \\ or `");
            df.escape = value[0];
        } else if (key == "syntax") {
            df.syntax = value;
        }
        // (others, e.g. check=, are BuildKit's linter's: accepted)
    }
    const char esc = df.escape;
    auto continues = [esc](std::string_view l) {
        l = rtrim(l);
        return !l.empty() && l.back() == esc;
    };
    while (i < lines.size()) {
        std::string_view first = ltrim(lines[i]);
        if (first.empty() || first.starts_with('#')) {
            ++i;
            continue;
        }
        int start = static_cast<int>(i + 1);
        std::string logical;
        bool more = true;
        bool first_line = true;
        while (more && i < lines.size()) {
            std::string_view l = lines[i];
            if (!first_line && (ltrim(l).starts_with('#') || ltrim(l).empty())) {  // (comments and blank lines inside)
                ++i;
                continue;
            }
            first_line = false;
            ++i;
            if (continues(l)) {
                l = rtrim(l);
                logical.append(l.substr(0, l.size() - 1));
            } else {
                logical.append(l);
                more = false;
            }
        }
        auto in = HAKO_TRY(parse_line(logical, esc, name + ":" + std::to_string(start)));
        in.line = start;
        if (heredoc_capable(in.keyword) && !in.json) {
            for (const auto& w : split_raw(in.args, esc)) {
                auto h = heredoc_marker(w);
                if (!h) continue;
                bool closed = false;
                for (; i < lines.size(); ++i) {
                    std::string_view l = lines[i];
                    if (h->chomp)
                        while (!l.empty() && l.front() == '\t') l.remove_prefix(1);
                    if (l == h->name) {
                        closed = true;
                        ++i;
                        break;
                    }
                    h->body.append(l);
                    h->body += '\n';
                }
                if (!closed) return parse_error(name, start, "the heredoc `" + h->name + "` of " + in.keyword + " has no end (a line `" + h->name + "`)");
                in.heredocs.push_back(std::move(*h));
            }
        }
        if (in.keyword == "ONBUILD") {
            auto trig = HAKO_TRY(parse_line(in.args, esc, name + ":" + std::to_string(start)));
            if (trig.keyword == "ONBUILD" || trig.keyword == "FROM" || trig.keyword == "MAINTAINER")
                return parse_error(name, start, trig.keyword + " is not allowed as an ONBUILD trigger");
        }
        df.instructions.push_back(std::move(in));
    }
    return df;
}

Result<std::vector<std::pair<std::string, std::string>>> key_values(const Instruction& in, char escape) {
    std::vector<std::pair<std::string, std::string>> out;
    auto words = split_raw(in.args, escape);
    const std::string where = "line " + std::to_string(in.line) + ": " + in.keyword;
    if (words.empty()) return error(where + " needs at least one argument");
    if (words[0].find('=') == std::string::npos) {
        if (in.keyword != "ENV") return error(where + ": `" + words[0] + "` is not of the form key=value");
        // ENV's legacy form: ENV key the value
        std::string_view rest = ltrim(std::string_view(in.args).substr(in.args.find(words[0]) + words[0].size()));
        if (words.size() < 2) return error(where + " `" + words[0] + "` has no value (ENV key=value)");
        out.emplace_back(words[0], std::string(rest));
        return out;
    }
    for (const auto& w : words) {
        size_t eq = w.find('=');
        if (eq == std::string::npos) return error(where + ": `" + w + "` is not of the form key=value");
        if (eq == 0) return error(where + ": `" + w + "` has no name before `=`");
        out.emplace_back(w.substr(0, eq), w.substr(eq + 1));
    }
    return out;
}

Result<Stages> stages_of(const Dockerfile& df, const std::string& name) {
    Stages st;
    for (const auto& in : df.instructions) {
        const std::string at = name + ":" + std::to_string(in.line);
        if (in.keyword == "FROM") {
            auto words = split_raw(in.args, df.escape);
            Stage s;
            s.index = st.stages.size();
            s.from = &in;
            if (words.empty()) return error(at + ": FROM needs an image (or scratch)");
            s.base = words[0];
            if (words.size() == 3 && lower(words[1]) == "as") {
                s.name = lower(words[2]);
                if (!std::isalpha(static_cast<unsigned char>(s.name[0])) ||
                    s.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_.") != std::string::npos)
                    return error(at + ": invalid stage name `" + words[2] + "` (letters, digits, - _ .; a letter first)");
                for (const auto& o : st.stages)
                    if (o.name == s.name) return error(at + ": the stage name `" + words[2] + "` is used twice");
            } else if (words.size() != 1) {
                return error(at + ": FROM `" + in.args + "`: expected FROM image [AS name]");
            }
            st.stages.push_back(std::move(s));
        } else if (st.stages.empty()) {
            if (in.keyword != "ARG") return error(at + ": " + in.keyword + " before the first FROM (only ARG may come first)");
            st.global_args.push_back(&in);
        } else {
            st.stages.back().body.push_back(&in);
        }
    }
    if (st.stages.empty()) return error(name + ": no FROM instruction (a build needs at least one stage)");
    return st;
}

}  // namespace hako::build
