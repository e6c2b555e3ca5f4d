// Fuzz: image references as users and registries.conf give them
// (registry/reference): parse, print, parse again (a fixed point).
#include <string>

#include "registry/reference.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace hako::registry;
    std::string s(reinterpret_cast<const char*>(data), size);
    auto r = parse_reference(s);
    if (!r) return 0;
    if (r->registry.empty() || r->repository.empty()) __builtin_trap();
    auto again = parse_reference(r->str());
    if (!again || again->str() != r->str()) __builtin_trap();
    (void)familiar(r->str());
    return 0;
}
