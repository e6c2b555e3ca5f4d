// The registry client (see client.hpp).
#include "registry/client.hpp"

#include <dirent.h>

#include <algorithm>
#include <fmt/format.h>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/digest.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "registry/manifest.hpp"

namespace hako::registry {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// A registry's own CAs and client certificate: certs.d/HOST[:PORT]/.
TlsConfig tls_from_dirs(const std::vector<std::string>& dirs, const std::string& authority, bool verify) {
    TlsConfig t;
    t.verify = verify;
    for (const auto& base : dirs) {
        std::string dir = base + "/" + authority;
        DIR* d = opendir(dir.c_str());
        if (!d) continue;
        std::vector<std::string> names;
        while (dirent* e = readdir(d)) names.emplace_back(e->d_name);
        closedir(d);
        std::sort(names.begin(), names.end());
        for (const auto& n : names) {
            if (n.ends_with(".crt")) t.ca_files.push_back(dir + "/" + n);
            if (n.ends_with(".cert") && t.cert_file.empty()) {
                std::string key = n.substr(0, n.size() - 5) + ".key";
                if (std::find(names.begin(), names.end(), key) != names.end()) {
                    t.cert_file = dir + "/" + n;
                    t.key_file = dir + "/" + key;
                }
            }
        }
    }
    return t;
}

std::string hub_host(const std::string& registry) { return registry == "docker.io" ? "registry-1.docker.io" : registry; }

bool retryable_status(int s) { return s == 429 || s == 500 || s == 502 || s == 503 || s == 504; }

std::chrono::milliseconds retry_after(const Response& r, std::chrono::milliseconds dflt) {
    std::string v = r.header("retry-after");
    if (!v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }) && v.size() < 6)
        return std::min<std::chrono::milliseconds>(std::chrono::seconds(std::stoi(v)), 60s);
    return dflt;
}

std::string sha256_of(std::string_view s) { return "sha256:" + sha256_hex(s); }

}  // namespace

std::string describe_failure(const Response& r, const std::string& what) {
    auto j = json::parse(r.body, nullptr, false);
    std::string codes, msgs;
    if (j.is_object() && j.contains("errors") && j["errors"].is_array())
        for (const auto& e : j["errors"]) {
            if (!e.is_object()) continue;
            std::string code = e.value("code", ""), msg = e.value("message", "");
            if (!codes.empty()) codes += ", ";
            codes += code;
            if (!msg.empty()) msgs += (msgs.empty() ? "" : "; ") + msg;
        }
    std::string detail = msgs.empty() ? fmt::format("HTTP {} {}", r.status, r.reason) : msgs;
    if (codes.find("MANIFEST_UNKNOWN") != std::string::npos || (r.status == 404 && what.find("manifest") != std::string::npos))
        return fmt::format("{}: not found (manifest unknown: {})", what, detail);
    if (codes.find("NAME_UNKNOWN") != std::string::npos) return fmt::format("{}: repository not found ({})", what, detail);
    if (codes.find("BLOB_UNKNOWN") != std::string::npos) return fmt::format("{}: blob unknown ({})", what, detail);
    if (r.status == 401 || codes.find("UNAUTHORIZED") != std::string::npos)
        return fmt::format("{}: authentication required{} (hako login, or --creds)", what,
                           msgs == "authentication required" || msgs.empty() ? "" : ": " + msgs);
    if (r.status == 403 || codes.find("DENIED") != std::string::npos)
        return fmt::format("{}: access denied ({})", what, detail);
    if (r.status == 404) return fmt::format("{}: not found ({})", what, detail);
    return fmt::format("{}: {}", what, detail);
}

struct Repository::Shared {
    std::string registry;  // as the user wrote it ("docker.io")
    ClientOptions opts;
    std::mutex mu;
    bool pinged = false;
    std::string scheme = "https";
    std::optional<Challenge> challenge;  // of the /v2/ ping
    std::map<std::string, std::string> tokens;  // scope -> bearer token
    std::optional<Credentials> creds;
    bool creds_looked_up = false;

