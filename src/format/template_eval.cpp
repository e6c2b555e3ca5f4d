// Go text/template's execution over JSON: the walk, pipelines, variables, and the functions.
#include <cmath>
#include <cstdint>
#include <limits>
#include <locale>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "format/template_ast.hpp"

namespace hako::format::detail {
namespace {

const json& null_json() {
    static const json n;
    return n;
}
const json& empty_string_json() {
    static const json s = "";
    return s;
}

std::unexpected<Error> fail(std::string_view ctx, std::string_view msg) {
    return error("template: `" + std::string(ctx) + "`: " + std::string(msg));
}

// Go's truth: false, 0, "", nil and empty arrays and maps are false.
bool truth(const json& j) {
    switch (j.type()) {
    case json::value_t::boolean: return j.get<bool>();
    case json::value_t::number_integer: return j.get<std::int64_t>() != 0;
    case json::value_t::number_unsigned: return j.get<std::uint64_t>() != 0;
    case json::value_t::number_float: return j.get<double>() != 0;
    case json::value_t::string: return !j.get_ref<const std::string&>().empty();
    case json::value_t::array:
    case json::value_t::object: return !j.empty();
    case json::value_t::binary: return !j.get_binary().empty();
    default: return false;
    }
}

// What the functions may still make (kMaxProduced in all, a render).
struct Budget {
    std::size_t used = 0;
    static std::unexpected<Error> too_much() {
        return error("the template makes too much data (the limit is " + std::to_string(kMaxProduced >> 20) + " MiB)");
    }
    Status take(std::size_t n) {
        if (n > kMaxProduced - used) return too_much();
        used += n;
        return {};
    }
    std::size_t room() const { return kMaxProduced - used; }
};

// Parameters. Strings accept numbers and bools too (printed): JSON has
// fewer types than docker's structs.
Result<std::string> str_arg(const json& j) {
    if (j.is_string()) return j.get<std::string>();
    if (j.is_number() || j.is_boolean()) return go_print(j);
    return error("wrong type for value; expected string; got " + go_type(j));
}
Result<std::int64_t> int_arg(const json& j) {
    if (j.is_number_unsigned()) {
        auto u = j.get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            return error("integer " + std::to_string(u) + " too large");
        return static_cast<std::int64_t>(u);
    }
    if (j.is_number_integer()) return j.get<std::int64_t>();
    if (j.is_number_float()) {
        double d = j.get<double>();
        if (std::trunc(d) == d && std::abs(d) < 9.2e18) return static_cast<std::int64_t>(d);
    }
    return error("wrong type for value; expected int; got " + go_type(j));
}
// An array index: an integer (not a float, as Go).
Result<std::int64_t> index_arg(const json& j) {
    if (!j.is_number_integer()) return error("cannot index slice/array with type " + go_type(j));
    if (j.is_number_unsigned() &&
        j.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return error("index out of range: " + std::to_string(j.get<std::uint64_t>()));
    return j.get<std::int64_t>();
}

Result<Value> own_string(Budget& b, std::string s) {
    HAKO_TRY(b.take(s.size()));
    return Value::own(json(std::move(s)));
}

// --- comparison (eq ne lt le gt ge) ---------------------------------------------

std::partial_ordering compare_numbers(const json& x, const json& y) {
    if (x.is_number_integer() && y.is_number_integer()) {
        auto wide = [](const json& j) -> __int128 {
            return j.is_number_unsigned() ? static_cast<__int128>(j.get<std::uint64_t>())
                                          : static_cast<__int128>(j.get<std::int64_t>());
        };
        return wide(x) <=> wide(y);
    }
    return x.get<double>() <=> y.get<double>();  // (ints and floats compare: JSON does not keep the difference)
}

bool is_basic(const json& j) { return j.is_number() || j.is_string() || j.is_boolean(); }

Result<bool> equal(const json& x, const json& y) {
    if (x.is_null() || y.is_null()) return x.is_null() && y.is_null();
    if (x.is_number() && y.is_number()) return compare_numbers(x, y) == 0;
    if (!is_basic(x)) return error("non-comparable type " + go_type(x));
    if (!is_basic(y)) return error("non-comparable type " + go_type(y));
    if (x.type() != y.type()) return error("incompatible types for comparison");
    return x == y;
}

Result<bool> less(const json& x, const json& y) {
    if (!is_basic(x) || !is_basic(y)) return error("invalid type for comparison");
    if (x.is_number() && y.is_number()) return compare_numbers(x, y) < 0;
    if (x.type() != y.type()) return error("incompatible types for comparison");
    if (x.is_boolean()) return error("invalid type for comparison");
    return x.get_ref<const std::string&>() < y.get_ref<const std::string&>();
}

Value boolean(bool b) {
    static const json t = true, f = false;
    return Value::ref(b ? t : f);
}

// --- the functions ------------------------------------------------------------------

using Args = std::span<const Value>;

Result<Value> fn_eq(Budget&, Args a) {
    if (a.size() < 2) return error("missing argument for comparison");
    for (const Value& v : a.subspan(1))
        if (HAKO_TRY(equal(*a[0], *v))) return boolean(true);
    return boolean(false);
}
Result<Value> fn_ne(Budget&, Args a) { return boolean(!HAKO_TRY(equal(*a[0], *a[1]))); }
Result<Value> fn_lt(Budget&, Args a) { return boolean(HAKO_TRY(less(*a[0], *a[1]))); }
Result<Value> fn_le(Budget&, Args a) {
    if (HAKO_TRY(less(*a[0], *a[1]))) return boolean(true);
    return boolean(HAKO_TRY(equal(*a[0], *a[1])));
}
Result<Value> fn_gt(Budget& b, Args a) { return boolean(!truth(*HAKO_TRY(fn_le(b, a)))); }
Result<Value> fn_ge(Budget&, Args a) { return boolean(!HAKO_TRY(less(*a[0], *a[1]))); }
Result<Value> fn_not(Budget&, Args a) { return boolean(!truth(*a[0])); }

Result<Value> fn_len(Budget&, Args a) {
    const json& j = *a[0];
    if (j.is_string()) return Value::own(json(j.get_ref<const std::string&>().size()));
    if (j.is_array() || j.is_object()) return Value::own(json(j.size()));
    if (j.is_binary()) return Value::own(json(j.get_binary().size()));
    if (j.is_null()) return Value::own(json(0));  // (as a nil slice or map)
    return error("len of type " + go_type(j));
}

Result<Value> fn_index(Budget&, Args a) {
    Value cur = a[0];
    for (const Value& key : a.subspan(1)) {
        const json& j = *cur;
        if (j.is_null()) return Value::ref(null_json());  // (as a nil map: the zero value)
        if (j.is_array() || j.is_string()) {
            auto i = HAKO_TRY(index_arg(*key));
            std::size_t n = j.is_array() ? j.size() : j.get_ref<const std::string&>().size();
            if (i < 0 || static_cast<std::size_t>(i) >= n) return error("index out of range: " + std::to_string(i));
            if (j.is_array())
                cur = cur.child(j.get_ref<const json::array_t&>()[static_cast<std::size_t>(i)]);
            else  // a byte, as Go's index of a string
                cur = Value::own(json(static_cast<unsigned char>(j.get_ref<const std::string&>()[static_cast<std::size_t>(i)])));
        } else if (j.is_object()) {
            if (!key->is_string()) return error("value has type " + go_type(*key) + "; should be string");
            auto it = j.find(key->get_ref<const std::string&>());
            if (it == j.end()) return Value::ref(null_json());
            cur = cur.child(*it);
        } else {
            return error("can't index item of type " + go_type(j));
        }
    }
    return cur;
}

Result<Value> fn_slice(Budget& b, Args a) {
    const json& j = *a[0];
    if (a.size() > 4) return error("too many slice indexes: " + std::to_string(a.size() - 1));
    if (j.is_null()) return error("slice of untyped nil");
    if (!j.is_array() && !j.is_string()) return error("can't slice item of type " + go_type(j));
    if (j.is_string() && a.size() == 4) return error("cannot 3-index slice a string");
    std::size_t len = j.is_array() ? j.size() : j.get_ref<const std::string&>().size();
    std::vector<std::size_t> idx;
    for (const Value& v : a.subspan(1)) {
        auto i = HAKO_TRY(index_arg(*v));
        if (i < 0 || static_cast<std::size_t>(i) > len) return error("index out of range: " + std::to_string(i));
        idx.push_back(static_cast<std::size_t>(i));
    }
    std::size_t from = idx.empty() ? 0 : idx[0], to = idx.size() < 2 ? len : idx[1];
    if (from > to) return error("invalid slice index: " + std::to_string(from) + " > " + std::to_string(to));
    if (idx.size() == 3 && to > idx[2])
        return error("invalid slice index: " + std::to_string(to) + " > " + std::to_string(idx[2]));
    if (j.is_string()) {
        HAKO_TRY(b.take(to - from));
        return Value::own(json(j.get_ref<const std::string&>().substr(from, to - from)));
    }
    HAKO_TRY(b.take((to - from) * sizeof(json)));
    const auto& arr = j.get_ref<const json::array_t&>();
    return Value::own(json(json::array_t(arr.begin() + static_cast<std::ptrdiff_t>(from),
                                         arr.begin() + static_cast<std::ptrdiff_t>(to))));
}

Result<Value> fn_print(Budget& b, Args a) {
    std::string s;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (i > 0 && !a[i - 1]->is_string() && !a[i]->is_string()) s += ' ';  // (as fmt.Sprint)
        go_print(s, *a[i]);
    }
    HAKO_TRY(b.take(s.size()));
    return Value::own(json(std::move(s)));
}
Result<Value> fn_println(Budget& b, Args a) {
    std::string s;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (i > 0) s += ' ';
        go_print(s, *a[i]);
    }
    s += '\n';
    HAKO_TRY(b.take(s.size()));
    return Value::own(json(std::move(s)));
}
Result<Value> fn_printf(Budget& b, Args a) {
    auto format = HAKO_TRY(str_arg(*a[0]));
    auto s = go_printf(format, a.subspan(1), b.room());
    if (!s) return Budget::too_much();
    HAKO_TRY(b.take(s->size()));
    return Value::own(json(std::move(*s)));
}

// docker's: json split join title lower upper pad truncate.
Result<Value> fn_json(Budget& b, Args a) {
    auto s = a[0]->dump(-1, ' ', false, json::error_handler_t::replace);
    HAKO_TRY(b.take(s.size()));
    return Value::own(json(std::move(s)));
}

Result<Value> fn_split(Budget& b, Args a) {
    auto s = HAKO_TRY(str_arg(*a[0]));
    auto sep = HAKO_TRY(str_arg(*a[1]));
    json::array_t out;
    auto piece = [&](std::string_view p) -> Status {
        HAKO_TRY(b.take(p.size() + sizeof(json)));
        out.emplace_back(std::string(p));
        return {};
    };
    std::string_view rest = s;
    if (sep.empty()) {  // (into UTF-8 sequences)
        while (!rest.empty()) {
            auto n = decode_rune(rest).second;
            HAKO_TRY(piece(rest.substr(0, n)));
            rest.remove_prefix(n);
        }
    } else {
        for (;;) {
            auto x = rest.find(sep);
            HAKO_TRY(piece(rest.substr(0, x)));
            if (x == std::string_view::npos) break;
            rest.remove_prefix(x + sep.size());
        }
    }
    return Value::own(json(std::move(out)));
}

Result<Value> fn_join(Budget& b, Args a) {
    const json& list = *a[0];
    auto sep = HAKO_TRY(str_arg(*a[1]));
    if (list.is_null()) return Value::ref(empty_string_json());
    if (!list.is_array()) return error("wrong type for value; expected []string; got " + go_type(list));
    std::vector<std::string> parts;
    std::size_t total = 0;
    for (const json& e : list) {
        if (!is_basic(e)) return error("wrong type for an element; expected string; got " + go_type(e));
        parts.push_back(HAKO_TRY(str_arg(e)));
        total += parts.back().size();
    }
    if (!parts.empty()) total += (parts.size() - 1) * sep.size();
    HAKO_TRY(b.take(total));
    std::string out;
    out.reserve(total);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) out += sep;
        out += parts[i];
    }
    return Value::own(json(std::move(out)));
}

