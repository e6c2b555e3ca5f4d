// Fuzz: a network definition file (<root>/networks/NAME.json), read at
// every run on the network: corrupt JSON is an error, never a crash.
#include <string>

#include "frontend/network_internal.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    auto d = hako::frontend::def_from_json(text, "fuzz.json");
    if (d) {
        auto again = hako::frontend::def_from_json(hako::frontend::def_to_json(*d).dump(), "again.json");
        if (!again || again->name != d->name || again->subnets.size() != d->subnets.size()) __builtin_trap();
    }
    return 0;
}