    HttpOptions http_options() const {
        HttpOptions h;
        h.io_timeout = opts.io_timeout;
        h.connect_timeout = std::min<std::chrono::milliseconds>(opts.io_timeout, 30s);
        auto dirs = opts.cert_dirs;
        bool verify = opts.tls_verify && !opts.insecure;
        h.tls_for = [dirs, verify](const std::string& authority) { return tls_from_dirs(dirs, authority, verify); };
        return h;
    }
    bool plain_http_allowed() const { return !opts.tls_verify || opts.insecure; }
};

Repository::Repository(std::string registry, std::string repository, ClientOptions opts)
    : shared_(std::make_shared<Shared>()), repo_(std::move(repository)) {
    shared_->registry = std::move(registry);
    shared_->opts = std::move(opts);
    if (shared_->opts.creds) {
        shared_->creds = shared_->opts.creds;
        shared_->creds_looked_up = true;
    }
    http_ = std::make_unique<HttpClient>(shared_->http_options());
}

Repository::Repository(std::shared_ptr<Shared> s, std::string repo)
    : shared_(std::move(s)), repo_(std::move(repo)), http_(std::make_unique<HttpClient>(shared_->http_options())) {}

Repository::~Repository() = default;
Repository::Repository(Repository&&) noexcept = default;

Repository Repository::fork() const { return Repository(shared_, repo_); }
const std::string& Repository::registry() const { return shared_->registry; }

Url Repository::url(const std::string& path) const {
    Url u = *Url::parse(shared_->scheme + "://" + hub_host(shared_->registry) + "/");
    u.target = path;
    return u;
}

std::string Repository::scope(bool push) const { return "repository:" + repo_ + (push ? ":pull,push" : ":pull"); }

Status Repository::ping() {
    std::lock_guard lock(shared_->mu);
    if (shared_->pinged) return {};
    std::string host = hub_host(shared_->registry);
    auto try_scheme = [&](const std::string& scheme) -> Result<Response> {
        Request r;
        r.url = HAKO_TRY(Url::parse(scheme + "://" + host + "/v2/"));
        return http_->send(r, {}, 1u << 20);
    };
    auto resp = try_scheme("https");
    if (!resp && shared_->plain_http_allowed()) {
        auto plain = try_scheme("http");
        if (!plain) log::debug("registry `{}` in plain HTTP: {}", shared_->registry, plain.error().what());
        if (plain) {
            shared_->scheme = "http";
            resp = std::move(plain);
        }
    }
    if (!resp) return std::unexpected(std::move(resp).error().context("registry `" + shared_->registry + "`"));
    if (resp->status == 401) {
        for (auto& c : parse_challenges(resp->header("www-authenticate")))
            if (c.scheme == "bearer" || (c.scheme == "basic" && !shared_->challenge)) shared_->challenge = c;
    } else if (resp->status / 100 != 2) {
        return error(fmt::format("registry `{}`: GET /v2/ answered {} {}: not an OCI distribution registry?",
                                 shared_->registry, resp->status, resp->reason));
    }
    shared_->pinged = true;
    return {};
}

