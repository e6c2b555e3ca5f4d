// Credentials and challenges (see auth.hpp).
#include "registry/auth.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sys/syscalls.hpp"

namespace hako::registry {
namespace {

using json = nlohmann::json;

// The keys an auth file may use for `registry`: "host", "https://host",
// "https://host/v1/" (docker's for Docker Hub is https://index.docker.io/v1/).
std::vector<std::string> keys_for(const std::string& registry) {
    std::vector<std::string> k{registry, "https://" + registry, "http://" + registry, "https://" + registry + "/v1/"};
    if (registry == "docker.io")
        for (const char* h : {"https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io"}) k.emplace_back(h);
    return k;
}

Result<json> read_json_file(const std::string& path) {
    auto text = sys::read_file(path);
    if (!text) {
        if (text.error().err == ENOENT) return json();
        return std::unexpected(std::move(text).error());
    }
    if (text->find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
    auto j = json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return error(fmt::format("`{}`: not a JSON object", path));
    return j;
}

// {"auth": base64(user:pass), "identitytoken": …}
Result<std::optional<Credentials>> from_entry(const json& e, const std::string& path) {
    if (!e.is_object()) return std::optional<Credentials>{};
    Credentials c;
    if (e.contains("auth") && e["auth"].is_string() && !e["auth"].get<std::string>().empty()) {
        std::string raw = HAKO_TRY_CTX(base64_decode(e["auth"].get<std::string>()), "`" + path + "`");
        auto colon = raw.find(':');
        if (colon == std::string::npos) return error(fmt::format("`{}`: an auth entry is not base64 of user:password", path));
        c.username = raw.substr(0, colon);
        c.password = raw.substr(colon + 1);
    }
    if (e.contains("identitytoken") && e["identitytoken"].is_string()) c.identity_token = e["identitytoken"];
    if (c.empty()) return std::optional<Credentials>{};
    return std::optional<Credentials>{c};
}

// `docker-credential-NAME get`, the registry on stdin, JSON on stdout.
Result<std::optional<Credentials>> run_helper(const std::string& name, const std::string& registry) {
    std::string prog = "docker-credential-" + name;
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) return sys_error("pipe");
    pid_t pid = fork();
    if (pid < 0) return sys_error("fork " + prog);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execlp(prog.c_str(), prog.c_str(), "get", nullptr);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    std::string req = registry + "\n";
    (void)!::write(in[1], req.data(), req.size());
    close(in[1]);
    std::string text;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(out[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (text.size() < (1u << 20)) text.append(buf, static_cast<size_t>(n));
    }
    close(out[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127) return error(fmt::format("credential helper `{}` not found in $PATH", prog));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        // "credentials not found in native keychain": none, not an error.
        if (text.find("not found") != std::string::npos) return std::optional<Credentials>{};
        return error(fmt::format("credential helper `{} get` for `{}` failed: {}", prog, registry, text));
    }
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return error(fmt::format("credential helper `{}`: output is not JSON", prog));
    Credentials c;
    std::string user = j.value("Username", ""), secret = j.value("Secret", "");
    if (user == "<token>") c.identity_token = secret;
    else c.username = user, c.password = secret;
    if (c.empty()) return std::optional<Credentials>{};
    return std::optional<Credentials>{c};
}

}  // namespace

std::vector<Challenge> parse_challenges(std::string_view h) {
    std::vector<Challenge> out;
    size_t i = 0;
    auto skip_ws = [&] {
        while (i < h.size() && (h[i] == ' ' || h[i] == '\t' || h[i] == ',')) ++i;
    };
    auto token = [&] {
        size_t s = i;
        while (i < h.size() && h[i] != ' ' && h[i] != '\t' && h[i] != '=' && h[i] != ',') ++i;
        return std::string(h.substr(s, i - s));
    };
    while (i < h.size()) {
        skip_ws();
        if (i >= h.size()) break;
        std::string word = token();
        if (i < h.size() && h[i] == '=' && !out.empty()) {  // a parameter of the current challenge
            ++i;
            std::string value;
            if (i < h.size() && h[i] == '"') {
                ++i;
                while (i < h.size() && h[i] != '"') {
                    if (h[i] == '\\' && i + 1 < h.size()) ++i;
                    value += h[i++];
                }
                if (i < h.size()) ++i;
            } else {
                while (i < h.size() && h[i] != ',' && h[i] != ' ') value += h[i++];
            }
            for (auto& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            out.back().params[word] = value;
            continue;
        }
        if (word.empty()) {
            ++i;
            continue;
        }
        Challenge c;
        for (auto& ch : word) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        c.scheme = word;
        out.push_back(std::move(c));
    }
    return out;
}

std::string base64_encode(std::string_view s) {
    std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(s.data()),
                            static_cast<int>(s.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

Result<std::string> base64_decode(std::string_view s) {
    std::string in(s);
    while (!in.empty() && (in.back() == '\n' || in.back() == '\r')) in.pop_back();
    if (in.size() % 4 != 0) return error("invalid base64");
    std::string out(in.size() / 4 * 3 + 1, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                            static_cast<int>(in.size()));
    if (n < 0) return error("invalid base64");
    size_t pad = 0;  // (padding decodes to zeros)
    for (size_t k = in.size(); k > 0 && in[k - 1] == '='; --k) ++pad;
    if (pad > 2 || pad > static_cast<size_t>(n)) return error("invalid base64");
    out.resize(static_cast<size_t>(n) - pad);
    return out;
}

std::string auth_file_path(const std::string& authfile) {
    if (!authfile.empty()) return authfile;
    if (const char* e = getenv("REGISTRY_AUTH_FILE"); e && *e) return e;
    if (const char* x = getenv("XDG_RUNTIME_DIR"); x && *x) return std::string(x) + "/containers/auth.json";
    return fmt::format("/run/containers/{}/auth.json", getuid());
}

Result<std::optional<Credentials>> find_credentials(const std::string& registry, const std::string& authfile) {
    std::string path = auth_file_path(authfile);
    json j = HAKO_TRY(read_json_file(path));
    if (j.is_object() && j.contains("auths") && j["auths"].is_object())
        for (const auto& k : keys_for(registry))
            if (j["auths"].contains(k)) {
                auto c = HAKO_TRY(from_entry(j["auths"][k], path));
                if (c) return c;
            }
    if (!authfile.empty()) return std::optional<Credentials>{};  // (an explicit file only)
    const char* home = getenv("HOME");
    std::string docker = getenv("DOCKER_CONFIG") ? std::string(getenv("DOCKER_CONFIG")) + "/config.json"
                                                 : std::string(home ? home : "/root") + "/.docker/config.json";
    json d = HAKO_TRY(read_json_file(docker));
    if (!d.is_object()) return std::optional<Credentials>{};
    if (d.contains("credHelpers") && d["credHelpers"].is_object())
        for (const auto& k : keys_for(registry))
            if (d["credHelpers"].contains(k) && d["credHelpers"][k].is_string())
                return run_helper(d["credHelpers"][k].get<std::string>(), k);
    if (d.contains("auths") && d["auths"].is_object())
        for (const auto& k : keys_for(registry))
            if (d["auths"].contains(k)) {
                auto c = HAKO_TRY(from_entry(d["auths"][k], docker));
                if (c) return c;
            }
    if (d.contains("credsStore") && d["credsStore"].is_string())
        return run_helper(d["credsStore"].get<std::string>(), registry == "docker.io" ? "https://index.docker.io/v1/" : registry);
    return std::optional<Credentials>{};
}

Status store_credentials(const std::string& registry, const Credentials& c, const std::string& authfile) {
    std::string path = auth_file_path(authfile);
    json j = HAKO_TRY(read_json_file(path));
    if (!j.is_object()) j = json::object();
    if (!j.contains("auths") || !j["auths"].is_object()) j["auths"] = json::object();
    json e = json::object();
    if (!c.username.empty()) e["auth"] = base64_encode(c.username + ":" + c.password);
    if (!c.identity_token.empty()) e["identitytoken"] = c.identity_token;
    j["auths"][registry] = e;
    auto slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) HAKO_TRY(sys::mkdir_all(path.substr(0, slash), 0700));
    HAKO_TRY(sys::write_file_atomic(AT_FDCWD, path, j.dump(1, '\t') + "\n"));
    if (chmod(path.c_str(), 0600) < 0) return sys_error("chmod `" + path + "`");
    return {};
}

Result<bool> remove_credentials(const std::string& registry, const std::string& authfile) {
    std::string path = auth_file_path(authfile);
    json j = HAKO_TRY(read_json_file(path));
    if (!j.is_object() || !j.contains("auths") || !j["auths"].is_object()) return false;
    bool any = false;
    for (const auto& k : keys_for(registry)) any |= j["auths"].erase(k) > 0;
    if (any) HAKO_TRY(sys::write_file_atomic(AT_FDCWD, path, j.dump(1, '\t') + "\n"));
    return any;
}

}  // namespace hako::registry
