#include "common/digest.hpp"

#define OPENSSL_SUPPRESS_DEPRECATED  // SHA256_Init & co.: OpenSSL 3's EVP fetches providers at every start
#include <openssl/sha.h>
#include <sys/random.h>

#include <cstdlib>

namespace hako {

static_assert(sizeof(SHA256_CTX) <= 112, "Sha256::ctx_ too small");

std::string to_hex(std::span<const unsigned char> bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
    return out;
}

Sha256::Sha256() { SHA256_Init(reinterpret_cast<SHA256_CTX*>(ctx_)); }

void Sha256::update(const void* p, std::size_t n) { SHA256_Update(reinterpret_cast<SHA256_CTX*>(ctx_), p, n); }

std::string Sha256::hex() {
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_Final(md, reinterpret_cast<SHA256_CTX*>(ctx_));
    return to_hex(md);
}

std::string sha256_hex(std::string_view data) {
    Sha256 s;
    s.update(data.data(), data.size());
    return s.hex();
}

std::string random_id() {
    unsigned char b[32];
    if (getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b))
        for (auto& c : b) c = static_cast<unsigned char>(rand());
    return to_hex(b);
}

}  // namespace hako
