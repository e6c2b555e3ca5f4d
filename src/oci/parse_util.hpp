// Internal to the config.json parser (parse*.cpp): typed accessors over
// nlohmann::json that never throw and name the JSON path in their errors.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "oci/spec.hpp"

namespace hako::oci::parse_detail {

using json = nlohmann::json;

// A JSON value for an error message: compact, truncated.
std::string describe(const json& v);

// "process" + "user" -> "process.user"; "" + "process" -> "process".
std::string join(const std::string& path, std::string_view key);
// "mounts" + 2 -> "mounts[2]".
std::string index(const std::string& path, size_t i);

// `<path>: expected <want>, got <value>`.
std::unexpected<Error> type_error(const std::string& path, std::string_view want,
                                  const json& v);
// `<path>: <msg>`.
std::unexpected<Error> path_error(const std::string& path, std::string_view msg);

Result<std::string> as_string(const json& v, const std::string& path);
Result<bool> as_bool(const json& v, const std::string& path);
Result<uint32_t> as_u32(const json& v, const std::string& path);
Result<uint64_t> as_u64(const json& v, const std::string& path);
Result<int64_t> as_i64(const json& v, const std::string& path);
Result<int> as_int(const json& v, const std::string& path);
Result<std::vector<std::string>> as_string_array(const json& v, const std::string& path);
Result<std::vector<uint32_t>> as_u32_array(const json& v, const std::string& path);
Result<std::map<std::string, std::string>> as_string_map(const json& v,
                                                         const std::string& path);
Result<std::vector<IdMapping>> as_id_mappings(const json& v, const std::string& path);

// An object being read, with its path. get() returns nullptr for a missing
// key and for an explicit null (Go's encoding/json treats both alike).
class Obj {
public:
    static Result<Obj> from(const json& v, const std::string& path);

    [[nodiscard]] const json* get(std::string_view key) const;
    [[nodiscard]] std::string sub(std::string_view key) const { return join(path_, key); }
    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] const json& value() const { return *j_; }

private:
    Obj(const json& j, std::string path) : j_(&j), path_(std::move(path)) {}
    const json* j_;
    std::string path_;
};

// A string field that must be present: "<path>: required" otherwise.
Result<std::string> required_string(const Obj& o, std::string_view key);

// Map each element of a JSON array with `fn(elem, "path[i]") -> Result<T>`.
template <class T, class F>
Result<std::vector<T>> map_array(const json& v, const std::string& path, F&& fn) {
    if (!v.is_array()) return type_error(path, "an array", v);
    std::vector<T> out;
    out.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        auto r = fn(v[i], index(path, i));
        if (!r) return std::unexpected(std::move(r).error());
        out.push_back(std::move(*r));
    }
    return out;
}

// Sections parsed in parse_linux.cpp.
Result<Linux> parse_linux(const json& v, const std::string& path);
// linux.resources, in parse_resources.cpp.
Result<Resources> parse_resources(const json& v, const std::string& path);
Result<uint16_t> as_u16(const json& v, const std::string& path);

}  // namespace hako::oci::parse_detail

// Read optional field KEY of Obj O with accessor FN into DST:
//   HAKO_FIELD(o, "uid", user.uid, as_u32);
#define HAKO_FIELD(o, key, dst, fn) \
    if (const auto* _hako_v = (o).get(key)) (dst) = HAKO_TRY(fn(*_hako_v, (o).sub(key)))
