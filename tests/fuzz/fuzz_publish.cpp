// Fuzz: `-p` and ExposedPorts specs (net/ports).
#include <string_view>

#include "net/ports.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);
    if (auto p = hako::net::parse_publish(s)) {
        if (p->ctr_first == 0 || p->ctr_last < p->ctr_first) __builtin_trap();
        if (p->host_first != 0 && p->ctr_last > p->ctr_first &&
            p->host_last - p->host_first != p->ctr_last - p->ctr_first)
            __builtin_trap();  // ranges map one to one
    }
    (void)hako::net::parse_exposed(s);
    return 0;
}
