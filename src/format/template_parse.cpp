// Go text/template's lexer and parser: template text to the tree of template_ast.hpp.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "format/template_ast.hpp"

namespace hako::format::detail {
namespace {

constexpr std::string_view kFunctions[] = {
    "and", "eq", "ge", "gt", "index", "join", "json", "le", "len", "lower", "lt", "ne",
    "not", "or", "pad", "print", "printf", "println", "slice", "split", "title", "truncate", "upper",
};
static_assert(std::ranges::is_sorted(kFunctions));  // (is_function's binary search)
constexpr std::string_view kKeywords[] = {
    "block", "break", "continue", "define", "else", "end", "if", "range", "template", "with",
};

enum class Tok {
    Text, LDelim, RDelim, Space, Ident, Field, Dot, Var, Literal, LParen, RParen, Pipe, Declare, Assign, Comma, Eof,
};

struct Token {
    Tok t = Tok::Eof;
    std::size_t pos = 0;  // where its source starts
    std::size_t len = 0;  // its source's length
    std::string val;      // Text: the text (trimmed); Ident, Field, Var: the name
    json lit;             // Literal: the value
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
// Go allows Unicode letters in names: bytes of multibyte UTF-8 count as letters.
bool is_alnum(char c) {
    return c == '_' || is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           static_cast<unsigned char>(c) >= 0x80;
}

// "1:9": line and column (bytes) of offset `pos`, both from 1.
std::string where(std::string_view src, std::size_t pos) {
    auto before = src.substr(0, std::min(pos, src.size()));
    auto line = 1 + std::ranges::count(before, '\n');
    auto nl = before.rfind('\n');
    auto col = before.size() - (nl == std::string_view::npos ? 0 : nl + 1) + 1;
    return std::to_string(line) + ":" + std::to_string(col);
}

std::unexpected<Error> fail_at(std::string_view src, std::size_t pos, std::string_view msg) {
    return error("template: " + where(src, pos) + ": " + std::string(msg));
}

// A character for a message: itself when printable ASCII, else U+XXXX.
std::string show_char(std::string_view s) {
    auto [r, n] = decode_rune(s);
    if (r >= 0x20 && r < 0x7f) return "`" + std::string(1, static_cast<char>(r)) + "`";
    if (r == kBadRune) r = static_cast<unsigned char>(s[0]);
    char buf[16];
    auto res = std::to_chars(buf, buf + sizeof buf, static_cast<std::uint32_t>(r), 16);
    std::string hex(buf, res.ptr);
    std::ranges::transform(hex, hex.begin(), [](char c) { return c >= 'a' ? static_cast<char>(c - 32) : c; });
    return "U+" + std::string(hex.size() < 4 ? 4 - hex.size() : 0, '0') + hex;
}

// Exactly `n` hex (or octal) digits of `s` at `i`, or -1.
long digits_value(std::string_view s, std::size_t i, std::size_t n, int base) {
    if (i + n > s.size()) return -1;
    long v = 0;
    auto [p, ec] = std::from_chars(s.data() + i, s.data() + i + n, v, base);
    if (ec != std::errc() || p != s.data() + i + n || s[i] == '-' || s[i] == '+') return -1;
    return v;
}

// Go's escapes in a "..." string or a '...' character (the quotes stripped).
Result<std::string> unquote(std::string_view body, char quote) {
    std::string out;
    for (std::size_t i = 0; i < body.size();) {
        char c = body[i];
        if (c != '\\') {
            out += c;
            ++i;
            continue;
        }
        if (i + 1 >= body.size()) return error("invalid escape at the end");
        char e = body[i + 1];
        i += 2;
        switch (e) {
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case '\\': out += '\\'; break;
        case '\'':
        case '"':
            if (e != quote) return error(std::string("invalid escape `\\") + e + "`");
            out += e;
            break;
        case 'x': {
            long v = digits_value(body, i, 2, 16);
            if (v < 0) return error("invalid escape `\\x`: two hex digits wanted");
            out += static_cast<char>(v);
            i += 2;
            break;
        }
        case 'u':
        case 'U': {
            std::size_t n = e == 'u' ? 4 : 8;
            long v = digits_value(body, i, n, 16);
            if (v < 0 || v > 0x10FFFF || (v >= 0xD800 && v < 0xE000))
                return error(std::string("invalid escape `\\") + e + "`");
            append_utf8(out, static_cast<char32_t>(v));
            i += n;
            break;
        }
        default:
            if (e >= '0' && e <= '7') {
                long v = digits_value(body, i - 1, 3, 8);
                if (v < 0 || v > 255) return error("invalid octal escape: three digits up to \\377 wanted");
                out += static_cast<char>(v);
                i += 2;
                break;
            }
            return error("invalid escape " + show_char(body.substr(i - 1)));
        }
    }
    return out;
}

// A number's source ("-12", "0x1F", "1_000", "1.5e3", ".5", "0x1p-2") as
// Go reads it: an integer when it has no '.', exponent (or hex 'p').
Result<json> number_value(std::string_view text) {
    if (text.ends_with('i')) return error("complex numbers are not supported");
    std::string_view t = text;
    bool neg = false;
    if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
        neg = t[0] == '-';
        t.remove_prefix(1);
    }
    std::string d;
    std::ranges::copy_if(t, std::back_inserter(d), [](char c) { return c != '_'; });
    int base = 10;
    std::string_view body = d;
    if (d.size() > 1 && d[0] == '0') {
        char p = d[1];
        if (p == 'x' || p == 'X') base = 16;
        else if (p == 'o' || p == 'O') base = 8;
        else if (p == 'b' || p == 'B') base = 2;
        if (base != 10) body.remove_prefix(2);
    }
    bool is_float = base == 16 ? body.find_first_of(".pP") != std::string_view::npos
                               : base == 10 && body.find_first_of(".eE") != std::string_view::npos;
    auto bad = [&] { return error("bad number syntax: `" + std::string(text) + "`"); };
    if (body.empty()) return bad();
    const char* end = body.data() + body.size();
    if (is_float) {
        double v = 0;
        auto [p, ec] = base == 16 ? std::from_chars(body.data(), end, v, std::chars_format::hex)
                                  : std::from_chars(body.data(), end, v);
        if (ec != std::errc() || p != end) return bad();
        return json(neg ? -v : v);
    }
    if (base == 10 && body.size() > 1 && body[0] == '0') base = 8;  // (Go's legacy octal: 017)
    std::uint64_t u = 0;
    auto [p, ec] = std::from_chars(body.data(), end, u, base);
    if (ec == std::errc::result_out_of_range) return error("integer overflow: `" + std::string(text) + "`");
    if (ec != std::errc() || p != end) return bad();
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (neg) {
        if (u > kMax + 1) return error("integer overflow: `" + std::string(text) + "`");
        return json(u == kMax + 1 ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(u));
    }
    if (u <= kMax) return json(static_cast<std::int64_t>(u));
    return json(u);
}

class Lexer {
public:
    explicit Lexer(std::string_view src) : s_(src) {}

