// Fuzz: an OCI bundle's config.json (oci/parse*.cpp, validate.cpp): every
// input is a spec or an error naming its field, never a crash.
#include <string_view>

#include "oci/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);
    auto spec = hako::oci::parse_spec(s);
    if (!spec) {
        if (spec.error().what().empty()) __builtin_trap();
        return 0;
    }
    (void)hako::oci::validate_spec(*spec, true);
    (void)hako::oci::validate_spec(*spec, false);
    return 0;
}
