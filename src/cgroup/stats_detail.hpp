// Internals of stats.cpp (`events --stats`), exposed for the unit tests: the
// readers work on directories, so tests can point them at fake cgroups.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace hako::cgroup::detail {

// runc's stats object from v1 hierarchies: controller name ("cpu",
// "cpuacct", "cpuset", "memory", "pids", "blkio", "hugetlb") -> its
// directory; a missing or empty entry is a controller the host lacks. A
// directory that is a v2 one (it has cgroup.controllers: a hybrid host's
// unified leaf) is read with the v2 files.
nlohmann::json stats_v1(const std::map<std::string, std::string>& ctrl_dirs);
// The same from the one directory of a cgroup v2 leaf.
nlohmann::json stats_v2(const std::string& dir);

// A cgroup file's unsigned number as runc reads it: "max" -> UINT64_MAX, a
// negative number (kernel accounting glitches) -> 0; surrounding whitespace
// ignored; nullopt when it is not a number.
std::optional<uint64_t> parse_uint(std::string_view s);
// A cpuset list ("0-3,8,10-11") -> {0,1,2,3,8,10,11}; empty when malformed.
std::vector<uint16_t> parse_cpu_list(std::string_view s);

}  // namespace hako::cgroup::detail
