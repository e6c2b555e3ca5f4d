// Paths inside a container's rootfs, resolved as if the rootfs were "/":
// a symlink in the rootfs can never lead outside it (CVE-2021-30465).
// openat2(RESOLVE_IN_ROOT) where the kernel has it, a userspace walk otherwise.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "sys/fd.hpp"

namespace hako::sys {

// Lexically clean an absolute-or-relative path into components:
// "a//b/./../c" -> {"a","c"}; ".." never rises above the start.
std::vector<std::string> clean_components(std::string_view path);
// "/a/c" form of the same.
std::string clean_path(std::string_view path);

// Open `path` inside root (an O_PATH fd). `flags`: O_PATH plus optionally
// O_DIRECTORY / O_NOFOLLOW (the last component is not followed then).
Result<UniqueFd> open_in_root(int rootfd, std::string_view path, int flags);

// mkdir -p inside root; returns an O_PATH fd of the directory.
Result<UniqueFd> mkdir_all_in_root(int rootfd, std::string_view path, mode_t mode);

// Make sure `path` exists inside root, as a directory or (as_file) an empty
// regular file, creating parents; returns an O_PATH fd of it.
Result<UniqueFd> ensure_in_root(int rootfd, std::string_view path, bool as_file, mode_t mode);

// For tests: force the userspace fallback.
void set_openat2_disabled(bool disabled);

}  // namespace hako::sys