    Result<std::vector<Token>> run() {
        while (pos_ < s_.size()) {
            auto x = s_.find("{{", pos_);
            auto text_end = x == std::string_view::npos ? s_.size() : x;
            bool ltrim = x != std::string_view::npos && x + 3 < s_.size() && s_[x + 2] == '-' && is_space(s_[x + 3]);
            auto text = s_.substr(pos_, text_end - pos_);
            if (ltrim)
                while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
            if (!text.empty()) toks_.push_back({Tok::Text, pos_, text.size(), std::string(text), {}});
            if (x == std::string_view::npos) break;
            std::size_t after = x + (ltrim ? 4 : 2);
            if (s_.substr(after).starts_with("/*")) {
                auto end = s_.find("*/", after + 2);
                if (end == std::string_view::npos) return fail(x, "unclosed comment");
                pos_ = end + 2;
                bool trim = false;
                auto n = right_delim(pos_, trim);
                if (n == 0) return fail(x, "comment ends before closing delimiter");
                pos_ += n;
                if (trim) skip_spaces();
                continue;
            }
            toks_.push_back({Tok::LDelim, x, after - x, {}, {}});
            pos_ = after;
            HAKO_TRY(action(x));
        }
        toks_.push_back({Tok::Eof, s_.size(), 0, {}, {}});
        return std::move(toks_);
    }

private:
    std::string_view s_;
    std::size_t pos_ = 0;
    std::vector<Token> toks_;

