// Writes into procfs that nothing mounted by or for a container can redirect
// (CVE-2025-52881): the file must be procfs's own, on the /proc mount itself.
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace hako::sys {

// Write `content` to `path` (absolute, under /proc) in one write. Refused,
// naming the path, when /proc is not the root of a procfs or the opened
// file is not on that very mount (something is mounted over it: a bind of
// /proc/sys/kernel/core_pattern onto /proc/sys/kernel/domainname, say, would
// turn a sysctl into a write to the host's core_pattern).
Status write_proc(const std::string& path, std::string_view content);

}  // namespace hako::sys
