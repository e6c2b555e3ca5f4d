// Variable expansion in Dockerfile instructions (BuildKit's shell lexer):
// $v ${v} and every modifier ${v:-w} ${v-w} ${v:+w} ${v+w} ${v:?m} ${v?m}
// ${v#p} ${v##p} ${v%p} ${v%%p} ${v/p/r} ${v//p/r}, quotes and the escape
// character, words split on unquoted whitespace.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace hako::build {

using Vars = std::map<std::string, std::string>;

struct Expander {
    const Vars& vars;
    char escape = '\\';
    // Heredoc bodies: quotes and escapes stay as written (only `\$` escapes).
    bool raw = false;

    // One word, quotes and escapes processed.
    [[nodiscard]] Result<std::string> word(std::string_view s) const;
    // Words split on unquoted whitespace (an unquoted variable's value is
    // split too; "" is an empty word).
    [[nodiscard]] Result<std::vector<std::string>> words(std::string_view s) const;
};

// "K=V" entries (an image's Env) as variables; "K" alone: empty.
Vars vars_of_env(const std::vector<std::string>& env);
// Set K to V in "K=V" entries: replaced where it is, else added at the end.
void set_env(std::vector<std::string>& env, const std::string& k, const std::string& v);

// Shell glob (fnmatch) of the whole `s`; for ${v#p} and friends.
bool glob_match(std::string_view pattern, std::string_view s);

}  // namespace hako::build