    std::unexpected<Error> fail(std::size_t at, std::string_view msg) const { return fail_at(s_, at, msg); }
    void emit(Tok t, std::size_t start, std::string val = {}, json lit = {}) {
        toks_.push_back({t, start, pos_ - start, std::move(val), std::move(lit)});
    }
    void skip_spaces() {
        while (pos_ < s_.size() && is_space(s_[pos_])) ++pos_;
    }
    // The right delimiter's length at `at` ("}}", or " -}}": trim), or 0.
    std::size_t right_delim(std::size_t at, bool& trim) const {
        auto rest = s_.substr(std::min(at, s_.size()));
        trim = false;
        if (rest.starts_with("}}")) return 2;
        if (rest.size() >= 4 && is_space(rest[0]) && rest.substr(1).starts_with("-}}")) {
            trim = true;
            return 4;
        }
        return 0;
    }
    // Go's atTerminator: what may follow a name.
    Status terminator() const {
        if (pos_ >= s_.size()) return {};
        char c = s_[pos_];
        if (is_space(c) || c == '.' || c == ',' || c == '|' || c == ':' || c == ')' || c == '(' || c == '}') return {};
        return fail(pos_, "bad character " + show_char(s_.substr(pos_)));
    }

    Status action(std::size_t start) {
        for (;;) {
            if (pos_ >= s_.size()) return fail(start, "unclosed action");
            bool trim = false;
            if (auto n = right_delim(pos_, trim)) {
                std::size_t b = pos_;
                pos_ += n;
                emit(Tok::RDelim, b);
                if (trim) skip_spaces();
                return {};
            }
            std::size_t b = pos_;
            char c = s_[pos_];
            if (is_space(c)) {
                skip_spaces();
                if (s_.substr(pos_).starts_with("-}}")) --pos_;  // (that space is the trim marker's)
                if (pos_ > b) emit(Tok::Space, b);
                continue;
            }
            switch (c) {
            case '=': ++pos_; emit(Tok::Assign, b); continue;
            case '|': ++pos_; emit(Tok::Pipe, b); continue;
            case '(': ++pos_; emit(Tok::LParen, b); continue;
            case ')': ++pos_; emit(Tok::RParen, b); continue;
            case ',': ++pos_; emit(Tok::Comma, b); continue;
            case ':':
                if (pos_ + 1 >= s_.size() || s_[pos_ + 1] != '=') return fail(b, "expected `:=`");
                pos_ += 2;
                emit(Tok::Declare, b);
                continue;
            case '"':
            case '\'': HAKO_TRY(quoted(c)); continue;
            case '`': {
                auto end = s_.find('`', pos_ + 1);
                if (end == std::string_view::npos) return fail(b, "unterminated raw quoted string");
                std::string v;
                std::ranges::copy_if(s_.substr(b + 1, end - b - 1), std::back_inserter(v),
                                     [](char ch) { return ch != '\r'; });  // (as Go's raw strings)
                pos_ = end + 1;
                emit(Tok::Literal, b, {}, json(std::move(v)));
                continue;
            }
            case '$':
                ++pos_;
                while (pos_ < s_.size() && is_alnum(s_[pos_])) ++pos_;
                emit(Tok::Var, b, std::string(s_.substr(b, pos_ - b)));
                HAKO_TRY(terminator());
                continue;
            case '.':
                if (pos_ + 1 < s_.size() && is_digit(s_[pos_ + 1])) break;  // .5
                ++pos_;
                if (pos_ < s_.size() && is_alnum(s_[pos_])) {
                    while (pos_ < s_.size() && is_alnum(s_[pos_])) ++pos_;
                    emit(Tok::Field, b, std::string(s_.substr(b + 1, pos_ - b - 1)));
                    HAKO_TRY(terminator());
                } else {
                    emit(Tok::Dot, b);
                }
                continue;
            default:
                break;
            }
            if (c == '+' || c == '-' || c == '.' || is_digit(c)) {
                HAKO_TRY(number());
            } else if (is_alnum(c)) {
                while (pos_ < s_.size() && is_alnum(s_[pos_])) ++pos_;
                emit(Tok::Ident, b, std::string(s_.substr(b, pos_ - b)));
                HAKO_TRY(terminator());
            } else {
                return fail(b, "unexpected " + show_char(s_.substr(b)) + " in command");
            }
        }
    }

