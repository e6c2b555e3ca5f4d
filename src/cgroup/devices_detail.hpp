// Internals of devices.cpp, exposed for the unit tests: the v1 line format,
// the v1 writes, the v2 eBPF program and the query of attached programs.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "oci/spec.hpp"

namespace hako::cgroup::devices_detail {

// A rule with the spec's shorthands resolved: type "" -> "a", access "" ->
// "rwm", major/minor -1 -> absent (wildcard). An "a" rule gets access "rwm"
// and no numbers: the kernel ignores both for it (it resets the list).
oci::DeviceCgroupRule normalized(const oci::DeviceCgroupRule& r);

// The v1 devices.allow / devices.deny line: "c 1:3 rwm", "b 8:* m",
// "a *:* rwm". No newline: the kernel takes one rule per write.
std::string rule_line(const oci::DeviceCgroupRule& r);

// Write each rule, in order, to `dir`/devices.allow or `dir`/devices.deny
// with one call of `write(path, line)` per rule (apply_devices_v1 passes
// sys::write_file; the tests record the calls).
using WriteFn = std::function<Status(const std::string& path, std::string_view line)>;
Status write_v1_rules(const std::string& dir, const std::vector<oci::DeviceCgroupRule>& rules,
                      const WriteFn& write);

// The BPF_PROG_TYPE_CGROUP_DEVICE program for `rules` (see devices.cpp for
// its layout). Errors name the rule's index: an unknown type or access, or
// a number the program cannot compare (> INT32_MAX, negative but not -1).
Result<std::vector<bpf_insn>> device_filter(const std::vector<oci::DeviceCgroupRule>& rules);

// The ids of the BPF_CGROUP_DEVICE programs attached to the cgroup `dirfd`
// itself (not inherited from its parents).
Result<std::vector<uint32_t>> attached_device_programs(int dirfd);

}  // namespace hako::cgroup::devices_detail
