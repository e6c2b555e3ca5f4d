// Fuzz: the values of `hako run`'s flags (frontend/options.cpp, spec.cpp,
// common/strings.cpp): -v, --mount, --tmpfs, --restart, durations, sizes,
// --detach-keys, subnets. Errors, never a crash.
#include <string>

#include "common/strings.hpp"
#include "frontend/attach.hpp"
#include "frontend/engine.hpp"
#include "net/addr.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace hako;
    std::string s(reinterpret_cast<const char*>(data), size);
    (void)parse_size(s, "--memory");
    (void)frontend::parse_duration(s, "--health-interval");
    (void)frontend::parse_restart(s);
    (void)frontend::parse_detach_keys(s);
    (void)net::Prefix::parse(s);
    (void)net::Prefix::parse(s, false);
    auto none = [](const std::string&) -> Result<std::vector<frontend::MountSpec>> { return std::vector<frontend::MountSpec>{}; };
    for (int which = 0; which < 4; ++which) {
        frontend::RunOptions o;
        (which == 0 ? o.volumes : which == 1 ? o.mounts : which == 2 ? o.tmpfs : o.volumes_from).push_back(s);
        if (auto m = frontend::parse_mounts(o, {}, none))
            for (const auto& spec : *m)
                if (spec.destination.empty() || spec.destination.front() != '/') __builtin_trap();
    }
    return 0;
}
