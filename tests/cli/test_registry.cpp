// hako and registries, as users meet them: pull (by tag, digest, platform,
// run --pull), push (reusing blobs, mounting, exporting, zstd), read back
// by skopeo; login/logout and the auth file; TLS (certs.d, untrusted,
// plain HTTP to HTTPS); basic and bearer auth (anonymous, refused, denied);
// registries.conf (search, aliases, mirrors, blocked); and the faults of a
// scripted registry: 429, 503, a cut transfer (with and without Range), a
// wrong digest, a redirect to another host, a stall, insufficient_scope;
// two pulls at once sharing layers; save and load. All on 127.0.0.0/8.
#include <fmt/format.h>

#include "registry_fixture.hpp"

namespace hako::test {
namespace {

constexpr const char* kPlain = "--tls-verify=false";

class Registry : public RegistryTest {
protected:
    // hako `args`, expecting success.
    std::string ok(std::vector<std::string> args) {
        auto r = (*this)(args, with_timeout(120s));
        EXPECT_TRUE(r.ok()) << r;
        return r.out;
    }
    // hako `args`, expecting exit 125 and `msg` in stderr.
    void fails(std::vector<std::string> args, const std::string& msg) {
        auto r = (*this)(args, with_timeout(120s));
        EXPECT_EQ(r.exit_code, 125) << r;
        EXPECT_TRUE(contains(r.err, msg)) << "expected `" << msg << "` in: " << r.err;
    }
    json inspect(const std::string& ref) {
        auto j = json::parse(ok({"inspect", ref}), nullptr, false);
        return j.is_array() && !j.empty() ? j[0] : j;
    }
    size_t images() { return lines(ok({"images", "-q"})).size(); }
};

TEST_F(Registry, PullRunInspectPushAndSkopeoReadsItBack) {
    start_registry("plain", 5000);
    seed("multi", "127.0.0.1:5000/test/multi:latest", {"--dest-tls-verify=false"});
    const json& multi = summary()["multi"];
    std::string id = trim(ok({"pull", kPlain, "127.0.0.1:5000/test/multi"}));
    EXPECT_EQ("sha256:" + id, multi["config"].get<std::string>());
    // The layers as the config names them, whiteouts applied (layer 3 removes /data/a, makes /etc opaque).
    auto r = (*this)({"run", "--rm", "--network", "none", "127.0.0.1:5000/test/multi", "sh", "-c",
                      "ls /data; cat /etc/new /zstd-file; ls /etc/hello 2>&1"});
    EXPECT_TRUE(contains(r.out, "b\n")) << r;
    EXPECT_FALSE(contains(r.out, "a\n")) << r;
    EXPECT_TRUE(contains(r.out, "No such file")) << r;
    json j = inspect("127.0.0.1:5000/test/multi:latest");
    EXPECT_EQ(j["RepoTags"][0], "127.0.0.1:5000/test/multi:latest");
    EXPECT_EQ(j["RepoDigests"][0], "127.0.0.1:5000/test/multi@" + multi["digest"].get<std::string>());
    EXPECT_EQ(j["Architecture"], "amd64");
    EXPECT_EQ(j["Os"], "linux");
    EXPECT_EQ(j["RootFS"]["Layers"], multi["diff_ids"]);
    EXPECT_TRUE(contains(ok({"images", "--digests"}), multi["digest"].get<std::string>()));
    // By digest: nothing new, the same image.
    std::string by_digest = "127.0.0.1:5000/test/multi@" + multi["digest"].get<std::string>();
    EXPECT_EQ(trim(ok({"pull", kPlain, "-q", by_digest})), id);
    EXPECT_EQ(inspect(by_digest)["Id"], "sha256:" + id);
    // Pushed elsewhere in the same registry: every blob reused, the same manifest digest.
    std::string pushed = trim(ok({"push", kPlain, "127.0.0.1:5000/test/multi", "127.0.0.1:5000/other/copy:v1"}));
    EXPECT_EQ(pushed, multi["digest"].get<std::string>());
    auto sk = run_command({"skopeo", "inspect", "--tls-verify=false", "docker://127.0.0.1:5000/other/copy:v1"});
    ASSERT_TRUE(sk.ok()) << sk;
    EXPECT_EQ(json::parse(sk.out)["Digest"], pushed);
    // An image made here (exported from the store), gzip and zstd: skopeo
    // copies it out and each layer's uncompressed digest is the config's diff id.
    ok({"run", "--rm", "--network", "none", "busybox", "true"});
    for (std::string fmt_name : {"gzip", "zstd"}) {
        std::string dest = "127.0.0.1:5000/test/bb-" + fmt_name + ":1";
        // (zstd in chunks of 200 kB: POST, PATCHes following each Location, PUT)
        std::vector<std::string> args{"push", kPlain, "--compression-format", fmt_name, "busybox", dest};
        if (fmt_name == "zstd") args.insert(args.end(), {"--chunk-size", "200000"});
        ok(args);
        TempDir out("skopeo-out");
        auto cp = run_command({"skopeo", "copy", "-q", "--src-tls-verify=false", "docker://" + dest, "oci:" + out.path() + ":x"});
        ASSERT_TRUE(cp.ok()) << cp;
        auto cfg = run_command({"skopeo", "inspect", "--config", "oci:" + out.path() + ":x"});
        auto raw = json::parse(run_command({"skopeo", "inspect", "--raw", "oci:" + out.path() + ":x"}).out);
        std::string layer = raw["layers"][0]["digest"].get<std::string>().substr(7);
        std::string tool = fmt_name == "gzip" ? "gzip -dc" : "zstd -dcq";
        auto sum = run_command({"sh", "-c", tool + " " + out.path() + "/blobs/sha256/" + layer + " | sha256sum"});
        EXPECT_EQ("sha256:" + words(sum.out)[0], json::parse(cfg.out)["rootfs"]["diff_ids"][0].get<std::string>()) << fmt_name;
        if (fmt_name == "zstd") {
            EXPECT_EQ(raw["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+zstd");
        }
    }
    // rmi by name untags; by digest removes.
    ok({"tag", "127.0.0.1:5000/test/multi", "mine:v2"});
    EXPECT_TRUE(contains(ok({"rmi", "mine:v2"}), "Untagged: mine:v2"));
    EXPECT_TRUE(contains(ok({"rmi", by_digest}), "Deleted: sha256:" + id));
}

TEST_F(Registry, MultiArchIndexChoosesThePlatform) {
    start_registry("plain", 5000);
    seed("multiarch", "127.0.0.1:5000/test/ma:latest", {"--dest-tls-verify=false", "--multi-arch", "all"});
    const json& ma = summary()["multiarch"];
    std::string amd = trim(ok({"pull", kPlain, "-q", "127.0.0.1:5000/test/ma"}));
    std::string arm = trim(ok({"pull", kPlain, "-q", "--platform", "linux/arm64", "127.0.0.1:5000/test/ma"}));
    EXPECT_NE(amd, arm);
    std::string want_arm;
    for (const auto& m : ma["manifests"])
        if (m["platform"]["architecture"] == "arm64") want_arm = m["config"];
    EXPECT_EQ("sha256:" + arm, want_arm);
    EXPECT_EQ(inspect(arm)["Architecture"], "arm64");
    // The index's digest is the repo digest.
    EXPECT_EQ(inspect(arm)["RepoDigests"][0], "127.0.0.1:5000/test/ma@" + ma["digest"].get<std::string>());
    fails({"pull", kPlain, "--platform", "linux/s390x", "127.0.0.1:5000/test/ma"},
          "no image for linux/s390x in the index (it has: linux/amd64, linux/arm64/v8)");
    fails({"pull", kPlain, "--platform", "linux//x", "127.0.0.1:5000/test/ma"}, "invalid platform");
}

TEST_F(Registry, BadReferencesUnknownImagesAndRunPullPolicies) {
    for (const char* bad : {"library/UPPER", "a//b", "name:", "x@sha256:abc", "trail-", "name:tag:extra", ":tag"})
        fails({"pull", kPlain, bad}, "invalid reference format");
    start_registry("plain", 5000);
    fails({"pull", kPlain, "127.0.0.1:5000/test/none"}, "not found (manifest unknown");
    seed("single", "127.0.0.1:5000/test/single:latest", {"--dest-tls-verify=false"});
    fails({"pull", kPlain, "127.0.0.1:5000/test/single:nope"}, "manifest `nope` of `127.0.0.1:5000/test/single`: not found");
    fails({"pull", "127.0.0.1:5000/test/single"}, "answered in plain HTTP");
    fails({"pull", kPlain, "127.0.0.1:5001/test/single"}, "connect to `127.0.0.1:5001`");
    // run: --pull=never refuses, missing pulls (the registry marked insecure), always pulls again.
    fails({"run", "--rm", "--pull=never", "--network", "none", "127.0.0.1:5000/test/single", "true"}, "no such image");
    EXPECT_EQ(images(), 0u);
    write_file(conf_path(), "[[registry]]\nlocation = \"127.0.0.1:5000\"\ninsecure = true\n");
    auto r = (*this)({"run", "--rm", "--network", "none", "127.0.0.1:5000/test/single", "echo", "pulled"});
    EXPECT_TRUE(r.ok() && contains(r.out, "pulled")) << r;
    r = (*this)({"run", "--rm", "--pull=always", "--network", "none", "127.0.0.1:5000/test/single", "echo", "again"});
    EXPECT_TRUE(r.ok() && contains(r.out, "again")) << r;
    EXPECT_EQ(images(), 1u);
}

TEST_F(Registry, TlsBasicAuthLoginAndLogout) {
    std::string dir = start_registry("tls-htpasswd", 5020);
    std::string certs = cert_dir(dir, 5020);
    seed("single", "127.0.0.1:5020/test/single:latest", {"--dest-cert-dir", certs, "--dest-creds", "alice:secret1"});
    const std::string ref = "127.0.0.1:5020/test/single";
    fails({"pull", ref}, "its certificate is not trusted");
    fails({"pull", "--cert-dir", certs, ref}, "authentication required");
    fails({"pull", "--cert-dir", certs, "--creds", "alice:wrong", ref}, "the credentials of `alice` are refused");
    ok({"pull", "--cert-dir", certs, "--creds", "alice:secret1", ref});
    fails({"login", "--cert-dir", certs, "-u", "alice", "-p", "nope", "127.0.0.1:5020"}, "refused");
    EXPECT_FALSE(path_exists(auth_path()));
    auto r = (*this)({"login", "--cert-dir", certs, "-u", "bob", "--password-stdin", "127.0.0.1:5020"});
    EXPECT_NE(r.exit_code, 0);  // (no password on stdin)
    write_file(etc / "pw", "secret2\n");
    r = run_command({"sh", "-c", hako_binary() + " --root " + store.path() + " login --cert-dir " + certs +
                                     " -u bob --password-stdin 127.0.0.1:5020 < " + (etc / "pw")});
    EXPECT_TRUE(r.ok() && contains(r.out, "Login Succeeded")) << r;
    json auth = json::parse(read_file(auth_path()));
    EXPECT_EQ(auth["auths"]["127.0.0.1:5020"]["auth"], "Ym9iOnNlY3JldDI=");  // base64 bob:secret2
    ok({"rmi", ref});
    ok({"pull", "--cert-dir", certs, ref});  // (the auth file's credentials)
    EXPECT_TRUE(contains(ok({"logout", "127.0.0.1:5020"}), "Removed login credentials for 127.0.0.1:5020"));
    fails({"logout", "127.0.0.1:5020"}, "not logged in");
    // docker's config.json, and a credential helper named there.
    run_command({"mkdir", "-p", etc / "docker", etc / "bin"});
    write_file(etc / "bin/docker-credential-fake",
               "#!/bin/sh\nread reg\n[ \"$reg\" = 127.0.0.1:5020 ] && echo '{\"Username\":\"alice\",\"Secret\":\"secret1\"}'\n", 0755);
    write_file(etc / "docker/config.json", R"({"credHelpers": {"127.0.0.1:5020": "fake"}})");
    std::string path = getenv("PATH");
    setenv("PATH", (etc / "bin:" + path).c_str(), 1);
    ok({"rmi", ref});
    ok({"pull", "--cert-dir", certs, ref});
    setenv("PATH", path.c_str(), 1);
    // Plain HTTP to this HTTPS registry is refused unless allowed, and then it is HTTPS unverified.
    ok({"rmi", ref});
    ok({"pull", "--tls-verify=false", "--creds", "alice:secret1", ref});
}

TEST_F(Registry, BearerTokensAnonymousPushDeniedAndIdentityTokens) {
    std::string dir = start_registry("token", 5030);
    std::string certs = cert_dir(dir, 5030);
    std::vector<std::string> alice{"--dest-cert-dir", certs, "--dest-creds", "alice:secret1"};
    seed("single", "127.0.0.1:5030/public/single:latest", alice);
    seed("multi", "127.0.0.1:5030/test/multi:latest", alice);
    ok({"pull", "--cert-dir", certs, "127.0.0.1:5030/public/single"});  // anonymous
    fails({"pull", "--cert-dir", certs, "127.0.0.1:5030/test/multi"}, "authentication required");
    fails({"pull", "--cert-dir", certs, "--creds", "alice:bad", "127.0.0.1:5030/test/multi"},
          "the credentials of `alice` are refused");
    ok({"pull", "--cert-dir", certs, "--creds", "bob:secret2", "127.0.0.1:5030/test/multi"});
    fails({"push", "--cert-dir", certs, "--creds", "bob:secret2", "127.0.0.1:5030/test/multi", "127.0.0.1:5030/test/bobs:1"},
          "access denied: the credentials of `bob` do not grant");
    // alice's push mounts the layers from test/multi (no upload).
    ok({"push", "--cert-dir", certs, "--creds", "alice:secret1", "127.0.0.1:5030/test/multi", "127.0.0.1:5030/test/alices:1"});
    auto reglog = read_file(dir + "/registry.log");
    EXPECT_TRUE(contains(reglog, "mount=")) << "no cross-repository mount";
    // Tokens are cached: one token request per scope for a whole pull, not one per blob.
    size_t before = lines(read_file(dir + "/token.log")).size();
    ok({"rmi", "127.0.0.1:5030/test/multi"});
    ok({"pull", "--cert-dir", certs, "--creds", "alice:secret1", "127.0.0.1:5030/test/multi"});
    size_t tokens = lines(read_file(dir + "/token.log")).size() - before;
    EXPECT_LE(tokens, 2u) << "token requests for one pull of 4 layers";
    // An identity token (an OAuth2 refresh token) in the auth file.
    auto tok = run_command({"curl", "-sf", "--cacert", dir + "/ca.crt", "-d",
                            "grant_type=password&username=alice&password=secret1&service=hako-test-registry&client_id=t"
                            "&scope=repository:test/multi:pull&access_type=offline",
                            "https://127.0.0.1:5031/token"});
    ASSERT_TRUE(tok.ok()) << tok;
    std::string refresh = json::parse(tok.out).value("refresh_token", "");
    ASSERT_FALSE(refresh.empty()) << tok.out;
    write_file(auth_path(), json({{"auths", {{"127.0.0.1:5030", {{"identitytoken", refresh}}}}}}).dump());
    ok({"rmi", "127.0.0.1:5030/test/multi"});
    ok({"pull", "--cert-dir", certs, "127.0.0.1:5030/test/multi"});
    EXPECT_TRUE(contains(read_file(dir + "/token.log"), "refresh_token"));
}

TEST_F(Registry, RegistriesConfSearchAliasesMirrorsAndBlocked) {
    start_registry("plain", 5000);
    seed("single", "127.0.0.1:5000/single:latest", {"--dest-tls-verify=false"});
    std::string mock_log = start_mock(5100, "multi", "single", "");
    write_file(conf_path(), R"(unqualified-search-registries = ["127.0.0.1:5000"]
[[registry]]
location = "127.0.0.1:5000"
insecure = true
[[registry.mirror]]
location = "127.0.0.1:5100"
insecure = true
[[registry]]
location = "blocked.example"
blocked = true
[aliases]
"shorty" = "127.0.0.1:5000/single"
)");
    // The mirror first: it answers with its own image (multi's config).
    std::string id = trim(ok({"pull", "-q", "single"}));
    EXPECT_EQ("sha256:" + id, summary()["multi"]["config"].get<std::string>());
    EXPECT_FALSE(log_of(mock_log).empty());
    // The mirror does not have this digest: the registry itself.
    id = trim(ok({"pull", "-q", "127.0.0.1:5000/single@" + summary()["single"]["digest"].get<std::string>()}));
    EXPECT_EQ("sha256:" + id, summary()["single"]["config"].get<std::string>());
    fails({"pull", "blocked.example/x/y"}, "registry `blocked.example` is blocked in registries.conf");
    ok({"pull", "-q", "shorty"});
    EXPECT_TRUE(contains(ok({"images"}), "127.0.0.1:5000/single"));
    write_file(conf_path(), "unqualified-search-registries = [\"127.0.0.1:5000\"\n");
    fails({"pull", "single"}, "registries.conf` line");
}

TEST_F(Registry, RetriesResumesAndRedirects) {
    const json& multi = summary()["multi"];
    auto pull = [&](int port, const std::string& faults, std::vector<std::string> extra = {}) {
        std::string log = start_mock(port, "multi", "test/multi", faults);
        std::vector<std::string> args{"pull", kPlain, "-q", "--retry-delay", "0.2"};
        args.insert(args.end(), extra.begin(), extra.end());
        args.push_back(fmt::format("127.0.0.1:{}/test/multi", port));
        auto r = (*this)(args, with_timeout(120s));
        return std::make_pair(r, log_of(log));
    };
    {  // 429 with Retry-After, then 503: retried.
        auto [r, log] = pull(5100, "429:1:1,503:1");
        EXPECT_TRUE(r.ok()) << r;
        int s429 = 0, s503 = 0;
        for (const auto& e : log) s429 += e["status"] == 429, s503 += e["status"] == 503;
        EXPECT_EQ(s429, 4);
        EXPECT_EQ(s503, 4);
        ok({"rmi", "-f", trim(r.out)});
    }
    {  // A transfer cut after 100 kB resumes with Range.
        auto [r, log] = pull(5110, "cut:100000");
        EXPECT_TRUE(r.ok()) << r;
        bool resumed = false;
        for (const auto& e : log) resumed |= e["range"].is_string() && contains(e["range"].get<std::string>(), "bytes=100000-");
        EXPECT_TRUE(resumed);
        ok({"rmi", "-f", trim(r.out)});
    }
    {  // ... and when the server ignores Range, what arrived already is skipped.
        auto [r, log] = pull(5120, "cut:100000,norange");
        EXPECT_TRUE(r.ok()) << r;
        ok({"rmi", "-f", trim(r.out)});
    }
    {  // A redirect to another host: followed, without the registry's Authorization.
        auto [r, log] = pull(5130, "redirect,auth");
        EXPECT_TRUE(r.ok()) << r;
        int cdn = 0;
        for (const auto& e : log)
            if (e["host"].get<std::string>().rfind("127.0.0.2", 0) == 0) {
                ++cdn;
                EXPECT_FALSE(e["auth"].get<bool>()) << e;
            }
        EXPECT_GE(cdn, 1);
        ok({"rmi", "-f", trim(r.out)});
    }
    {  // insufficient_scope: a new token, once.
        auto [r, log] = pull(5140, "auth,scopefail:1");
        EXPECT_TRUE(r.ok()) << r;
        ok({"rmi", "-f", trim(r.out)});
    }
    {  // A stall: the transfer times out with a message; with a retry left it resumes past the stall.
        auto [r, log] = pull(5150, "slow:50000:30", {"--timeout", "1", "--retry", "0"});
        EXPECT_EQ(r.exit_code, 125) << r;
        EXPECT_TRUE(contains(r.err, "stalled: no data for 1 s")) << r.err;
        auto again = (*this)({"pull", kPlain, "-q", "--timeout", "1", "--retry", "1", "127.0.0.1:5150/test/multi"});
        EXPECT_TRUE(again.ok()) << again;
        ok({"rmi", "-f", trim(again.out)});
    }
    {  // A wrong digest: named, nothing tagged, nothing half-made (TearDown checks layers/).
        auto [r, log] = pull(5160, "baddigest");
        EXPECT_EQ(r.exit_code, 125) << r;
        EXPECT_TRUE(contains(r.err, "sha256 mismatch")) << r.err;
        EXPECT_TRUE(contains(r.err, "expected ")) << r.err;
    }
    EXPECT_EQ(images(), 0u);
    (void)multi;
}

TEST_F(Registry, TwoPullsAtOnceFetchEachSharedLayerOnce) {
    std::string log = start_mock(5100, "multi", "test/multi", "slow:200000:1");
    std::string ref = "127.0.0.1:5100/test/multi";
    Child a({hako_binary(), "--root", store.path(), "pull", kPlain, "-q", ref}, with_timeout(60s));
    Child b({hako_binary(), "--root", store.path(), "pull", kPlain, "-q", ref}, with_timeout(60s));
    auto ra = a.wait(), rb = b.wait();
    EXPECT_TRUE(ra.ok()) << ra;
    EXPECT_TRUE(rb.ok()) << rb;
    EXPECT_EQ(trim(ra.out), trim(rb.out));
    std::map<std::string, int> gets;
    for (const auto& e : log_of(log))
        if (e["method"] == "GET" && contains(e["path"].get<std::string>(), "/blobs/")) ++gets[e["path"]];
    for (const auto& l : summary()["multi"]["layers"])
        EXPECT_EQ(gets["/v2/test/multi/blobs/" + l["digest"].get<std::string>()], 1) << l["digest"];
    // Pulled again: every layer already there, no blob fetched.
    size_t before = log_of(log).size();
    ok({"pull", kPlain, "-q", ref});
    for (size_t i = before; i < log_of(log).size(); ++i)
        EXPECT_FALSE(contains(log_of(log)[i]["path"].get<std::string>(), "/blobs/sha256:" ) &&
                     log_of(log)[i]["path"] != "/v2/test/multi/blobs/" + summary()["multi"]["config"].get<std::string>());
}

TEST_F(Registry, ProxiesAndNoProxy) {
    std::string dir = start_registry("tls", 5010);
    std::string certs = cert_dir(dir, 5010);
    seed("single", "127.0.0.1:5010/test/single:latest", {"--dest-cert-dir", certs});
    std::string plog = etc / "proxy.log";
    Child proxy({"/usr/bin/python3", std::string(HAKO_SOURCE_DIR) + "/tests/registry/proxy.py", "--port", "3128", "--log", plog},
                with_timeout(120s));
    ASSERT_TRUE(wait_until([&] { return run_command({"bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/3128"}).ok(); }, 10s));
    setenv("HTTPS_PROXY", "http://127.0.0.1:3128", 1);
    ok({"pull", "--cert-dir", certs, "-q", "127.0.0.1:5010/test/single"});
    EXPECT_TRUE(contains(read_file(plog), R"({"method": "CONNECT", "target": "127.0.0.1:5010"})"));
    size_t seen = lines(read_file(plog)).size();
    ok({"rmi", "127.0.0.1:5010/test/single"});
    setenv("NO_PROXY", "localhost,127.0.0.1", 1);
    ok({"pull", "--cert-dir", certs, "-q", "127.0.0.1:5010/test/single"});
    EXPECT_EQ(lines(read_file(plog)).size(), seen);  // (not through the proxy)
    unsetenv("HTTPS_PROXY");
    unsetenv("NO_PROXY");
}

TEST_F(Registry, SaveAndLoadBothFormats) {
    start_registry("plain", 5000);
    seed("multi", "127.0.0.1:5000/test/multi:latest", {"--dest-tls-verify=false"});
    ok({"pull", kPlain, "127.0.0.1:5000/test/multi"});
    for (std::string f : {"docker-archive", "oci-archive"}) {
        std::string out = etc / ("saved-" + f + ".tar");
        ok({"save", "--format", f, "-o", out, "127.0.0.1:5000/test/multi"});
        auto sk = run_command({"skopeo", "inspect", f + ":" + out});
        EXPECT_TRUE(sk.ok()) << sk;
        TempDir other("hako-store2");
        auto r = run_command({hako_binary(), "--root", other.path(), "load", "-i", out});
        EXPECT_TRUE(r.ok() && contains(r.out, "127.0.0.1:5000/test/multi:latest")) << r;
        r = run_command({hako_binary(), "--root", other.path(), "run", "--rm", "--network", "none",
                         "127.0.0.1:5000/test/multi", "cat", "/etc/new"});
        EXPECT_TRUE(r.ok()) << r;
    }
    fails({"save", "-o", etc / "x.tar", "no/such"}, "no such image");
    EXPECT_FALSE(path_exists(etc / "x.tar"));
}

}  // namespace
}  // namespace hako::test