// strings.ToUpper, ToLower (ASCII letters only), strings.Title.
Result<Value> fn_upper(Budget& b, Args a) {
    auto s = HAKO_TRY(str_arg(*a[0]));
    std::use_facet<std::ctype<char>>(std::locale::classic()).toupper(s.data(), s.data() + s.size());
    return own_string(b, std::move(s));
}
Result<Value> fn_lower(Budget& b, Args a) {
    auto s = HAKO_TRY(str_arg(*a[0]));
    std::use_facet<std::ctype<char>>(std::locale::classic()).tolower(s.data(), s.data() + s.size());
    return own_string(b, std::move(s));
}
Result<Value> fn_title(Budget& b, Args a) {
    auto s = HAKO_TRY(str_arg(*a[0]));
    const auto& ct = std::use_facet<std::ctype<char>>(std::locale::classic());
    bool after_separator = true;
    for (std::size_t i = 0; i < s.size();) {
        auto n = decode_rune(std::string_view(s).substr(i)).second;
        char c = s[i];
        bool ascii = static_cast<unsigned char>(c) < 0x80;
        if (after_separator && ascii) s[i] = ct.toupper(c);
        // Go's isSeparator: ASCII but letters, digits and '_' (other runes: as letters)
        after_separator = ascii && !ct.is(std::ctype_base::alnum, c) && c != '_';
        i += n;
    }
    return own_string(b, std::move(s));
}