    // "..." or '...'.
    Status quoted(char q) {
        std::size_t b = pos_++;
        auto what = q == '"' ? "unterminated quoted string" : "unterminated character constant";
        for (;;) {
            if (pos_ >= s_.size() || s_[pos_] == '\n') return fail(b, what);
            char c = s_[pos_++];
            if (c == '\\') {
                if (pos_ >= s_.size() || s_[pos_] == '\n') return fail(b, what);
                ++pos_;
            } else if (c == q) {
                break;
            }
        }
        auto body = s_.substr(b + 1, pos_ - b - 2);
        auto v = unquote(body, q);
        if (!v) return fail(b, v.error().msg);
        if (q == '"') {
            emit(Tok::Literal, b, {}, json(std::move(*v)));
            return {};
        }
        // A character: its code point (an int, as Go's rune constants).
        std::int64_t r = -1;
        if (body.starts_with("\\x") || (body.size() > 1 && body[0] == '\\' && body[1] >= '0' && body[1] <= '7')) {
            if (v->size() == 1) r = static_cast<unsigned char>((*v)[0]);
        } else if (!v->empty()) {
            auto [rune, n] = decode_rune(*v);
            if (rune != kBadRune && n == v->size()) r = rune;
        }
        if (r < 0) return fail(b, "malformed character constant");
        emit(Tok::Literal, b, {}, json(r));
        return {};
    }

    // Go's scanNumber, then its value.
    Status number() {
        std::size_t b = pos_;
        auto accept = [&](std::string_view set) {
            if (pos_ < s_.size() && set.find(s_[pos_]) != std::string_view::npos) {
                ++pos_;
                return true;
            }
            return false;
        };
        auto run = [&](std::string_view set) {
            while (accept(set)) {
            }
        };
        accept("+-");
        std::string_view digits = "0123456789_";
        if (accept("0")) {
            if (accept("xX")) digits = "0123456789abcdefABCDEF_";
            else if (accept("oO")) digits = "01234567_";
            else if (accept("bB")) digits = "01_";
        }
        run(digits);
        if (accept(".")) run(digits);
        if (digits.size() == 11 && accept("eE")) {
            accept("+-");
            run("0123456789_");
        }
        if (digits.size() == 23 && accept("pP")) {
            accept("+-");
            run("0123456789_");
        }
        accept("i");
        auto text = s_.substr(b, pos_ - b);
        if (pos_ < s_.size() && is_alnum(s_[pos_]))
            return fail(b, "bad number syntax: `" + std::string(s_.substr(b, pos_ + 1 - b)) + "`");
        auto v = number_value(text);
        if (!v) return fail(b, v.error().msg);
        emit(Tok::Literal, b, {}, std::move(*v));
        return {};
    }
};

class Parser {
public:
    Parser(std::string_view src, std::vector<Token> toks) : s_(src), t_(std::move(toks)) {}

    Result<List> run() {
        List root;
        Stop stop = HAKO_TRY(item_list(root));
        if (stop == Stop::End) return fail(last_delim_, "unexpected {{end}}");
        if (stop == Stop::Else) return fail(last_delim_, "unexpected {{else}}");
        return root;
    }

private:
    enum class Stop { Eof, End, Else };

