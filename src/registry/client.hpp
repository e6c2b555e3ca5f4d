// A client of one repository on an OCI distribution registry: the /v2/
// ping (HTTPS, or plain HTTP where allowed), bearer tokens per scope
// (cached, shared by every connection of a pull, one retry on
// insufficient_scope), basic auth, retries of 429 and 5xx with backoff
// honouring Retry-After, redirects (Authorization stays with the
// registry), blobs streamed and resumed with Range, uploads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "registry/auth.hpp"
#include "registry/http.hpp"

namespace hako::registry {

struct ClientOptions {
    bool tls_verify = true;  // false: TLS unverified, and plain HTTP allowed
    bool insecure = false;   // registries.conf's insecure: the same
    std::vector<std::string> cert_dirs = {"/etc/containers/certs.d", "/etc/docker/certs.d"};
    std::optional<Credentials> creds;  // --creds (else the auth files)
    std::string authfile;
    int retries = 3;                            // of a 429, 5xx or broken transfer
    std::chrono::milliseconds retry_delay{1000};  // the first backoff (doubled each time)
    std::chrono::milliseconds io_timeout{60000};  // a stalled transfer
};

// The registry's error, as the user should read it ("manifest unknown:
// …"), from a failed response (its errors[] JSON when there is one).
std::string describe_failure(const Response& r, const std::string& what);

class Repository {
public:
    // `registry`: "host[:port]" ("docker.io" means registry-1.docker.io).
    Repository(std::string registry, std::string repository, ClientOptions opts);
    ~Repository();
    Repository(Repository&&) noexcept;
    // Another connection to the same repository, sharing tokens and the ping.
    [[nodiscard]] Repository fork() const;
    [[nodiscard]] const std::string& registry() const;
    [[nodiscard]] const std::string& repository() const { return repo_; }

    struct Fetched {
        std::string body, media_type, digest;  // digest: sha256 of body
    };
    // A manifest or index by tag or digest (checked against a digest).
    Result<Fetched> manifest(const std::string& tag_or_digest, bool push_scope = false);
    // A small blob (a config) whole, checked against `digest`.
    Result<std::string> small_blob(const std::string& digest, size_t max_bytes);
    // A blob's bytes in order to `on`; a broken transfer resumes (Range, or
    // skipping what arrived already when the server ignores Range).
    Status blob(const std::string& digest, const std::function<Status(const char*, size_t)>& on);

    Result<bool> has_blob(const std::string& digest);
    // A cross-repository mount from `from` (same registry): true when done.
    Result<bool> mount_blob(const std::string& digest, const std::string& from);
    // `size` bytes of `fd` as blob `digest`: one PUT, or PATCHes of `chunk` bytes (0: one PUT).
    Status upload_blob(const std::string& digest, int fd, uint64_t size, uint64_t chunk = 0);
    Status put_manifest(const std::string& tag_or_digest, const std::string& body, const std::string& media_type);
    // The /v2/ ping and credentials check (login): ok, or why not.
    Status check_login();

private:
    struct Shared;
    Repository(std::shared_ptr<Shared> s, std::string repo);
    Status ping();
    std::string scope(bool push) const;
    Result<std::string> token(const std::string& scope, bool fresh);
    Result<std::string> authorization(const std::string& scope, bool fresh);
    // One request with auth, retries and redirects (GET/HEAD follow them).
    Result<Response> call(Request req, const std::string& scope, const Sink& sink = {}, size_t max_body = 4u << 20);
    Url url(const std::string& path) const;
    std::shared_ptr<Shared> shared_;
    std::string repo_;
    std::unique_ptr<HttpClient> http_;
};

}  // namespace hako::registry