Result<Value> fn_pad(Budget& b, Args a) {
    auto s = HAKO_TRY(str_arg(*a[0]));
    auto left = HAKO_TRY(int_arg(*a[1]));
    auto right = HAKO_TRY(int_arg(*a[2]));
    if (left < 0 || right < 0) return error("negative count");
    if (s.empty()) return Value::ref(empty_string_json());
    HAKO_TRY(b.take(static_cast<std::size_t>(left)));
    HAKO_TRY(b.take(static_cast<std::size_t>(right)));
    HAKO_TRY(b.take(s.size()));
    std::string out(static_cast<std::size_t>(left), ' ');
    out += s;
    out.append(static_cast<std::size_t>(right), ' ');
    return Value::own(json(std::move(out)));
}

Result<Value> fn_truncate(Budget& b, Args a) {
    auto s = HAKO_TRY(str_arg(*a[0]));
    auto n = HAKO_TRY(int_arg(*a[1]));
    if (n < 0) return error("negative length");
    if (s.size() > static_cast<std::size_t>(n)) s.resize(static_cast<std::size_t>(n));  // (bytes, as docker's)
    return own_string(b, std::move(s));
}

using Fn = Result<Value> (*)(Budget&, Args);
constexpr std::size_t kAny = std::numeric_limits<std::size_t>::max();

