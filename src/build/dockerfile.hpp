// The Dockerfile/Containerfile parser (BuildKit's grammar): parser
// directives, line continuations with the escape character, comments,
// instructions with their --flags, exec (JSON) and shell forms, heredocs;
// and the pieces instructions are made of (key=value pairs, stages).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace hako::build {

struct Heredoc {
    std::string name;     // the delimiter word
    std::string body;     // the lines between, each ending in "\n"
    bool expand = true;   // false: the delimiter was quoted
    bool chomp = false;   // <<-: leading tabs stripped
};

struct Instruction {
    int line = 0;                     // its first line in the file (1-based)
    std::string keyword;              // upper case: "RUN"
    std::vector<std::string> flags;   // "--from=build", as written (expanded later)
    std::string args;                 // the rest, continuations joined
    bool json = false;                // exec form: args was a JSON array of strings
    std::vector<std::string> json_args;
    std::vector<Heredoc> heredocs;
    std::string text;                 // "KEYWORD args" on one line (for STEP output)

    // A flag's value: "--from=x" -> "x"; "--link" -> ""; none: nullopt.
    [[nodiscard]] std::optional<std::string> flag(std::string_view name) const;
    [[nodiscard]] std::vector<std::string> flag_all(std::string_view name) const;
};

struct Dockerfile {
    char escape = '\\';
    std::string syntax;  // the `# syntax=` directive (kept, not acted on)
    std::vector<Instruction> instructions;
};

// `name` is the file's name for errors ("Dockerfile:7: ...").
Result<Dockerfile> parse(std::string_view text, const std::string& name = "Dockerfile");
// One instruction on its own (an ONBUILD trigger).
Result<Instruction> parse_line(std::string_view line, char escape, const std::string& where);

// Words of `s` split on unquoted whitespace, quotes and escapes kept as
// written (for ENV/LABEL/ARG pairs, expanded later).
std::vector<std::string> split_raw(std::string_view s, char escape);
// ENV/LABEL: "k=v k2=v2" (or ENV's legacy "k the value"): raw pairs.
Result<std::vector<std::pair<std::string, std::string>>> key_values(const Instruction& in, char escape);

// The stages of a Dockerfile: the ARGs before the first FROM, then each FROM
// with the instructions up to the next.
struct Stage {
    size_t index = 0;
    std::string name;    // AS name (lower case), or ""
    const Instruction* from = nullptr;
    std::string base;    // FROM's image argument, unexpanded
    std::vector<const Instruction*> body;
};
struct Stages {
    std::vector<const Instruction*> global_args;
    std::vector<Stage> stages;
};
Result<Stages> stages_of(const Dockerfile& df, const std::string& name = "Dockerfile");

// Whether `kw` is an instruction BuildKit knows.
bool known_instruction(std::string_view kw);

}  // namespace hako::build
