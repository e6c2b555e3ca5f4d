// Templates' API (parse, render, docker's list and table formats) and Go's fmt printing of values.
#include "format/template.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "common/strings.hpp"
#include "format/template_ast.hpp"

namespace hako::format {
namespace detail {

// --- UTF-8 --------------------------------------------------------------------------

std::pair<char32_t, std::size_t> decode_rune(std::string_view s) {
    if (s.empty()) return {kBadRune, 0};
    auto c = static_cast<unsigned char>(s[0]);
    if (c < 0x80) return {c, 1};
    std::size_t n = 0;
    char32_t r = 0, min = 0;
    if ((c & 0xE0) == 0xC0) {
        n = 2, r = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, r = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, r = c & 0x07, min = 0x10000;
    } else {
        return {kBadRune, 1};
    }
    if (s.size() < n) return {kBadRune, 1};
    for (std::size_t k = 1; k < n; ++k) {
        auto cc = static_cast<unsigned char>(s[k]);
        if ((cc & 0xC0) != 0x80) return {kBadRune, 1};
        r = (r << 6) | (cc & 0x3F);
    }
    if (r < min || r > 0x10FFFF || (r >= 0xD800 && r < 0xE000)) return {kBadRune, 1};
    return {r, n};
}

std::size_t rune_count(std::string_view s) {
    std::size_t n = 0;
    while (!s.empty()) {
        s.remove_prefix(decode_rune(s).second);
        ++n;
    }
    return n;
}

void append_utf8(std::string& out, char32_t r) {
    auto put = [&](unsigned v) { out += static_cast<char>(v); };
    if (r < 0x80) {
        put(r);
    } else if (r < 0x800) {
        put(0xC0 | (r >> 6)), put(0x80 | (r & 0x3F));
    } else if (r < 0x10000) {
        put(0xE0 | (r >> 12)), put(0x80 | ((r >> 6) & 0x3F)), put(0x80 | (r & 0x3F));
    } else {
        put(0xF0 | (r >> 18)), put(0x80 | ((r >> 12) & 0x3F)), put(0x80 | ((r >> 6) & 0x3F)), put(0x80 | (r & 0x3F));
    }
}

namespace {

// The first `n` runes of `s`.
std::string_view first_runes(std::string_view s, std::size_t n) {
    std::size_t at = 0;
    for (; n > 0 && at < s.size(); --n) at += decode_rune(s.substr(at)).second;
    return s.substr(0, at);
}

template <class T>
void append_number(std::string& out, T v, int base = 10) {
    char buf[80];
    auto r = std::to_chars(buf, buf + sizeof buf, v, base);
    out.append(buf, r.ptr);
}

std::string hex(std::uint32_t v, std::size_t digits) {
    std::string s;
    append_number(s, v, 16);
    if (s.size() < digits) s.insert(0, digits - s.size(), '0');
    return s;
}

void upper_ascii(std::string& s) {
    std::ranges::transform(s, s.begin(), [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; });
}

}  // namespace

// --- Go's fmt: %v ----------------------------------------------------------------

std::string go_float(double d) {
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
    // %g with the shortest digits: %e when the exponent is < -4 or >= 6 (Go's
    // strconv for the shortest precision), else %f.
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));
    auto e = sci.find('e');
    auto digits = sci.substr(e + 1);
    if (digits.starts_with('+')) digits.remove_prefix(1);
    int exp = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), exp);
    if (exp < -4 || exp >= 6) return std::string(sci);
    r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
    return std::string(buf, r.ptr);
}

void go_print(std::string& out, const json& v, int depth) {
    switch (v.type()) {
    case json::value_t::null: out += "<nil>"; return;
    case json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; return;
    case json::value_t::number_integer: append_number(out, v.get<std::int64_t>()); return;
    case json::value_t::number_unsigned: append_number(out, v.get<std::uint64_t>()); return;
    case json::value_t::number_float: out += go_float(v.get<double>()); return;
    case json::value_t::string: out += v.get_ref<const std::string&>(); return;
    case json::value_t::array:
    case json::value_t::object:
    case json::value_t::binary: break;
    case json::value_t::discarded: return;
    }
    bool obj = v.is_object();
    out += obj ? "map[" : "[";
    if (depth >= kMaxPrintDepth) {
        out += "...]";
        return;
    }
    if (v.is_binary()) {
        bool first = true;
        for (auto b : v.get_binary()) {
            if (!first) out += ' ';
            first = false;
            append_number(out, static_cast<unsigned>(b));
        }
    } else {
        for (auto it = v.begin(); it != v.end(); ++it) {
            if (it != v.begin()) out += ' ';
            if (obj) {
                out += it.key();
                out += ':';
            }
            go_print(out, *it, depth + 1);
        }
    }
    out += ']';
}