    std::string_view s_;
    std::vector<Token> t_;  // (ends with Eof)
    std::size_t i_ = 0;
    std::vector<std::string> vars_{"$"};  // in scope
    int depth_ = 0;
    int range_depth_ = 0;
    std::size_t last_delim_ = 0;  // the `{{` of the last {{end}} or {{else}}

    const Token& peek() const { return t_[i_]; }
    const Token& next() {
        const Token& tok = t_[i_];
        if (tok.t != Tok::Eof) ++i_;
        return tok;
    }
    const Token& peek_non_space() {
        while (t_[i_].t == Tok::Space) ++i_;
        return t_[i_];
    }
    const Token& next_non_space() {
        peek_non_space();
        return next();
    }
    std::size_t end_of_previous() const { return i_ == 0 ? 0 : t_[i_ - 1].pos + t_[i_ - 1].len; }
    bool is_ident(const Token& tok, std::string_view name) const { return tok.t == Tok::Ident && tok.val == name; }
    bool has_var(std::string_view name) const { return std::ranges::find(vars_, name) != vars_.end(); }

    std::unexpected<Error> fail(std::size_t pos, std::string_view msg) const { return fail_at(s_, pos, msg); }
    std::unexpected<Error> unexpected(const Token& tok, std::string_view context) const {
        if (tok.t == Tok::Eof) return fail(tok.pos, "unexpected EOF in " + std::string(context));
        std::string src(s_.substr(tok.pos, tok.len));
        if (tok.t == Tok::RDelim) src = "}}";
        return fail(tok.pos, "unexpected `" + src + "` in " + std::string(context));
    }
    Status expect_rdelim(std::string_view context) {
        const Token& tok = next_non_space();
        if (tok.t != Tok::RDelim) return unexpected(tok, context);
        return {};
    }

    // Nodes up to {{end}}, {{else (left after `else`) or the end of the text.
    Result<Stop> item_list(List& out) {
        for (;;) {
            const Token& tok = next();
            if (tok.t == Tok::Eof) return Stop::Eof;
            if (tok.t == Tok::Text) {
                Node n;
                n.text = tok.val;
                out.push_back(std::move(n));
                continue;
            }
            if (tok.t != Tok::LDelim) return unexpected(tok, "text");  // (the lexer pairs delimiters)
            const Token& k = peek_non_space();
            if (is_ident(k, "end")) {
                last_delim_ = tok.pos;
                next();
                HAKO_TRY(expect_rdelim("{{end}}"));
                return Stop::End;
            }
            if (is_ident(k, "else")) {
                last_delim_ = tok.pos;
                next();
                return Stop::Else;
            }
            out.push_back(HAKO_TRY(action()));
        }
    }

    // After `{{`.
    Result<Node> action() {
        const Token& k = peek_non_space();
        if (k.t == Tok::Ident) {
            if (k.val == "if" || k.val == "range" || k.val == "with") {
                next();
                auto kind = k.val == "if" ? NodeKind::If : k.val == "range" ? NodeKind::Range : NodeKind::With;
                return control(kind, k);
            }
            if (k.val == "break" || k.val == "continue") {
                next();
                std::string what = "{{" + k.val + "}}";
                if (range_depth_ == 0) return fail(k.pos, what + " outside {{range}}");
                HAKO_TRY(expect_rdelim(what));
                Node n;
                n.kind = k.val == "break" ? NodeKind::Break : NodeKind::Continue;
                return n;
            }
            if (k.val == "define" || k.val == "template" || k.val == "block")
                return fail(k.pos, "{{" + k.val + "}} is not supported");
        }
        Node n;
        n.kind = NodeKind::Action;
        n.pipe = HAKO_TRY(pipeline("command", Tok::RDelim));
        HAKO_TRY(expect_rdelim("command"));
        return n;
    }