struct Builtin {
    std::string_view name;
    std::size_t min, max;  // arguments
    Fn fn;
    bool header_same = false;  // docker's HeaderFunctions: the first argument, unchanged
};

// (and, or: evaluated lazily, in Exec::call)
const Builtin kBuiltins[] = {
    {"eq", 1, kAny, fn_eq},          {"ge", 2, 2, fn_ge},
    {"gt", 2, 2, fn_gt},             {"index", 1, kAny, fn_index},
    {"join", 2, 2, fn_join, true},   {"json", 1, 1, fn_json, true},
    {"le", 2, 2, fn_le},             {"len", 1, 1, fn_len},
    {"lower", 1, 1, fn_lower},       {"lt", 2, 2, fn_lt},
    {"ne", 2, 2, fn_ne},             {"not", 1, 1, fn_not},
    {"pad", 3, 3, fn_pad},           {"print", 0, kAny, fn_print},
    {"printf", 1, kAny, fn_printf},  {"println", 0, kAny, fn_println},
    {"slice", 1, kAny, fn_slice},    {"split", 2, 2, fn_split, true},
    {"title", 1, 1, fn_title},       {"truncate", 2, 2, fn_truncate},
    {"upper", 1, 1, fn_upper},
};

const Builtin* builtin(std::string_view name) {
    for (const Builtin& b : kBuiltins)
        if (b.name == name) return &b;
    return nullptr;
}

// "fields: A, B, C" (sorted: json objects are), at most 20.
std::string list_fields(const json& obj) {
    if (obj.empty()) return "no fields";
    std::string s = "fields: ";
    std::size_t n = 0;
    for (auto it = obj.begin(); it != obj.end(); ++it, ++n) {
        if (n == 20) {
            s += ", ...";
            break;
        }
        if (n > 0) s += ", ";
        s += it.key();
    }
    return s;
}

class Exec {
public:
    Exec(const json& data, bool header) : header_(header) { vars_.push_back({"$", Value::ref(data)}); }