std::string go_print(const json& v) {
    std::string s;
    go_print(s, v);
    return s;
}

std::string go_type(const json& v) {
    switch (v.type()) {
    case json::value_t::null: return "<nil>";
    case json::value_t::boolean: return "bool";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "int";
    case json::value_t::number_float: return "float64";
    case json::value_t::string: return "string";
    case json::value_t::array: return "[]interface {}";
    case json::value_t::object: return "map[string]interface {}";
    case json::value_t::binary: return "[]uint8";
    case json::value_t::discarded: break;
    }
    return "invalid";
}

std::string go_quote(std::string_view s, bool ascii, char quote) {
    std::string out(1, quote);
    for (std::size_t i = 0; i < s.size();) {
        auto [r, n] = decode_rune(s.substr(i));
        if (r == kBadRune) {
            out += "\\x" + hex(static_cast<unsigned char>(s[i]), 2);
            ++i;
            continue;
        }
        if (r == static_cast<char32_t>(quote) || r == '\\') {
            out += '\\';
            out += static_cast<char>(r);
        } else if (r < 0x80 && r >= 0x20 && r != 0x7f) {
            out += static_cast<char>(r);
        } else if (r < 0x80) {
            switch (r) {
            case '\a': out += "\\a"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\v': out += "\\v"; break;
            default: out += "\\x" + hex(r, 2);
            }
        } else if (ascii || r < 0xA0 || r == 0xAD || r == 0x2028 || r == 0x2029 || r == 0xFEFF) {  // (not printable)
            out += r < 0x10000 ? "\\u" + hex(r, 4) : "\\U" + hex(r, 8);
        } else {
            out += s.substr(i, n);
        }
        i += n;
    }
    out += quote;
    return out;
}

// --- Go's fmt: Sprintf -------------------------------------------------------------

