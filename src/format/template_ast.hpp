// Internal to src/format/template*.cpp: a parsed Go template's tree, values, limits, printing helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace hako::format::detail {

using nlohmann::json;

// Guards against hostile templates (fuzzing, a typo in a loop): how deep
// blocks and parentheses nest, what one render may write and compute.
inline constexpr int kMaxNesting = 100;
inline constexpr std::size_t kMaxOutput = std::size_t{64} << 20;     // bytes written
inline constexpr std::size_t kMaxProduced = std::size_t{256} << 20;  // bytes made by functions
inline constexpr std::uint64_t kMaxSteps = 5'000'000;                // actions, commands, iterations
inline constexpr int kMaxPrintDepth = 100;                           // nested arrays/maps printed

struct Pipe;

enum class OpKind {
    Dot,       // `.` or `.A.B` (fields on dot)
    Variable,  // `$`, `$x`, `$x.A`
    Sub,       // `(pipeline)`, `(pipeline).A`
    Func,      // a function's name (no fields: `f.A` is parsed as `(f).A`)
    Literal,   // "s", `raw`, 'c', 12, 1.5, true
    Nil,       // nil
};

struct Operand {
    OpKind kind = OpKind::Dot;
    std::string name;                           // Variable: "$x"; Func: "join"
    std::vector<std::string> fields;            // `.A.B` -> {"A", "B"}
    std::shared_ptr<const json> literal;        // Literal
    std::shared_ptr<const Pipe> sub;            // Sub
    std::string text;                           // its source, for errors
};

struct Command {
    std::vector<Operand> args;  // never empty
    std::string text;
};

struct Pipe {
    std::vector<std::string> vars;  // `$x :=` / `$i, $e :=` / `$x =`
    bool assign = false;            // `=` rather than `:=`
    std::vector<Command> cmds;      // never empty
    std::string text;               // its source, for errors
};

struct Node;
using List = std::vector<Node>;

enum class NodeKind { Text, Action, If, Range, With, Break, Continue };

struct Node {
    NodeKind kind = NodeKind::Text;
    std::string text;  // Text
    Pipe pipe;         // Action, If, Range, With
    List list;         // If, Range, With
    List else_list;    // (an `else if` is an If alone in else_list)
};

struct Tree {
    List root;
};

Result<Tree> parse_tree(std::string_view text);
bool is_function(std::string_view name);

// A value during a render: a pointer into the caller's data, or into a
// value computed by the template that `keep` owns. Copies share.
struct Value {
    std::shared_ptr<const json> keep;
    const json* p = nullptr;

    const json& operator*() const { return *p; }
    const json* operator->() const { return p; }
    static Value ref(const json& j) { return {nullptr, &j}; }
    static Value own(json j) {
        auto k = std::make_shared<const json>(std::move(j));
        const json* raw = k.get();
        return {std::move(k), raw};
    }
    Value child(const json& c) const { return {keep, &c}; }
};

// header: docker's HeaderFunctions (json, split, join return their first
// argument) and missing fields render as "" (a table's header row).
Result<std::string> execute(const Tree& tree, const json& data, bool header);

// Go's fmt, as the template package prints values: %v of a value.
void go_print(std::string& out, const json& v, int depth = 0);
std::string go_print(const json& v);
std::string go_float(double d);           // %v of a float64
std::string go_type(const json& v);       // "string", "int", "[]interface {}"...
// strconv.Quote (ascii: QuoteToASCII; quote '\'': QuoteRune's quoting).
std::string go_quote(std::string_view s, bool ascii = false, char quote = '"');
// fmt.Sprintf over template values; nullopt if the result would pass `max` bytes.
std::optional<std::string> go_printf(std::string_view format, std::span<const Value> args, std::size_t max);

// UTF-8: the rune at s[0] and its length (an invalid byte: {kBadRune, 1}).
inline constexpr char32_t kBadRune = 0xFFFFFFFF;
std::pair<char32_t, std::size_t> decode_rune(std::string_view s);
std::size_t rune_count(std::string_view s);  // (an invalid byte counts one, as Go's)
void append_utf8(std::string& out, char32_t r);

}  // namespace hako::format::detail