Result<std::string> Repository::token(const std::string& want_scope, bool fresh) {
    std::unique_lock lock(shared_->mu);
    if (!fresh)
        if (auto it = shared_->tokens.find(want_scope); it != shared_->tokens.end()) return it->second;
    if (!shared_->creds_looked_up) {
        shared_->creds = HAKO_TRY(find_credentials(shared_->registry, shared_->opts.authfile));
        shared_->creds_looked_up = true;
    }
    const Challenge& ch = *shared_->challenge;
    auto realm_it = ch.params.find("realm");
    if (realm_it == ch.params.end()) return error(fmt::format("registry `{}`: a bearer challenge without realm", shared_->registry));
    Url realm = HAKO_TRY_CTX(Url::parse(realm_it->second), fmt::format("registry `{}`: token realm", shared_->registry));
    std::string service = ch.params.count("service") ? ch.params.at("service") : "";
    auto enc = [](std::string_view s) {
        std::string o;
        for (unsigned char c : s) {
            if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') o += static_cast<char>(c);
            else o += fmt::format("%{:02X}", c);
        }
        return o;
    };
    Request r;
    r.url = realm;
    const auto& c = shared_->creds;
    auto scopes = split(want_scope, ' ');  // (several, space-separated)
    if (c && !c->identity_token.empty()) {  // OAuth2: the refresh token for an access token
        r.method = "POST";
        r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
        r.body = "grant_type=refresh_token&client_id=hako&refresh_token=" + enc(c->identity_token) + "&service=" + enc(service);
        for (const auto& s : scopes) r.body += "&scope=" + enc(s);
    } else {
        std::string q = "service=" + enc(service);
        for (const auto& s : scopes) q += "&scope=" + enc(s);
        if (c && !c->username.empty()) {
            q += "&account=" + enc(c->username);
            r.headers.emplace_back("Authorization", "Basic " + base64_encode(c->username + ":" + c->password));
        }
        r.url.target += (r.url.target.find('?') == std::string::npos ? "?" : "&") + q;
    }
    lock.unlock();
    HttpClient client(shared_->http_options());
    auto resp = HAKO_TRY_CTX(client.send(r, {}, 1u << 20), fmt::format("registry `{}`: token", shared_->registry));
    if (resp.status == 401 || resp.status == 403) {
        if (c && !c->empty())
            return error(fmt::format("registry `{}`: the credentials of `{}` are refused (wrong user name or password)",
                                     shared_->registry, c->username.empty() ? "<identity token>" : c->username));
        return error(fmt::format("registry `{}`: anonymous access refused by the token server (hako login {})",
                                 shared_->registry, shared_->registry));
    }
    if (resp.status / 100 != 2)
        return error(fmt::format("registry `{}`: token server {} answered {} {}", shared_->registry, realm.authority(),
                                 resp.status, resp.reason));
    auto j = json::parse(resp.body, nullptr, false);
    std::string tok;
    if (j.is_object()) tok = j.value("token", j.value("access_token", ""));
    if (tok.empty()) return error(fmt::format("registry `{}`: the token server's answer has no token", shared_->registry));
    lock.lock();
    shared_->tokens[want_scope] = tok;
    return tok;
}

Result<std::string> Repository::authorization(const std::string& want_scope, bool fresh) {
    if (!shared_->challenge) return std::string();
    if (shared_->challenge->scheme == "basic") {
        std::lock_guard lock(shared_->mu);
        if (!shared_->creds_looked_up) {
            shared_->creds = HAKO_TRY(find_credentials(shared_->registry, shared_->opts.authfile));
            shared_->creds_looked_up = true;
        }
        if (!shared_->creds || shared_->creds->username.empty()) return std::string();
        return "Basic " + base64_encode(shared_->creds->username + ":" + shared_->creds->password);
    }
    if (shared_->challenge->scheme != "bearer") return std::string();
    return "Bearer " + HAKO_TRY(token(want_scope, fresh));
}

