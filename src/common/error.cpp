#include "common/error.hpp"

#include <cstring>
#include <string>

namespace hako {

std::string errno_name(int e) {
    if (const char* n = strerrorname_np(e)) return n;
    return "errno " + std::to_string(e);
}

std::string Error::what() const {
    if (err <= 0) return msg;  // (negative: a mark of the caller's, e.g. registry::kTransient)
    std::string out = msg;
    out += ": ";
    out += errno_name(err);
    out += " (";
    out += std::strerror(err);
    out += ")";
    return out;
}

Error Error::context(std::string_view ctx) && {
    std::string m(ctx);
    if (!msg.empty()) {
        m += ": ";
        m += msg;
    }
    msg = std::move(m);
    return std::move(*this);
}

}  // namespace hako