    // {{if|range|with pipeline}} list [{{else}} list | {{else if ...}}] {{end}}
    Result<Node> control(NodeKind kind, const Token& kw) {
        if (++depth_ > kMaxNesting)
            return fail(kw.pos, "blocks and parentheses nested too deep (the limit is " +
                                    std::to_string(kMaxNesting) + ")");
        const std::string& ctx = kw.val;
        auto mark = vars_.size();
        Node n;
        n.kind = kind;
        n.pipe = HAKO_TRY(pipeline(ctx, Tok::RDelim));
        HAKO_TRY(expect_rdelim(ctx));
        if (kind == NodeKind::Range) ++range_depth_;
        auto list_mark = vars_.size();
        Stop stop = HAKO_TRY(item_list(n.list));
        vars_.resize(list_mark);
        if (kind == NodeKind::Range) --range_depth_;
        if (stop == Stop::Else) {
            const Token& k = peek_non_space();
            if ((kind == NodeKind::If && is_ident(k, "if")) || (kind == NodeKind::With && is_ident(k, "with"))) {
                next();
                n.else_list.push_back(HAKO_TRY(control(kind, k)));  // (it ends at the shared {{end}})
                stop = Stop::End;
            } else {
                HAKO_TRY(expect_rdelim("{{else}}"));
                stop = HAKO_TRY(item_list(n.else_list));
                vars_.resize(list_mark);
                if (stop == Stop::Else) return fail(last_delim_, "{{else}} after {{else}} in {{" + ctx + "}}");
            }
        }
        if (stop == Stop::Eof) return fail(kw.pos, "unclosed {{" + ctx + "}}: no {{end}}");
        vars_.resize(mark);
        --depth_;
        return n;
    }

    Result<Pipe> pipeline(const std::string& ctx, Tok end) {
        Pipe p;
        std::size_t start = peek_non_space().pos;
        // Declarations: `$x :=`, `$x =`, `$i, $e :=` (range).
        if (peek_non_space().t == Tok::Var) {
            auto save = i_;
            std::vector<std::string> decl;
            bool is_decl = false;
            while (peek_non_space().t == Tok::Var) {
                const Token& v = next();
                const Token& op = peek_non_space();
                if (op.t == Tok::Declare || op.t == Tok::Assign) {
                    next();
                    decl.push_back(v.val);
                    p.assign = op.t == Tok::Assign;
                    is_decl = true;
                    break;
                }
                if (op.t != Tok::Comma) break;
                if (ctx != "range" || !decl.empty()) return fail(op.pos, "too many declarations in " + ctx);
                next();
                decl.push_back(v.val);
                if (peek_non_space().t != Tok::Var) return fail(peek().pos, "range can only initialize variables");
            }
            if (!is_decl) {
                i_ = save;
            } else {
                if (p.assign)
                    for (const auto& name : decl)
                        if (!has_var(name)) return fail(t_[save].pos, "undefined variable `" + name + "`");
                p.vars = std::move(decl);
            }
        }
        for (;;) {
            const Token& tok = peek_non_space();
            if (tok.t == end) break;
            if (tok.t == Tok::RDelim) return fail(tok.pos, "unclosed left paren");
            if (tok.t == Tok::RParen) return unexpected(tok, ctx);
            p.cmds.push_back(HAKO_TRY(command()));
            const Token& after = peek_non_space();
            if (after.t == Tok::Pipe) {
                next();
                const Token& more = peek_non_space();
                if (more.t == Tok::RDelim || more.t == Tok::RParen) return fail(after.pos, "missing command after `|`");
            }
        }
        if (p.cmds.empty()) return fail(peek().pos, "missing value for " + ctx);
        for (std::size_t k = 1; k < p.cmds.size(); ++k) {
            const Operand& head = p.cmds[k].args.front();
            if (head.kind == OpKind::Literal || head.kind == OpKind::Nil ||
                (head.kind == OpKind::Dot && head.fields.empty()))
                return error("template: `" + p.cmds[k].text + "`: non executable command in pipeline stage " +
                             std::to_string(k + 1));
        }
        if (!p.assign) vars_.insert(vars_.end(), p.vars.begin(), p.vars.end());
        p.text = s_.substr(start, end_of_previous() - start);
        return p;
    }

