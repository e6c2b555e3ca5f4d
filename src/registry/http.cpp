// The registry HTTP client (see http.hpp): Beast's parsers and serializers
// driven one operation at a time on a private io_context, so that every
// connect, handshake, write and read has a deadline (tcp_stream's expiry).
#include "registry/http.hpp"

#include "common/strings.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <fmt/format.h>
#include <limits>
#include <optional>

namespace hako::registry {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

std::string lower(std::string_view s) {
    std::string o(s);
    for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return o;
}

std::string getenv_either(const char* upper, const char* lower_name) {
    for (const char* n : {lower_name, upper})
        if (const char* v = getenv(n); v && *v) return v;
    return "";
}

bool is_ip_literal(const std::string& host) {
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

// "the registry's certificate is not trusted: …", "plain HTTP", or the ssl text.
std::string tls_failure(SSL* ssl, const error_code& ec, const std::string& authority) {
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (vr != X509_V_OK)
        return fmt::format("TLS handshake with `{}`: its certificate is not trusted: {} (add the CA to "
                           "/etc/containers/certs.d/{}/ca.crt, or use --tls-verify=false)",
                           authority, X509_verify_cert_error_string(vr), authority);
    if (ec.category() == asio::error::get_ssl_category()) {
        int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
        if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_HTTP_REQUEST || reason == SSL_R_PACKET_LENGTH_TOO_LONG)
            return fmt::format("TLS handshake with `{}`: the server answered in plain HTTP, it does not serve HTTPS "
                               "(mark it insecure in registries.conf or use --tls-verify=false)",
                               authority);
    }
    return fmt::format("TLS handshake with `{}`: {}", authority, ec.message());
}

}  // namespace

std::unexpected<Error> transient(std::string msg) { return std::unexpected(Error{kTransient, std::move(msg)}); }

// --- URLs -----------------------------------------------------------------------------------

Result<Url> Url::parse(std::string_view s) {
    Url u;
    auto sep = s.find("://");
    if (sep == std::string_view::npos) return error("URL `" + std::string(s) + "`: no scheme");
    u.scheme = lower(s.substr(0, sep));
    if (u.scheme != "http" && u.scheme != "https") return error("URL `" + std::string(s) + "`: not http(s)");
    std::string_view rest = s.substr(sep + 3);
    auto path = rest.find_first_of("/?");
    std::string_view auth = rest.substr(0, path);
    if (auto at = auth.rfind('@'); at != std::string_view::npos) auth = auth.substr(at + 1);  // (user info: dropped)
    if (path != std::string_view::npos) {
        u.target = std::string(rest.substr(path));
        if (u.target[0] == '?') u.target = "/" + u.target;
    }
    if (!auth.empty() && auth[0] == '[') {
        auto close = auth.find(']');
        if (close == std::string_view::npos) return error("URL `" + std::string(s) + "`: bad IPv6 address");
        u.host = std::string(auth.substr(1, close - 1));
        if (close + 1 < auth.size() && auth[close + 1] == ':') u.port = std::string(auth.substr(close + 2));
    } else {
        auto colon = auth.rfind(':');
        u.host = std::string(auth.substr(0, colon));
        if (colon != std::string_view::npos) u.port = std::string(auth.substr(colon + 1));
    }
    if (u.host.empty()) return error("URL `" + std::string(s) + "`: no host");
    if (u.port.empty()) u.port = u.scheme == "https" ? "443" : "80";
    for (char c : u.port)
        if (!std::isdigit(static_cast<unsigned char>(c))) return error("URL `" + std::string(s) + "`: bad port");
    return u;
}

std::string Url::authority() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    bool dflt = (scheme == "https" && port == "443") || (scheme == "http" && port == "80");
    return dflt ? h : h + ":" + port;
}

Url Url::resolve(std::string_view location) const {
    if (location.find("://") != std::string_view::npos) {
        if (auto u = Url::parse(location)) return *u;
    }
    Url u = *this;
    if (location.rfind("//", 0) == 0) {
        if (auto p = Url::parse(scheme + ":" + std::string(location))) return *p;
        return u;
    }
    if (!location.empty() && location[0] == '/') {
        u.target = std::string(location);
        return u;
    }
    std::string base = target.substr(0, target.find('?'));
    base = base.substr(0, base.rfind('/') + 1);
    u.target = base + std::string(location);
    return u;
}

