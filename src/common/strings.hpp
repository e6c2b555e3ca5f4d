// Small string helpers shared by the parsers of kernel files and paths.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace hako {

// Split on `sep`, dropping empty pieces: split("a::b:", ':') -> {"a", "b"}.
// The views point into `s`.
std::vector<std::string_view> split(std::string_view s, char sep);
// Split on `sep`, keeping empty pieces: fields("root:x:0:", ':') -> {"root", "x", "0", ""}
// (/etc/passwd and /etc/group lines).
std::vector<std::string_view> fields(std::string_view s, char sep);

// "a,b,c" from {"a","b","c"} and ",".
std::string join_strings(const std::vector<std::string>& parts, std::string_view sep);
// `s` as an error message quotes it: whole up to `max` bytes, else its
// start and "… (N bytes)" (a 10 MB value must not make a 10 MB message).
std::string elide(std::string_view s, size_t max = 200);

// The current time as RFC 3339 with nanoseconds, UTC ("2026-11-29T01:02:03.000000004Z").
std::string now_rfc3339();

// A size as docker and runc take it (go-units RAMInBytes): "1024", "512m",
// "1.5GiB", "2 kb"; units b k m g t p, binary, with an optional "b"/"ib".
// Errors name `what` and the value; no overflow (over 2^63-1 is an error).
Result<int64_t> parse_size(std::string_view s, std::string_view what);

}  // namespace hako