    Result<Command> command() {
        Command c;
        std::size_t start = peek_non_space().pos, stop = start;
        for (;;) {
            auto t = peek_non_space().t;
            if (t == Tok::Pipe || t == Tok::RDelim || t == Tok::RParen || t == Tok::Eof) break;
            c.args.push_back(HAKO_TRY(operand()));
            stop = end_of_previous();
            const Token& after = peek();
            if (after.t == Tok::Space) continue;
            if (after.t == Tok::Pipe || after.t == Tok::RDelim || after.t == Tok::RParen) break;
            return unexpected(after, "operand");
        }
        if (c.args.empty()) return fail(peek().pos, "missing command");
        c.text = s_.substr(start, stop - start);
        return c;
    }

    // A term and the fields after it: `.A.B`, `$x.A`, `(pipe).A`.
    Result<Operand> operand() {
        std::size_t start = peek().pos;
        Operand op = HAKO_TRY(term());
        if (peek().t == Tok::Field) {
            bool bare = op.kind == OpKind::Literal || op.kind == OpKind::Nil ||
                        (op.kind == OpKind::Dot && op.fields.empty());
            if (bare) return fail(peek().pos, "unexpected `.` after term `" + op.text + "`");
            if (op.kind == OpKind::Func) {  // f.A: (f).A
                Command c;
                c.text = op.text;
                c.args.push_back(std::move(op));
                auto pipe = std::make_shared<Pipe>();
                pipe->cmds.push_back(std::move(c));
                op = Operand{};
                op.kind = OpKind::Sub;
                op.sub = std::move(pipe);
            }
            while (peek().t == Tok::Field) op.fields.push_back(next().val);
        }
        op.text = s_.substr(start, end_of_previous() - start);
        return op;
    }

    Result<Operand> term() {
        const Token& tok = next();
        Operand op;
        op.text = s_.substr(tok.pos, tok.len);
        switch (tok.t) {
        case Tok::Ident:
            if (tok.val == "true" || tok.val == "false") {
                op.kind = OpKind::Literal;
                op.literal = std::make_shared<const json>(tok.val == "true");
            } else if (tok.val == "nil") {
                op.kind = OpKind::Nil;
            } else if (std::ranges::find(kKeywords, tok.val) != std::end(kKeywords)) {
                return fail(tok.pos, "unexpected keyword `" + tok.val + "` in operand");
            } else if (!is_function(tok.val)) {
                return fail(tok.pos, "function `" + tok.val + "` not defined");
            } else {
                op.kind = OpKind::Func;
                op.name = tok.val;
            }
            return op;
        case Tok::Dot:
            return op;
        case Tok::Field:
            op.fields.push_back(tok.val);
            return op;
        case Tok::Var:
            if (!has_var(tok.val)) return fail(tok.pos, "undefined variable `" + tok.val + "`");
            op.kind = OpKind::Variable;
            op.name = tok.val;
            return op;
        case Tok::Literal:
            op.kind = OpKind::Literal;
            op.literal = std::make_shared<const json>(tok.lit);
            return op;
        case Tok::LParen: {
            if (++depth_ > kMaxNesting)
                return fail(tok.pos, "blocks and parentheses nested too deep (the limit is " +
                                         std::to_string(kMaxNesting) + ")");
            auto pipe = HAKO_TRY(pipeline("parenthesized pipeline", Tok::RParen));
            if (next_non_space().t != Tok::RParen) return fail(tok.pos, "unclosed left paren");
            --depth_;
            op.kind = OpKind::Sub;
            op.sub = std::make_shared<const Pipe>(std::move(pipe));
            return op;
        }
        default:
            return unexpected(tok, "operand");
        }
    }
};

}  // namespace

bool is_function(std::string_view name) { return std::ranges::binary_search(kFunctions, name); }

Result<Tree> parse_tree(std::string_view text) {
    auto toks = HAKO_TRY(Lexer(text).run());
    Tree tree;
    tree.root = HAKO_TRY(Parser(text, std::move(toks)).run());
    return tree;
}

}  // namespace hako::format::detail
