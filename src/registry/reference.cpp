// docker's reference grammar (distribution/reference), written out by hand:
//   reference := name [ ":" tag ] [ "@" digest ]
//   name      := [domain "/"] component ("/" component)*
//   component := [a-z0-9]+ ((("." | "_" | "__" | "-"+) [a-z0-9]+))*
//   domain    := host [":" port]   (host: DNS labels, or [IPv6])
//   tag       := [\w][\w.-]{0,127}
//   digest    := algorithm ":" hex (sha256: 64 lower-case hex digits)
// The name is at most 255 characters.
#include "registry/reference.hpp"

#include <cctype>

namespace hako::registry {
namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool word(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// One path component; "" when valid, else why not.
std::string check_component(std::string_view c) {
    if (c.empty()) return "an empty path component";
    if (!lower_alnum(c.front()) || !lower_alnum(c.back())) {
        for (char ch : c)
            if (ch >= 'A' && ch <= 'Z') return "repository name must be lowercase";
        return "a path component must start and end with a lower-case letter or digit";
    }
    for (size_t i = 0; i < c.size(); ++i) {
        char ch = c[i];
        if (lower_alnum(ch)) continue;
        if (ch >= 'A' && ch <= 'Z') return "repository name must be lowercase";
        if (ch == '.' || ch == '_') {
            // "." or "_" or "__", between alphanumerics
            size_t j = i;
            while (j < c.size() && c[j] == '_') ++j;
            if (ch == '.') j = i + 1;
            if (j - i > 2 || (ch == '.' && j - i != 1) || !lower_alnum(c[j])) return "invalid separator in `" + std::string(c) + "`";
            i = j - 1;
            continue;
        }
        if (ch == '-') {
            while (i + 1 < c.size() && c[i + 1] == '-') ++i;
            if (!lower_alnum(c[i + 1])) return "invalid separator in `" + std::string(c) + "`";
            continue;
        }
        return std::string("invalid character `") + ch + "`";
    }
    return "";
}

bool valid_host_label(std::string_view l) {
    if (l.empty() || l.size() > 63) return false;
    auto an = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
    if (!an(l.front()) || !an(l.back())) return false;
    for (char c : l)
        if (!an(c) && c != '-') return false;
    return true;
}

bool valid_domain(std::string_view d) {
    std::string_view host = d;
    if (!d.empty() && d.front() == '[') {  // [IPv6]:port
        auto close = d.find(']');
        if (close == std::string_view::npos || close < 3) return false;
        for (char c : d.substr(1, close - 1))
            if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
        std::string_view rest = d.substr(close + 1);
        if (rest.empty()) return true;
        if (rest.front() != ':' || rest.size() < 2) return false;
        for (char c : rest.substr(1))
            if (!std::isdigit(static_cast<unsigned char>(c))) return false;
        return true;
    }
    auto colon = d.find(':');
    if (colon != std::string_view::npos) {
        std::string_view port = d.substr(colon + 1);
        if (port.empty() || port.size() > 5) return false;
        for (char c : port)
            if (!std::isdigit(static_cast<unsigned char>(c))) return false;
        host = d.substr(0, colon);
    }
    if (host.empty()) return false;
    size_t start = 0;
    for (;;) {
        auto dot = host.find('.', start);
        if (!valid_host_label(host.substr(start, dot == std::string_view::npos ? dot : dot - start))) return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

}  // namespace

bool valid_digest(std::string_view d) {
    auto colon = d.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string_view alg = d.substr(0, colon), hex = d.substr(colon + 1);
    if (!std::isalpha(static_cast<unsigned char>(alg.front()))) return false;
    for (char c : alg)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '+' && c != '.') return false;
    if (hex.size() < 32) return false;
    for (char c : hex)
        if (!std::isxdigit(static_cast<unsigned char>(c)) || (c >= 'A' && c <= 'F')) return false;
    if (alg == "sha256" && hex.size() != 64) return false;
    if (alg == "sha512" && hex.size() != 128) return false;
    return true;
}

std::string Reference::str() const {
    std::string s = name();
    if (!tag.empty()) s += ":" + tag;
    if (!digest.empty()) s += "@" + digest;
    return s;
}

Result<Reference> parse_reference(std::string_view s, bool default_tag) {
    auto bad = [&](const std::string& why) {
        return error("invalid reference format `" + std::string(s) + "`: " + why);
    };
    if (s.empty()) return bad("empty");
    if (s.size() > 512) return bad("too long");
    Reference r;
    std::string_view rest = s;
    if (auto at = rest.find('@'); at != std::string_view::npos) {
        r.digest = std::string(rest.substr(at + 1));
        rest = rest.substr(0, at);
        if (!valid_digest(r.digest)) return bad("invalid digest `" + r.digest + "`");
    }
    // A tag is after the last ':' that follows the last '/'.
    auto slash = rest.rfind('/');
    auto colon = rest.rfind(':');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
        r.tag = std::string(rest.substr(colon + 1));
        rest = rest.substr(0, colon);
        if (r.tag.empty() || r.tag.size() > 128 || !word(r.tag[0])) return bad("invalid tag `" + r.tag + "`");
        for (char c : r.tag)
            if (!word(c) && c != '.' && c != '-') return bad("invalid tag `" + r.tag + "`");
    }
    if (rest.empty()) return bad("no repository name");
    // The registry: a first component with '.', ':', upper case or "localhost".
    auto first = rest.find('/');
    std::string_view path = rest;
    if (first != std::string_view::npos) {
        std::string_view dom = rest.substr(0, first);
        bool is_domain = dom == "localhost" || dom.find_first_of(".:[") != std::string_view::npos;
        for (char c : dom)
            if (c >= 'A' && c <= 'Z') is_domain = true;
        if (is_domain) {
            if (!valid_domain(dom)) return bad("invalid registry `" + std::string(dom) + "`");
            r.registry = std::string(dom);
            r.qualified = true;
            path = rest.substr(first + 1);
        }
    }
    if (r.registry.empty()) r.registry = std::string(kDockerHub);
    if (r.registry == "index.docker.io" || r.registry == "registry-1.docker.io") r.registry = std::string(kDockerHub);
    size_t start = 0;
    for (;;) {
        auto sl = path.find('/', start);
        std::string why = check_component(path.substr(start, sl == std::string_view::npos ? sl : sl - start));
        if (!why.empty()) return bad(why);
        if (sl == std::string_view::npos) break;
        start = sl + 1;
    }
    r.repository = std::string(path);
    if (r.registry == kDockerHub && r.repository.find('/') == std::string::npos) r.repository = "library/" + r.repository;
    if (r.name().size() > 255) return bad("repository name must not be more than 255 characters");
    if (r.tag.empty() && r.digest.empty() && default_tag) r.tag = "latest";
    return r;
}

std::string familiar(std::string_view canonical) {
    std::string s(canonical);
    if (s.rfind("docker.io/", 0) == 0) {
        s.erase(0, 10);
        if (s.rfind("library/", 0) == 0 && s.find('/', 8) == std::string::npos) s.erase(0, 8);
    }
    return s;
}

}  // namespace hako::registry
