// A small HTTP/1.1 client for registries (Boost.Beast on OpenSSL, linked
// statically): keep-alive per origin, TLS with the system's CAs plus a
// registry's own, client certificates, HTTP(S)_PROXY/NO_PROXY, a timeout
// on every step (a stalled transfer fails naming the stall), bodies
// streamed both ways. Not thread-safe: one HttpClient per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace hako::registry {

struct Url {
    std::string scheme = "https";  // "http" | "https"
    std::string host;              // "127.0.0.1", "registry-1.docker.io", "::1" (no brackets)
    std::string port;              // "443" when not written
    std::string target = "/";      // path and query

    static Result<Url> parse(std::string_view s);
    // "host[:port]" (the port only when not the scheme's default), brackets for IPv6
    [[nodiscard]] std::string authority() const;
    [[nodiscard]] std::string str() const { return scheme + "://" + authority() + target; }
    // A Location header's URL: absolute, "//host/…", "/path" or relative.
    [[nodiscard]] Url resolve(std::string_view location) const;
    [[nodiscard]] bool same_origin(const Url& o) const {
        return scheme == o.scheme && host == o.host && port == o.port;
    }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Response {
    int status = 0;
    std::string reason;
    Headers headers;   // names in lower case
    std::string body;  // when not streamed to a sink
    // The first header `name` (lower case), "" when absent.
    [[nodiscard]] std::string header(std::string_view name) const;
    [[nodiscard]] std::vector<std::string> headers_named(std::string_view name) const;
};

struct Request {
    std::string method = "GET";
    Url url;
    Headers headers;
    std::string body;     // a small body
    int body_fd = -1;     // or `body_size` bytes of this fd from `body_offset` (pread)
    uint64_t body_offset = 0, body_size = 0;
};

struct TlsConfig {
    bool verify = true;
    std::vector<std::string> ca_files;  // trusted besides the system's
    std::string cert_file, key_file;    // a client certificate
};

struct HttpOptions {
    // TLS settings for "host[:port]" (the authority); default: verify, system CAs.
    std::function<TlsConfig(const std::string& authority)> tls_for;
    std::chrono::milliseconds connect_timeout{30000};
    std::chrono::milliseconds io_timeout{60000};  // no byte for this long: a stall
    std::string user_agent = "hako/" HAKO_VERSION;
    bool use_proxy_env = true;  // HTTPS_PROXY, HTTP_PROXY, NO_PROXY
};

// The `err` of an error worth retrying (a refused or broken connection, a
// stall); others (TLS, DNS, bad URLs) are not.
inline constexpr int kTransient = -2;
std::unexpected<Error> transient(std::string msg);

// A 2xx body, chunk by chunk (the response's head first seen in `head`).
using Sink = std::function<Status(const Response& head, const char* data, size_t n)>;

class HttpClient {
public:
    explicit HttpClient(HttpOptions opts = {});
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // One exchange. A 2xx body goes to `sink` when there is one; any other
    // body (and a 2xx one without a sink) is read into Response::body, up to
    // `max_body` bytes (beyond: an error). Redirects are the caller's.
    Result<Response> send(const Request& req, const Sink& sink = {}, size_t max_body = 4u << 20);
    // Bytes of bodies received so far (for rates).
    [[nodiscard]] uint64_t received() const { return received_; }
    const HttpOptions& options() const { return opts_; }

private:
    struct Conn;
    Result<Response> exchange(Conn& c, const Request& req, const Sink& sink, size_t max_body, bool& sent_any);
    Result<std::unique_ptr<Conn>> connect(const Url& url);
    HttpOptions opts_;
    std::unique_ptr<Conn> conn_;
    uint64_t received_ = 0;
};

// The proxy for `url` from HTTPS_PROXY / HTTP_PROXY (either case), unless
// NO_PROXY names its host; nullopt-like empty host when none.
Url proxy_for(const Url& url);

}  // namespace hako::registry
