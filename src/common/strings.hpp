// Small string helpers shared by the parsers of kernel files and paths.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hako {

// Split on `sep`, dropping empty pieces: split("a::b:", ':') -> {"a", "b"}.
// The views point into `s`.
std::vector<std::string_view> split(std::string_view s, char sep);
// Split on `sep`, keeping empty pieces: fields("root:x:0:", ':') -> {"root", "x", "0", ""}
// (/etc/passwd and /etc/group lines).
std::vector<std::string_view> fields(std::string_view s, char sep);

// "a,b,c" from {"a","b","c"} and ",".
std::string join_strings(const std::vector<std::string>& parts, std::string_view sep);

// The current time as RFC 3339 with nanoseconds, UTC ("2026-11-29T01:02:03.000000004Z").
std::string now_rfc3339();

}  // namespace hako