    Result<std::string> run(const List& root) {
        Value dot = vars_.front().v;
        HAKO_TRY(walk(dot, root));
        return std::move(out_);
    }

private:
    enum class Flow { Next, Break, Continue };
    struct Var {
        std::string name;
        Value v;
    };

    bool header_;
    std::vector<Var> vars_;
    std::string out_;
    std::uint64_t steps_ = 0;
    Budget budget_;

    Status step() {
        if (++steps_ > kMaxSteps)
            return error("template: the render takes too long (over " + std::to_string(kMaxSteps) + " steps)");
        return {};
    }
    Status emit(std::string_view s) {
        if (s.size() > kMaxOutput - out_.size())
            return error("template: the output is too large (the limit is " + std::to_string(kMaxOutput >> 20) +
                         " MiB)");
        out_ += s;
        return {};
    }
    // An action's value: "<no value>" for nil, as Go's maps' missing keys.
    Status print(const json& j) {
        if (j.is_null()) return emit("<no value>");
        if (j.is_string()) return emit(j.get_ref<const std::string&>());
        return emit(go_print(j));
    }

    Value lookup(std::string_view name) const {
        for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
            if (it->name == name) return it->v;
        return Value::ref(null_json());  // (the parser checked: not reached)
    }
    void set_var(std::string_view name, const Value& v) {
        for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
            if (it->name == name) {
                it->v = v;
                return;
            }
    }

    Result<Flow> walk(const Value& dot, const List& list) {
        for (const Node& n : list) {
            HAKO_TRY(step());
            switch (n.kind) {
            case NodeKind::Text:
                HAKO_TRY(emit(n.text));
                break;
            case NodeKind::Action: {
                Value v = HAKO_TRY(pipe(dot, n.pipe));
                if (n.pipe.vars.empty()) HAKO_TRY(print(*v));
                break;
            }
            case NodeKind::If:
            case NodeKind::With:
            case NodeKind::Range: {
                Flow f = n.kind == NodeKind::Range ? HAKO_TRY(range(dot, n)) : HAKO_TRY(if_with(dot, n));
                if (f != Flow::Next) return f;
                break;
            }
            case NodeKind::Break: return Flow::Break;
            case NodeKind::Continue: return Flow::Continue;
            }
        }
        return Flow::Next;
    }

    Result<Flow> if_with(const Value& dot, const Node& n) {
        auto mark = vars_.size();
        Value v = HAKO_TRY(pipe(dot, n.pipe));
        Flow f = truth(*v) ? HAKO_TRY(walk(n.kind == NodeKind::With ? v : dot, n.list))
                           : HAKO_TRY(walk(dot, n.else_list));
        vars_.resize(mark);
        return f;
    }

    Result<Flow> range(const Value& dot, const Node& n) {
        auto mark = vars_.size();
        Value v = HAKO_TRY(pipe(dot, n.pipe));
        const json& j = *v;
        const auto& decl = n.pipe.vars;
        std::size_t count = 0;
        // One iteration; false: {{break}}.
        auto one = [&](const Value& key, const Value& elem) -> Result<bool> {
            HAKO_TRY(step());
            ++count;
            if (decl.size() == 1) {
                set_var(decl[0], elem);
            } else if (decl.size() == 2) {
                set_var(decl[0], key);
                set_var(decl[1], elem);
            }
            auto inner = vars_.size();
            Flow f = HAKO_TRY(walk(elem, n.list));
            vars_.resize(inner);
            return f != Flow::Break;
        };
        if (j.is_array()) {
            const auto& arr = j.get_ref<const json::array_t&>();
            for (std::size_t i = 0; i < arr.size(); ++i)
                if (!HAKO_TRY(one(Value::own(json(i)), v.child(arr[i])))) break;
        } else if (j.is_object()) {
            for (auto it = j.begin(); it != j.end(); ++it)
                if (!HAKO_TRY(one(Value::own(json(it.key())), v.child(*it)))) break;
        } else if (j.is_number_integer()) {  // (Go 1.22: range over an int)
            if (decl.size() == 2) return fail(n.pipe.text, "can't use two variables to range over an integer");
            auto limit = HAKO_TRY(int_arg(j));
            for (std::int64_t i = 0; i < limit; ++i) {
                Value iv = Value::own(json(i));
                if (!HAKO_TRY(one(iv, iv))) break;
            }
        } else if (!j.is_null()) {  // (nil: nothing, as a nil slice)
            return fail(n.pipe.text, "range can't iterate over " + go_print(j));
        }
        Flow f = Flow::Next;
        if (count == 0) f = HAKO_TRY(walk(dot, n.else_list));
        vars_.resize(mark);
        return f;
    }