namespace {

struct Spec {
    bool minus = false, plus = false, sharp = false, space = false, zero = false;
    std::size_t width = 0;  // (0: none)
    std::optional<std::size_t> prec;
};

// Pad to the width (in runes): spaces on the left, on the right with '-',
// zeros with '0' (strings too, as Go).
void pad(std::string& out, std::string_view s, const Spec& sp, bool zeros = true) {
    std::size_t n = rune_count(s);
    if (n >= sp.width) {
        out += s;
        return;
    }
    std::size_t fill = sp.width - n;
    if (sp.minus) {
        out += s;
        out.append(fill, ' ');
    } else {
        out.append(fill, sp.zero && zeros ? '0' : ' ');
        out += s;
    }
}

// Sign (or prefix) then digits, zero-padded between them with '0'.
void pad_number(std::string& out, std::string prefix, std::string digits, const Spec& sp, bool zeros) {
    if (zeros && sp.zero && !sp.minus && sp.width > prefix.size() + digits.size())
        digits.insert(0, sp.width - prefix.size() - digits.size(), '0');
    pad(out, prefix + digits, sp, false);
}

void fmt_int(std::string& out, const Spec& sp, char32_t verb, bool neg, std::uint64_t mag) {
    int base = verb == 'x' || verb == 'X' ? 16 : verb == 'o' || verb == 'O' ? 8 : verb == 'b' ? 2 : 10;
    std::string digits;
    append_number(digits, mag, base);
    if (verb == 'X') upper_ascii(digits);
    if (sp.prec) {
        if (*sp.prec == 0 && mag == 0) digits.clear();
        else if (digits.size() < *sp.prec) digits.insert(0, *sp.prec - digits.size(), '0');
    }
    std::string prefix = neg ? "-" : sp.plus ? "+" : sp.space ? " " : "";
    if (verb == 'O') prefix += "0o";
    if (sp.sharp) {
        if (verb == 'x') prefix += "0x";
        if (verb == 'X') prefix += "0X";
        if (verb == 'b') prefix += "0b";
        if (verb == 'o' && !digits.starts_with('0')) prefix += "0";
    }
    pad_number(out, std::move(prefix), std::move(digits), sp, !sp.prec);
}

void fmt_float(std::string& out, const Spec& sp, char32_t verb, double d) {
    bool neg = std::signbit(d);
    double a = std::abs(d);
    if (std::isnan(d) || std::isinf(d)) {  // (never zero-padded)
        std::string sign = std::isnan(d) ? (sp.plus ? "+" : sp.space ? " " : "") : neg ? "-" : sp.plus || !sp.space ? "+" : " ";
        pad(out, sign + (std::isnan(d) ? "NaN" : "Inf"), sp, false);
        return;
    }
    std::string body;
    bool upper = verb == 'E' || verb == 'F' || verb == 'G';
    if (sp.sharp && verb != 'v') {  // (C's alternate form is Go's: keep the point and %g's zeros)
        int prec = static_cast<int>(sp.prec.value_or(6));
        if (prec == 0 && (verb == 'g' || verb == 'G')) prec = 1;
        auto c_format = [&](char* buf, std::size_t n) {
            switch (verb) {
            case 'e':
            case 'E': return std::snprintf(buf, n, "%#.*e", prec, a);
            case 'f':
            case 'F': return std::snprintf(buf, n, "%#.*f", prec, a);
            default: return std::snprintf(buf, n, "%#.*g", prec, a);
            }
        };
        int len = c_format(nullptr, 0);
        body.resize(len > 0 ? static_cast<std::size_t>(len) + 1 : 1);
        c_format(body.data(), body.size());
        body.resize(body.size() - 1);
    } else if (verb == 'v' || ((verb == 'g' || verb == 'G') && !sp.prec)) {
        body = go_float(a);
    } else {
        std::size_t prec = sp.prec.value_or(6);
        std::chars_format cf = std::chars_format::general;
        if (verb == 'e' || verb == 'E') cf = std::chars_format::scientific;
        else if (verb == 'f' || verb == 'F') cf = std::chars_format::fixed;
        else if (prec == 0) prec = 1;
        body.resize(prec + 400);  // (the digits of DBL_MAX, the precision's, sign and exponent)
        auto r = std::to_chars(body.data(), body.data() + body.size(), a, cf, static_cast<int>(prec));
        body.resize(r.ec == std::errc() ? static_cast<std::size_t>(r.ptr - body.data()) : 0);
    }
    if (upper) upper_ascii(body);
    pad_number(out, neg ? "-" : sp.plus ? "+" : sp.space ? " " : "", std::move(body), sp, true);
}

// A whole number's sign and magnitude (integral floats too: JSON's numbers).
bool int_parts(const json& j, bool& neg, std::uint64_t& mag) {
    if (j.is_number_unsigned()) {
        neg = false, mag = j.get<std::uint64_t>();
        return true;
    }
    if (j.is_number_integer()) {
        auto v = j.get<std::int64_t>();
        neg = v < 0, mag = neg ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
        return true;
    }
    if (j.is_number_float()) {
        double d = j.get<double>();
        if (std::trunc(d) != d || std::abs(d) >= 1.8e19) return false;
        neg = d < 0, mag = static_cast<std::uint64_t>(std::abs(d));
        return true;
    }
    return false;
}

void format_one(std::string& out, Spec sp, char32_t verb, std::string_view verb_text, const json& j) {
    auto bad = [&] {
        out += "%!";
        out += verb_text;
        out += '(';
        if (j.is_null()) {
            out += "<nil>";
        } else {
            out += go_type(j);
            out += '=';
            go_print(out, j);
        }
        out += ')';
    };
    auto text = [&](std::string_view s) { return sp.prec ? first_runes(s, *sp.prec) : s; };
    bool neg = false;
    std::uint64_t mag = 0;
    switch (verb) {
    case 'v':
        sp.plus = sp.sharp = false;  // (%+v and %#v: Go's struct field names and syntax; plain for JSON's values)
        if (j.is_number_integer() && int_parts(j, neg, mag)) fmt_int(out, sp, 'd', neg, mag);
        else if (j.is_number_float()) fmt_float(out, sp, sp.prec ? 'g' : 'v', j.get<double>());
        else if (j.is_string()) pad(out, text(j.get_ref<const std::string&>()), sp);
        else pad(out, go_print(j), sp);
        return;
    case 'd':
    case 'b':
    case 'o':
    case 'O':
    case 'x':
    case 'X':
        if (int_parts(j, neg, mag)) {
            fmt_int(out, sp, verb, neg, mag);
        } else if (j.is_string() && (verb == 'x' || verb == 'X')) {  // the bytes in hex
            std::string h;
            bool first = true;
            for (char c : std::string_view(j.get_ref<const std::string&>()).substr(0, sp.prec.value_or(std::string::npos))) {
                if (sp.space && !first) h += ' ';  // (% x: spaced bytes, each prefixed with %# x)
                if (sp.sharp && (sp.space || first)) h += "0x";
                h += hex(static_cast<unsigned char>(c), 2);
                first = false;
            }
            if (verb == 'X') upper_ascii(h);
            pad(out, h, sp);
        } else {
            bad();
        }
        return;
    case 'c':
    case 'q':
    case 'U':
        if (j.is_number_integer() && int_parts(j, neg, mag)) {  // a rune
            bool valid = !neg && mag <= 0x10FFFF && (mag < 0xD800 || mag >= 0xE000);
            auto r = valid ? static_cast<char32_t>(mag) : char32_t{0xFFFD};
            std::string s;
            append_utf8(s, r);
            if (verb == 'q') {
                s = go_quote(s, sp.plus, '\'');
            } else if (verb == 'U') {
                std::string u;
                append_number(u, neg ? 0 - mag : mag, 16);  // (a negative one: two's complement, as Go)
                if (u.size() < 4) u.insert(0, 4 - u.size(), '0');
                u = "U+" + u;
                upper_ascii(u);
                s = sp.sharp && valid ? u + " '" + s + "'" : u;
            }
            pad(out, s, sp);
        } else if (verb == 'q' && j.is_string()) {
            pad(out, go_quote(text(j.get_ref<const std::string&>()), sp.plus), sp);
        } else {
            bad();
        }
        return;
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
        if (j.is_number()) fmt_float(out, sp, verb, j.get<double>());
        else bad();
        return;
    case 's':
        if (j.is_string()) pad(out, text(j.get_ref<const std::string&>()), sp);
        else if (j.is_array() || j.is_object()) pad(out, go_print(j), sp);
        else bad();
        return;
    case 't':
        if (j.is_boolean()) pad(out, j.get<bool>() ? "true" : "false", sp);
        else bad();
        return;
    default:
        bad();
    }
}

}  // namespace

