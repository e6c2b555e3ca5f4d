// .containerignore / .dockerignore: which paths of a build context a COPY
// or ADD never sees (moby's patternmatcher rules: `*` `?` `[...]` within a
// path segment, `**` across segments, a pattern also excludes everything
// below what it matches, `!` re-includes, the last matching line wins).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hako::build {

class Ignore {
public:
    Ignore() = default;
    // The file's text: one pattern a line, `#` comments.
    explicit Ignore(std::string_view text);
    // `path`: relative to the context root, "/"-separated ("a/b.txt").
    [[nodiscard]] bool excluded(std::string_view path) const;
    // Whether a `!` pattern might re-include something below an excluded
    // directory (then it must still be walked).
    [[nodiscard]] bool has_exceptions() const { return exceptions_; }
    [[nodiscard]] bool empty() const { return rules_.empty(); }

private:
    struct Rule {
        std::string pattern;
        bool exclude = true;
    };
    std::vector<Rule> rules_;
    bool exceptions_ = false;
};

// One pattern against a whole path (the matcher itself, for tests).
bool path_match(std::string_view pattern, std::string_view path);

}  // namespace hako::build