    Result<Value> pipe(const Value& dot, const Pipe& p) {
        std::optional<Value> prev;
        for (const Command& c : p.cmds) {
            Value v = HAKO_TRY(command(dot, c, prev ? &*prev : nullptr));
            prev = std::move(v);
        }
        for (const auto& name : p.vars) {
            if (p.assign)
                set_var(name, *prev);
            else
                vars_.push_back({name, *prev});
        }
        return std::move(*prev);
    }

    // `final`: the previous command's value in a pipeline, the last argument.
    Result<Value> command(const Value& dot, const Command& c, const Value* final) {
        HAKO_TRY(step());
        const Operand& head = c.args.front();
        bool has_args = c.args.size() > 1 || final;
        switch (head.kind) {
        case OpKind::Func:
            return call(dot, head.name, std::span(c.args).subspan(1), final, c.text);
        case OpKind::Nil:
            return fail(c.text, "nil is not a command");
        default:
            if (!has_args) break;
            if (head.fields.empty()) return fail(c.text, "can't give argument to non-function `" + head.text + "`");
            return fail(c.text, "`" + head.text + "` is not a method but has arguments");
        }
        return arg(dot, head);
    }

    Result<Value> arg(const Value& dot, const Operand& op) {
        Value v;
        switch (op.kind) {
        case OpKind::Dot: v = dot; break;
        case OpKind::Variable: v = lookup(op.name); break;
        case OpKind::Sub: v = HAKO_TRY(pipe(dot, *op.sub)); break;
        case OpKind::Func: return call(dot, op.name, {}, nullptr, op.text);
        case OpKind::Literal: v = Value{op.literal, op.literal.get()}; break;
        case OpKind::Nil: return Value::ref(null_json());
        }
        for (const auto& name : op.fields) v = HAKO_TRY(field(v, name, op.text));
        return v;
    }

    // `.name` of a value: an object's key (which must exist); nil's is nil.
    Result<Value> field(const Value& v, const std::string& name, std::string_view ctx) const {
        const json& j = *v;
        if (j.is_null()) return v;
        if (j.is_object()) {
            auto it = j.find(name);
            if (it != j.end()) return v.child(*it);
            if (header_) return Value::ref(empty_string_json());
            return fail(ctx, "no field `" + name + "` (" + list_fields(j) + ")");
        }
        if (header_ && j.is_string()) return v;  // (a header row: `.State.Status` is STATE's column)
        return fail(ctx, "can't evaluate field `" + name + "` in type " + go_type(j));
    }

    Result<Value> call(const Value& dot, const std::string& name, std::span<const Operand> args, const Value* final,
                       std::string_view ctx) {
        std::size_t n = args.size() + (final ? 1 : 0);
        if (name == "and" || name == "or") {  // the first false (true) argument, or the last
            if (n == 0) return fail(ctx, "wrong number of args for " + name + ": want at least 1 got 0");
            bool stop_at = name == "or";
            Value v;
            for (const Operand& a : args) {
                v = HAKO_TRY(arg(dot, a));
                if (truth(*v) == stop_at) return v;
            }
            if (final) v = *final;
            return v;
        }
        const Builtin* b = builtin(name);
        if (!b) return fail(ctx, "function `" + name + "` not defined");  // (the parser checked)
        if (n < b->min || n > b->max) {
            std::string want = b->min == b->max ? std::to_string(b->min) : "at least " + std::to_string(b->min);
            return fail(ctx, "wrong number of args for " + name + ": want " + want + " got " + std::to_string(n));
        }
        std::vector<Value> vals;
        vals.reserve(n);
        for (const Operand& a : args) vals.push_back(HAKO_TRY(arg(dot, a)));
        if (final) vals.push_back(*final);
        if (header_ && b->header_same) return vals.front();
        auto r = b->fn(budget_, vals);
        if (!r) return fail(ctx, "error calling " + name + ": " + r.error().msg);
        return r;
    }
};

}  // namespace

Result<std::string> execute(const Tree& tree, const json& data, bool header) {
    return Exec(data, header).run(tree.root);
}

}  // namespace hako::format::detail