std::optional<std::string> go_printf(std::string_view f, std::span<const Value> args, std::size_t max) {
    constexpr std::size_t kTooLarge = 1'000'000;  // (Go's limit of widths and precisions)
    std::string out;
    std::size_t argi = 0;
    // A '*' width or precision: the next argument, an int.
    auto star = [&](std::optional<std::int64_t>& v) {
        bool neg = false;
        std::uint64_t mag = 0;
        if (argi < args.size() && args[argi]->is_number_integer() && int_parts(*args[argi], neg, mag) &&
            mag <= kTooLarge)
            v = neg ? -static_cast<std::int64_t>(mag) : static_cast<std::int64_t>(mag);
        ++argi;
    };
    auto digits = [&](std::size_t& i, std::optional<std::size_t>& v, bool& big) {
        std::size_t n = 0;
        bool any = false;
        for (; i < f.size() && f[i] >= '0' && f[i] <= '9'; ++i) {
            any = true;
            if (n <= kTooLarge) n = n * 10 + static_cast<std::size_t>(f[i] - '0');
        }
        big = n > kTooLarge;
        if (any && !big) v = n;
    };
    bool reordered = false;  // (an explicit index: no EXTRA complaint, as Go)
    bool bad_index = false;
    // `[n]`: the next argument is the n-th (from 1).
    auto arg_index = [&](std::size_t& i) {
        if (i >= f.size() || f[i] != '[') return;
        reordered = true;
        auto close = f.find(']', i);
        if (close == std::string_view::npos) {
            bad_index = true;
            i = f.size();
            return;
        }
        std::size_t n = 0;
        auto [p, ec] = std::from_chars(f.data() + i + 1, f.data() + close, n);
        i = close + 1;
        if (ec != std::errc() || p != f.data() + close || n < 1 || n > args.size()) {
            bad_index = true;
            return;
        }
        argi = n - 1;
    };
    for (std::size_t i = 0; i < f.size();) {
        if (out.size() > max) return std::nullopt;
        auto pct = f.find('%', i);
        out += f.substr(i, pct == std::string_view::npos ? std::string_view::npos : pct - i);
        if (pct == std::string_view::npos) break;
        i = pct + 1;
        Spec sp;
        for (bool flags = true; flags && i < f.size(); ++i) {
            switch (f[i]) {
            case '-': sp.minus = true, sp.zero = false; break;
            case '+': sp.plus = true; break;
            case '#': sp.sharp = true; break;
            case ' ': sp.space = true; break;
            case '0': sp.zero = !sp.minus; break;
            default: flags = false, --i;
            }
        }
        bad_index = false;
        arg_index(i);
        if (i < f.size() && f[i] == '*') {
            ++i;
            std::optional<std::int64_t> w;
            star(w);
            if (!w) {
                out += "%!(BADWIDTH)";
            } else {
                if (*w < 0) sp.minus = true, sp.zero = false;
                sp.width = static_cast<std::size_t>(*w < 0 ? -*w : *w);
            }
        } else {
            std::optional<std::size_t> w;
            bool big = false;
            digits(i, w, big);
            if (big) out += "%!(BADWIDTH)";
            sp.width = w.value_or(0);
        }
        if (i < f.size() && f[i] == '.') {
            ++i;
            arg_index(i);
            if (i < f.size() && f[i] == '*') {
                ++i;
                std::optional<std::int64_t> p;
                star(p);
                if (!p) out += "%!(BADPREC)";
                else if (*p >= 0) sp.prec = static_cast<std::size_t>(*p);  // (a negative one: none)
            } else {
                bool big = false;
                digits(i, sp.prec, big);
                if (big) out += "%!(BADPREC)";
                else if (!sp.prec) sp.prec = 0;
            }
        }
        if (!bad_index) arg_index(i);
        if (i >= f.size()) {
            out += "%!(NOVERB)";
            break;
        }
        auto [verb, n] = decode_rune(f.substr(i));
        auto verb_text = f.substr(i, n);
        i += n;
        if (verb == '%') {
            out += '%';
        } else if (bad_index) {
            out += "%!";
            out += verb_text;
            out += "(BADINDEX)";
        } else if (argi >= args.size()) {
            out += "%!";
            out += verb_text;
            out += "(MISSING)";
        } else {
            format_one(out, sp, verb, verb_text, *args[argi++]);
        }
    }
    if (!reordered && argi < args.size()) {
        out += "%!(EXTRA ";
        for (std::size_t k = argi; k < args.size(); ++k) {
            if (k > argi) out += ", ";
            if (args[k]->is_null()) {
                out += "<nil>";
            } else {
                out += go_type(*args[k]);
                out += '=';
                go_print(out, *args[k]);
            }
        }
        out += ')';
    }
    if (out.size() > max) return std::nullopt;
    return out;
}

}  // namespace detail