std::string Response::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (k == name) return v;
    return "";
}

std::vector<std::string> Response::headers_named(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : headers)
        if (k == name) out.push_back(v);
    return out;
}

Url proxy_for(const Url& url) {
    std::string no = getenv_either("NO_PROXY", "no_proxy");
    std::string host = lower(url.host);
    for (auto piece : split(no, ',')) {
        std::string item = lower(piece);
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        if (auto colon = item.rfind(':'); colon != std::string::npos && item.find(']') == std::string::npos &&
                                          item.find(':') == colon) {
            if (item.substr(colon + 1) != url.port) continue;  // (another port)
            item.resize(colon);
        }
        if (item.empty()) continue;
        if (item == "*") return {};
        if (item[0] == '.') item.erase(0, 1);
        if (host == item || (host.size() > item.size() && host.ends_with("." + item))) return {};
    }
    std::string p = url.scheme == "https" ? getenv_either("HTTPS_PROXY", "https_proxy") : getenv_either("HTTP_PROXY", "http_proxy");
    if (p.empty()) return {};
    if (p.find("://") == std::string::npos) p = "http://" + p;
    auto u = Url::parse(p);
    if (!u) return {};
    Url out = *u;
    out.target = "/";
    return out;
}

// --- connections ------------------------------------------------------------------------------

struct HttpClient::Conn {
    asio::io_context ioc;
    std::optional<asio::ssl::context> ctx;
    std::optional<beast::tcp_stream> tcp;
    std::optional<asio::ssl::stream<beast::tcp_stream&>> tls;
    beast::flat_buffer buffer;
    Url origin;  // scheme, host, port of the target (not of a proxy)
    bool via_proxy = false;
    bool reused = false;
    std::chrono::milliseconds io_timeout{60000};

    // Run one asynchronous operation to its end (the stream's expiry bounds it).
    template <class Start>
    error_code run(Start&& start) {
        error_code out = asio::error::would_block;
        start([&out](error_code ec, auto&&...) { out = ec; });
        ioc.restart();
        ioc.run();
        return out;
    }
    template <class F>
    auto with_stream(F&& f) {
        if (tls) return f(*tls);
        return f(*tcp);
    }
    std::chrono::steady_clock::time_point armed{};
    void arm() {
        tcp->expires_after(io_timeout);
        armed = std::chrono::steady_clock::now();
    }
    // In a body's read loop: a timer syscall at most every 50 ms, not per read
    // (the stall timeout is then io_timeout less at most 50 ms).
    void arm_lazily() {
        if (std::chrono::steady_clock::now() - armed >= std::chrono::milliseconds(50)) arm();
    }
    ~Conn() {
        if (tcp) {
            error_code ec;
            tcp->socket().shutdown(tcp::socket::shutdown_both, ec);
            tcp->socket().close(ec);
        }
    }
};