Result<Response> Repository::call(Request req, const std::string& want_scope, const Sink& sink, size_t max_body) {
    HAKO_TRY(ping());
    std::string scope_now = want_scope;
    std::string auth = HAKO_TRY(authorization(scope_now, false));
    Url registry_url = url("/");
    bool auth_retried = false;
    int redirects = 0, attempt = 0;
    auto delay = shared_->opts.retry_delay;
    const bool follow = req.method == "GET" || req.method == "HEAD";
    for (;;) {
        Request r = req;
        if (!auth.empty() && r.url.same_origin(registry_url)) r.headers.emplace_back("Authorization", auth);
        auto resp = http_->send(r, sink, max_body);
        if (!resp) {
            // (a body already streamed is not restarted here: blob() resumes)
            if (follow && !sink && resp.error().err == kTransient && attempt < shared_->opts.retries) {
                log::debug("{} {}: {}; again in {} ms", r.method, r.url.str(), resp.error().what(), delay.count());
                std::this_thread::sleep_for(delay);
                delay *= 2;
                ++attempt;
                continue;
            }
            return resp;
        }
        if (resp->status == 401 && !auth_retried && shared_->challenge) {
            auto chs = parse_challenges(resp->header("www-authenticate"));
            for (const auto& c : chs)
                if (c.scheme == "bearer" && c.params.count("scope") && scope_now.find(c.params.at("scope")) == std::string::npos)
                    scope_now += " " + c.params.at("scope");  // (insufficient_scope: the scope the registry names)
            auth_retried = true;
            auth = HAKO_TRY(authorization(scope_now, true));
            if (!auth.empty()) continue;
            return resp;
        }
        if (resp->status == 401 && auth_retried && shared_->creds && !shared_->creds->empty() &&
            shared_->challenge->scheme == "basic")
            return error(fmt::format("registry `{}`: the credentials of `{}` are refused (wrong user name or password)",
                                     shared_->registry, shared_->creds->username));
        if (resp->status == 401 && auth_retried && shared_->creds && !shared_->creds->empty())
            return error(fmt::format("{} {}: access denied: the credentials of `{}` do not grant `{}`", r.method,
                                     r.url.target, shared_->creds->username, scope_now));
        if (retryable_status(resp->status) && attempt < shared_->opts.retries) {
            auto wait = retry_after(*resp, delay);
            log::debug("{} {}: {}; again in {} ms", r.method, r.url.str(), resp->status, wait.count());
            std::this_thread::sleep_for(wait);
            delay *= 2;
            ++attempt;
            continue;
        }
        if (follow && (resp->status == 301 || resp->status == 302 || resp->status == 303 || resp->status == 307 ||
                       resp->status == 308)) {
            std::string loc = resp->header("location");
            if (loc.empty() || ++redirects > 5)
                return error(fmt::format("{} {}: too many redirects or no Location", r.method, r.url.str()));
            req.url = req.url.resolve(loc);  // (Authorization only goes to the registry's own origin)
            continue;
        }
        return resp;
    }
}

Result<Repository::Fetched> Repository::manifest(const std::string& ref, bool push_scope) {
    HAKO_TRY(ping());  // (the scheme: https, or http where allowed)
    Request r;
    r.url = url("/v2/" + repo_ + "/manifests/" + ref);
    r.headers.emplace_back("Accept", std::string(media::kAcceptAll));
    std::string what = fmt::format("manifest `{}` of `{}/{}`", ref, shared_->registry, repo_);
    auto resp = HAKO_TRY_CTX(call(r, scope(push_scope), {}, 4u << 20), what);
    if (resp.status != 200) return error(describe_failure(resp, what));
    Fetched f;
    f.body = std::move(resp.body);
    f.media_type = resp.header("content-type");
    f.digest = sha256_of(f.body);
    if (ref.rfind("sha256:", 0) == 0 && f.digest != ref)
        return error(fmt::format("{}: digest mismatch: expected {}, got {}", what, ref, f.digest));
    return f;
}

Result<std::string> Repository::small_blob(const std::string& digest, size_t max_bytes) {
    HAKO_TRY(ping());  // (the scheme: https, or http where allowed)
    Request r;
    r.url = url("/v2/" + repo_ + "/blobs/" + digest);
    std::string what = fmt::format("blob {} of `{}/{}`", digest, shared_->registry, repo_);
    auto resp = HAKO_TRY_CTX(call(r, scope(false), {}, max_bytes), what);
    if (resp.status != 200) return error(describe_failure(resp, what));
    std::string got = sha256_of(resp.body);
    if (got != digest) return error(fmt::format("{}: digest mismatch: expected {}, got {}", what, digest, got));
    return std::move(resp.body);
}

