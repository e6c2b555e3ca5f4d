// Fuzz: IP addresses, CIDRs (--subnet, --ip-range), MACs (net/addr).
#include <string_view>

#include "net/addr.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);
    using namespace hako::net;
    if (auto p = Prefix::parse(s, false)) {
        // What parses prints back and parses again to itself.
        auto again = Prefix::parse(p->str());
        if (!again || *again != *p) __builtin_trap();
        if (!p->contains(p->addr) || !p->contains(p->last())) __builtin_trap();
        if (auto n = p->nth(p->size() - 1); !n || !p->contains(*n)) __builtin_trap();
    }
    if (auto a = IpAddr::parse(s)) {
        if (IpAddr::parse(a->str()) != a) __builtin_trap();
        if (ip_of(sockaddr_of(*a, 80).ss) != *a && !(a->v6 && a->b[10] == 0xff && a->b[11] == 0xff)) __builtin_trap();
    }
    if (auto m = parse_mac(s)) {
        if (parse_mac(mac_str(*m)) != m) __builtin_trap();
    }
    return 0;
}