HttpClient::HttpClient(HttpOptions opts) : opts_(std::move(opts)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient::Conn>> HttpClient::connect(const Url& url) {
    auto c = std::make_unique<Conn>();
    c->origin = url;
    c->io_timeout = opts_.io_timeout;
    Url proxy = opts_.use_proxy_env ? proxy_for(url) : Url{"", "", "", "/"};
    c->via_proxy = !proxy.host.empty();
    const Url& peer = c->via_proxy ? proxy : url;
    tcp::resolver resolver(c->ioc);
    error_code ec;
    tcp::resolver::results_type addrs;
    c->run([&](auto h) {
        resolver.async_resolve(peer.host, peer.port, [&addrs, h](error_code e, tcp::resolver::results_type r) mutable {
            addrs = std::move(r);
            h(e);
        });
    });
    if (addrs.empty()) return error(fmt::format("resolve `{}`: no address (is the name right?)", peer.host));
    c->tcp.emplace(c->ioc);
    c->tcp->expires_after(opts_.connect_timeout);
    ec = c->run([&](auto h) { c->tcp->async_connect(addrs, [h](error_code e, const tcp::endpoint&) mutable { h(e); }); });
    if (ec == beast::error::timeout)
        return transient(fmt::format("connect to `{}`: timed out after {} s", peer.authority(), opts_.connect_timeout.count() / 1000));
    if (ec) return transient(fmt::format("connect to `{}`: {}", peer.authority(), ec.message()));
    c->tcp->socket().set_option(tcp::no_delay(true), ec);
    if (c->via_proxy && url.scheme == "https") {  // a tunnel: CONNECT host:port
        bhttp::request<bhttp::empty_body> req{bhttp::verb::connect, url.host + ":" + url.port, 11};
        req.set(bhttp::field::host, url.host + ":" + url.port);
        req.set(bhttp::field::user_agent, opts_.user_agent);
        c->arm();
        ec = c->run([&](auto h) { bhttp::async_write(*c->tcp, req, h); });
        bhttp::response_parser<bhttp::empty_body> p;
        p.skip(true);
        if (!ec) ec = c->run([&](auto h) { bhttp::async_read_header(*c->tcp, c->buffer, p, h); });
        if (ec) return error(fmt::format("proxy `{}`: CONNECT {}: {}", proxy.authority(), url.authority(), ec.message()));
        if (p.get().result_int() / 100 != 2)
            return error(fmt::format("proxy `{}` refused CONNECT {}: {} {}", proxy.authority(), url.authority(),
                                     p.get().result_int(), std::string(p.get().reason())));
        c->via_proxy = false;  // (requests go as to the origin now)
    }
    if (url.scheme == "https") {
        TlsConfig tc = opts_.tls_for ? opts_.tls_for(url.authority()) : TlsConfig{};
        c->ctx.emplace(asio::ssl::context::tls_client);
        auto& ctx = *c->ctx;
        ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3);
        if (tc.verify) {
            ctx.set_default_verify_paths(ec);
            for (const auto& f : tc.ca_files) {
                ctx.load_verify_file(f, ec);
                if (ec) return error(fmt::format("CA file `{}`: {}", f, ec.message()));
            }
            ctx.set_verify_mode(asio::ssl::verify_peer);
        } else {
            ctx.set_verify_mode(asio::ssl::verify_none);
        }
        if (!tc.cert_file.empty()) {
            ctx.use_certificate_chain_file(tc.cert_file, ec);
            if (!ec) ctx.use_private_key_file(tc.key_file, asio::ssl::context::pem, ec);
            if (ec) return error(fmt::format("client certificate `{}` / `{}`: {}", tc.cert_file, tc.key_file, ec.message()));
        }
        c->tls.emplace(*c->tcp, ctx);
        SSL* ssl = c->tls->native_handle();
        if (!is_ip_literal(url.host)) SSL_set_tlsext_host_name(ssl, url.host.c_str());
        if (tc.verify) {
            X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
            if (is_ip_literal(url.host)) X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
            else SSL_set1_host(ssl, url.host.c_str());
        }
        c->arm();
        ec = c->run([&](auto h) { c->tls->async_handshake(asio::ssl::stream_base::client, h); });
        if (ec == beast::error::timeout) return error(fmt::format("TLS handshake with `{}`: timed out", url.authority()));
        if (ec) return error(tls_failure(ssl, ec, url.authority()));
    }
    return c;
}

// --- exchanges --------------------------------------------------------------------------------