Status Repository::blob(const std::string& digest, const std::function<Status(const char*, size_t)>& on) {
    HAKO_TRY(ping());  // (the scheme: https, or http where allowed)
    std::string what = fmt::format("blob {} of `{}/{}`", digest, shared_->registry, repo_);
    uint64_t have = 0;
    auto delay = shared_->opts.retry_delay;
    for (int attempt = 0;; ++attempt) {
        Request r;
        r.url = url("/v2/" + repo_ + "/blobs/" + digest);
        if (have > 0) r.headers.emplace_back("Range", fmt::format("bytes={}-", have));
        uint64_t skip = 0;
        bool first_chunk = true;
        std::optional<Error> ours;  // the consumer's failure (a bad layer, a full disk): not retried
        Sink sink = [&](const Response& head, const char* data, size_t n) -> Status {
            if (first_chunk) {
                first_chunk = false;
                // A server ignoring Range sends it all again: skip what we have.
                skip = (have > 0 && head.status == 200) ? have : 0;
                if (have > 0 && head.status == 206) {
                    std::string cr = head.header("content-range");  // "bytes N-M/T"
                    if (cr.rfind(fmt::format("bytes {}-", have), 0) != 0)
                        return error(fmt::format("{}: resumed at the wrong offset (Content-Range `{}`)", what, cr));
                }
            }
            if (skip > 0) {
                size_t drop = static_cast<size_t>(std::min<uint64_t>(skip, n));
                skip -= drop;
                data += drop;
                n -= drop;
                if (n == 0) return {};
            }
            if (auto st = on(data, n); !st) {
                ours = st.error();
                return st;
            }
            have += n;
            return {};
        };
        auto resp = call(r, scope(false), sink, 1u << 20);
        if (ours) return std::unexpected(*ours);
        if (resp && resp->status / 100 == 2) return {};
        if (resp && !retryable_status(resp->status)) return error(describe_failure(*resp, what));
        if (!resp && resp.error().err != kTransient) return std::unexpected(std::move(resp).error().context(what));
        std::string why = resp ? fmt::format("HTTP {}", resp->status) : resp.error().what();
        if (attempt >= shared_->opts.retries)
            return error(fmt::format("{}: {} (after {} attempts, {} bytes received)", what, why, attempt + 1, have));
        log::debug("{}: {} at byte {}; resuming in {} ms", what, why, have, delay.count());
        std::this_thread::sleep_for(delay);
        delay *= 2;
    }
}

Result<bool> Repository::has_blob(const std::string& digest) {
    HAKO_TRY(ping());  // (the scheme: https, or http where allowed)
    Request r;
    r.method = "HEAD";
    r.url = url("/v2/" + repo_ + "/blobs/" + digest);
    auto resp = HAKO_TRY(call(r, scope(true)));
    if (resp.status == 200) return true;
    if (resp.status == 404) return false;
    return error(describe_failure(resp, fmt::format("HEAD blob {} on `{}/{}`", digest, shared_->registry, repo_)));
}

Result<bool> Repository::mount_blob(const std::string& digest, const std::string& from) {
    HAKO_TRY(ping());  // (the scheme: https, or http where allowed)
    Request r;
    r.method = "POST";
    r.url = url(fmt::format("/v2/{}/blobs/uploads/?mount={}&from={}", repo_, digest, from));
    auto resp = HAKO_TRY(call(r, scope(true) + " repository:" + from + ":pull"));
    if (resp.status == 201) return true;
    if (resp.status == 202) {  // not mounted: an upload session was opened; cancel it
        std::string loc = resp.header("location");
        if (!loc.empty()) {
            Request del;
            del.method = "DELETE";
            del.url = r.url.resolve(loc);
            (void)call(del, scope(true));
        }
        return false;
    }
    return error(describe_failure(resp, fmt::format("mount blob {} from `{}` to `{}`", digest, from, repo_)));
}

