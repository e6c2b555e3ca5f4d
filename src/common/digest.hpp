// SHA-256 (OpenSSL's low-level SHA256_*: no provider machinery at start)
// and hex encoding: the seccomp filter cache's key, image layers' names.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace hako {

// Lower-case hex of `bytes`.
std::string to_hex(std::span<const unsigned char> bytes);

class Sha256 {
public:
    Sha256();
    void update(const void* p, std::size_t n);
    std::string hex();  // once, at the end

private:
    alignas(8) unsigned char ctx_[112];  // SHA256_CTX (kept out of this header)
};

std::string sha256_hex(std::string_view data);

// 64 hex digits from the kernel's random source (container and network ids).
std::string random_id();

}  // namespace hako