// --- the API ------------------------------------------------------------------------

namespace {

std::unexpected<Error> exception_error(const std::exception& e) {
    return error(std::string("template: ") + e.what());
}

std::string dump_line(const nlohmann::json& data) {
    return data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

Result<Template> Template::parse(std::string_view text) {
    try {
        auto tree = HAKO_TRY(detail::parse_tree(text));
        Template t;
        t.tree_ = std::make_shared<const detail::Tree>(std::move(tree));
        return t;
    } catch (const std::exception& e) {
        return exception_error(e);
    }
}

Result<std::string> Template::render(const nlohmann::json& data) const {
    if (!tree_) return std::string();
    try {
        return detail::execute(*tree_, data, false);
    } catch (const std::exception& e) {
        return exception_error(e);
    }
}

Result<std::string> Template::render_header(const nlohmann::json& headers) const {
    if (!tree_) return std::string();
    try {
        return detail::execute(*tree_, headers, true);
    } catch (const std::exception& e) {
        return exception_error(e);
    }
}

Result<ListFormat> parse_list_format(std::string_view format) {
    ListFormat lf;
    if (format == "json") {
        lf.row = HAKO_TRY(Template::parse("{{json .}}"));
        return lf;
    }
    if (format.starts_with("table")) {
        lf.table = true;
        format.remove_prefix(5);
    }
    while (format.starts_with(' ')) format.remove_prefix(1);
    while (format.ends_with(' ')) format.remove_suffix(1);
    std::string text;  // `\t` and `\n` as typed in a shell
    for (std::size_t i = 0; i < format.size(); ++i) {
        if (format[i] == '\\' && i + 1 < format.size() && (format[i + 1] == 't' || format[i + 1] == 'n')) {
            text += format[++i] == 't' ? '\t' : '\n';
        } else {
            text += format[i];
        }
    }
    lf.row = HAKO_TRY(Template::parse(text));
    if (lf.table) lf.header = lf.row;
    return lf;
}

std::string align_columns(std::string_view text) {
    constexpr std::size_t kMinWidth = 10, kPadding = 3;
    std::vector<std::vector<std::string_view>> cells;  // per line; the last cell is not in a column
    for (auto line : fields(text, '\n')) cells.push_back(fields(line, '\t'));
    // The unterminated last line: an empty cell after its last tab is no cell
    // (so the cell before it is the line's last, not in a column), as Go's Flush.
    if (cells.back().size() > 1 && cells.back().back().empty()) cells.back().pop_back();
    std::vector<std::vector<std::size_t>> widths(cells.size());
    for (std::size_t i = 0; i < cells.size(); ++i) widths[i].resize(cells[i].size() - 1);
    // Go's tabwriter: a column's block is a run of consecutive lines that have
    // the column, inside its left neighbour's block.
    struct Block {
        std::size_t col, from, to;
    };
    std::vector<Block> todo{{0, 0, cells.size()}};
    while (!todo.empty()) {
        auto [col, from, to] = todo.back();
        todo.pop_back();
        for (std::size_t i = from; i < to;) {
            if (cells[i].size() <= col + 1) {
                ++i;
                continue;
            }
            std::size_t start = i, width = kMinWidth;
            for (; i < to && cells[i].size() > col + 1; ++i)
                width = std::max(width, detail::rune_count(cells[i][col]) + kPadding);
            for (std::size_t k = start; k < i; ++k) widths[k][col] = width;
            todo.push_back({col + 1, start, i});
        }
    }
    std::string out;
    for (std::size_t i = 0; i < cells.size(); ++i) {
        if (i > 0) out += '\n';
        for (std::size_t c = 0; c < cells[i].size(); ++c) {
            out += cells[i][c];
            if (c < widths[i].size()) out.append(widths[i][c] - detail::rune_count(cells[i][c]), ' ');
        }
    }
    return out;
}

Result<std::string> render_list(std::string_view format, const std::vector<nlohmann::json>& rows,
                                const nlohmann::json& headers) {
    return render_list(format, rows.size(), [&rows](std::size_t i) { return rows[i]; }, headers);
}

Result<std::string> render_list(std::string_view format, std::size_t n, const RowSource& row,
                                const nlohmann::json& headers) {
    auto lf = HAKO_TRY(parse_list_format(format));
    try {
        std::string out;
        if (lf.table) {
            out += HAKO_TRY(lf.header->render_header(headers));
            out += '\n';
        }
        for (std::size_t i = 0; i < n; ++i) {
            out += HAKO_TRY(lf.row.render(row(i)));
            out += '\n';
            if (out.size() > detail::kMaxOutput)
                return error("template: the output is too large (the limit is " +
                             std::to_string(detail::kMaxOutput >> 20) + " MiB)");
        }
        return lf.table ? align_columns(out) : out;
    } catch (const std::exception& e) {
        return exception_error(e);
    }
}

Result<std::string> render_one(std::string_view format, const nlohmann::json& data) {
    if (format == "json") {
        try {
            return dump_line(data) + "\n";
        } catch (const std::exception& e) {
            return exception_error(e);
        }
    }
    auto t = HAKO_TRY(Template::parse(format));
    auto s = HAKO_TRY(t.render(data));
    s += '\n';
    return s;
}

}  // namespace hako::format