Status Repository::upload_blob(const std::string& digest, int fd, uint64_t size, uint64_t chunk) {
    HAKO_TRY(ping());  // (the scheme: https, or http where allowed)
    std::string what = fmt::format("upload blob {} to `{}/{}`", digest, shared_->registry, repo_);
    Request start;
    start.method = "POST";
    start.url = url("/v2/" + repo_ + "/blobs/uploads/");
    auto resp = HAKO_TRY_CTX(call(start, scope(true)), what);
    if (resp.status != 202) return error(describe_failure(resp, what));
    auto next = [&](const Response& rr, const Url& base) -> Result<Url> {
        std::string loc = rr.header("location");
        if (loc.empty()) return error(what + ": the registry gave no upload Location");
        return base.resolve(loc);  // (as given: it may carry its own query)
    };
    Url loc = HAKO_TRY(next(resp, start.url));
    uint64_t off = 0;
    if (chunk > 0 && size > chunk) {
        while (off < size) {
            uint64_t n = std::min(chunk, size - off);
            Request p;
            p.method = "PATCH";
            p.url = loc;
            p.headers.emplace_back("Content-Type", "application/octet-stream");
            p.headers.emplace_back("Content-Range", fmt::format("{}-{}", off, off + n - 1));
            p.body_fd = fd;
            p.body_offset = off;
            p.body_size = n;
            auto pr = HAKO_TRY_CTX(call(p, scope(true)), what);
            if (pr.status != 202) return error(describe_failure(pr, what + fmt::format(" (chunk at {})", off)));
            loc = HAKO_TRY(next(pr, loc));
            off += n;
        }
    }
    Request put;
    put.method = "PUT";
    put.url = loc;
    put.url.target += (put.url.target.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + digest;
    put.headers.emplace_back("Content-Type", "application/octet-stream");
    if (off < size) {
        put.body_fd = fd;
        put.body_offset = off;
        put.body_size = size - off;
    }
    auto pr = HAKO_TRY_CTX(call(put, scope(true)), what);
    if (pr.status != 201 && pr.status != 204) return error(describe_failure(pr, what));
    return {};
}

Status Repository::put_manifest(const std::string& ref, const std::string& body, const std::string& media_type) {
    HAKO_TRY(ping());  // (the scheme: https, or http where allowed)
    Request r;
    r.method = "PUT";
    r.url = url("/v2/" + repo_ + "/manifests/" + ref);
    r.headers.emplace_back("Content-Type", media_type);
    r.body = body;
    std::string what = fmt::format("put manifest `{}` to `{}/{}`", ref, shared_->registry, repo_);
    auto resp = HAKO_TRY_CTX(call(r, scope(true)), what);
    if (resp.status != 201 && resp.status != 200) return error(describe_failure(resp, what));
    return {};
}

Status Repository::check_login() {
    HAKO_TRY(ping());
    if (!shared_->challenge) return {};
    Request r;
    r.url = url("/v2/");
    std::string auth = HAKO_TRY(authorization(repo_.empty() ? "" : scope(false), true));
    if (!auth.empty()) r.headers.emplace_back("Authorization", auth);
    auto resp = HAKO_TRY(http_->send(r, {}, 1u << 20));
    if (resp.status == 401) {
        std::string user = shared_->creds ? shared_->creds->username : "";
        return error(fmt::format("registry `{}`: the credentials of `{}` are refused (wrong user name or password)",
                                 shared_->registry, user));
    }
    if (resp.status / 100 != 2) return error(describe_failure(resp, fmt::format("registry `{}`", shared_->registry)));
    return {};
}

}  // namespace hako::registry