Result<Response> HttpClient::exchange(Conn& c, const Request& req, const Sink& sink, size_t max_body, bool& sent_any) {
    auto verb = bhttp::string_to_verb(req.method);
    std::string target = c.via_proxy ? req.url.str() : req.url.target;  // (absolute-form to a proxy)
    auto fail = [&](const char* step, const error_code& ec) {
        if (ec == beast::error::timeout)
            return transient(fmt::format("{} {}: {} stalled: no data for {} s", req.method, req.url.str(), step,
                                         opts_.io_timeout.count() / 1000));
        return transient(fmt::format("{} {}: {}: {}", req.method, req.url.str(), step, ec.message()));
    };
    // Send: the head, then a string or a file part.
    bhttp::request<bhttp::buffer_body> r{verb, target, 11};
    r.set(bhttp::field::host, req.url.authority());
    r.set(bhttp::field::user_agent, opts_.user_agent);
    for (const auto& [k, v] : req.headers) r.set(k, v);
    bool has_body = !req.body.empty() || req.body_fd >= 0;
    uint64_t len = req.body_fd >= 0 ? req.body_size : req.body.size();
    if (has_body || req.method == "PUT" || req.method == "POST" || req.method == "PATCH") r.content_length(len);
    r.body().data = nullptr;
    r.body().more = has_body;
    bhttp::request_serializer<bhttp::buffer_body> sr{r};
    c.arm();
    error_code ec = c.with_stream([&](auto& s) { return c.run([&](auto h) { bhttp::async_write_header(s, sr, h); }); });
    if (ec) return fail("send", ec);
    if (has_body) {
        std::vector<char> buf(req.body_fd >= 0 ? 1u << 18 : 0);
        uint64_t done = 0;
        while (done < len) {
            const char* data;
            size_t n;
            if (req.body_fd >= 0) {
                ssize_t got = pread(req.body_fd, buf.data(), std::min<uint64_t>(buf.size(), len - done),
                                    static_cast<off_t>(req.body_offset + done));
                if (got < 0 && errno == EINTR) continue;
                if (got <= 0) return sys_error(fmt::format("{} {}: read the body", req.method, req.url.str()), got == 0 ? EIO : errno);
                data = buf.data();
                n = static_cast<size_t>(got);
            } else {
                data = req.body.data();
                n = req.body.size();
            }
            done += n;
            r.body().data = const_cast<char*>(data);
            r.body().size = n;
            r.body().more = done < len;
            c.arm();
            ec = c.with_stream([&](auto& s) { return c.run([&](auto h) { bhttp::async_write(s, sr, h); }); });
            if (ec && ec != bhttp::error::need_buffer) return fail("send the body", ec);
        }
        if (!sr.is_done()) {
            r.body().data = nullptr;
            r.body().size = 0;
            r.body().more = false;
            ec = c.with_stream([&](auto& s) { return c.run([&](auto h) { bhttp::async_write(s, sr, h); }); });
            if (ec && ec != bhttp::error::need_buffer) return fail("send the body", ec);
        }
    }
    // Receive: the head, then the body (to the sink, or kept).
    bhttp::response_parser<bhttp::buffer_body> p;
    p.body_limit(std::numeric_limits<std::uint64_t>::max());  // (1.74 compares `len > none` as true)
    if (req.method == "HEAD") p.skip(true);
    c.arm();
    ec = c.with_stream([&](auto& s) { return c.run([&](auto h) { bhttp::async_read_header(s, c.buffer, p, h); }); });
    if (ec) return fail("read the response", ec);
    sent_any = true;
    Response resp;
    resp.status = static_cast<int>(p.get().result_int());
    resp.reason = std::string(p.get().reason());
    for (const auto& f : p.get()) resp.headers.emplace_back(lower(f.name_string()), std::string(f.value()));
    bool stream = sink && resp.status / 100 == 2;
    std::vector<char> buf(1u << 18);
    while (!p.is_done()) {
        p.get().body().data = buf.data();
        p.get().body().size = buf.size();
        c.arm_lazily();
        ec = c.with_stream([&](auto& s) { return c.run([&](auto h) { bhttp::async_read(s, c.buffer, p, h); }); });
        if (ec == bhttp::error::need_buffer) ec = {};
        size_t n = buf.size() - p.get().body().size;
        received_ += n;
        if (n > 0) {
            if (stream) {
                HAKO_TRY(sink(resp, buf.data(), n));
            } else {
                if (resp.body.size() + n > max_body)
                    return error(fmt::format("{} {}: the response is larger than {} bytes", req.method, req.url.str(), max_body));
                resp.body.append(buf.data(), n);
            }
        }
        if (ec == bhttp::error::partial_message || ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
            return transient(fmt::format("{} {}: the connection closed mid-body", req.method, req.url.str()));
        if (ec) return fail("read the body", ec);
    }
    if (!p.keep_alive()) conn_.reset();
    return resp;
}

Result<Response> HttpClient::send(const Request& req, const Sink& sink, size_t max_body) {
    for (int attempt = 0;; ++attempt) {
        if (conn_ && !conn_->origin.same_origin(req.url)) conn_.reset();
        if (!conn_) conn_ = HAKO_TRY(connect(req.url));
        else conn_->reused = true;
        bool reused = conn_->reused, sent_any = false;
        auto r = exchange(*conn_, req, sink, max_body, sent_any);
        if (r) return r;
        conn_.reset();
        // A kept-alive connection the server closed meanwhile: once more, anew.
        if (reused && !sent_any && attempt == 0) continue;
        return r;
    }
}

}  // namespace hako::registry
