// Fuzz: a resolver's names file and resolv.conf text (net/resolver, net/dns).
#include <string>

#include "net/dns.hpp"
#include "net/resolver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    auto names = hako::net::parse_names(text);
    for (const auto& [name, addrs] : names.by_name)
        if (addrs.empty()) __builtin_trap();
    (void)hako::net::dns::nameservers(text);
    return 0;
}
