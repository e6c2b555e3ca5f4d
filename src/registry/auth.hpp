// Registry credentials and challenges: WWW-Authenticate parsing, the
// containers auth file ($REGISTRY_AUTH_FILE, ${XDG_RUNTIME_DIR}/containers/
// auth.json, /run/containers/<uid>/auth.json), docker's ~/.docker/config.json
// with its credential helpers (docker-credential-NAME get).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace hako::registry {

struct Credentials {
    std::string username, password;
    std::string identity_token;  // an OAuth2 refresh token (instead of a password)
    [[nodiscard]] bool empty() const { return username.empty() && identity_token.empty(); }
};

struct Challenge {
    std::string scheme;                         // "bearer", "basic" (lower case)
    std::map<std::string, std::string> params;  // realm, service, scope, error
};
// Every challenge of a WWW-Authenticate value (RFC 7235 syntax).
std::vector<Challenge> parse_challenges(std::string_view header);

std::string base64_encode(std::string_view s);
Result<std::string> base64_decode(std::string_view s);

// Where `hako login` writes: --authfile, else $REGISTRY_AUTH_FILE, else
// ${XDG_RUNTIME_DIR}/containers/auth.json, else /run/containers/<uid>/auth.json.
std::string auth_file_path(const std::string& authfile = "");

// The credentials for `registry` ("quay.io", "127.0.0.1:5000"): the auth
// file, then ~/.docker/config.json (auths, credHelpers, credsStore).
// nullopt when none; an error for a broken file or a failing helper.
Result<std::optional<Credentials>> find_credentials(const std::string& registry, const std::string& authfile = "");

// Write / remove the entry of `registry` in the auth file.
Status store_credentials(const std::string& registry, const Credentials& c, const std::string& authfile = "");
// false when there was none.
Result<bool> remove_credentials(const std::string& registry, const std::string& authfile = "");

}  // namespace hako::registry
