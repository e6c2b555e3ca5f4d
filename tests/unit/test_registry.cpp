// Unit tests of the registry client's parsers: references (docker's
// rules), URLs and proxies, WWW-Authenticate, base64, manifests and
// platforms, registries.conf and where a pull goes.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "registry/auth.hpp"
#include "registry/http.hpp"
#include "registry/manifest.hpp"
#include "registry/reference.hpp"
#include "registry/regconf.hpp"

namespace hako::registry {
namespace {

std::string canon(const std::string& s) {
    auto r = parse_reference(s);
    return r ? r->str() : "ERR: " + r.error().msg;
}

TEST(Reference, DockersNormalisation) {
    EXPECT_EQ(canon("alpine"), "docker.io/library/alpine:latest");
    EXPECT_EQ(canon("alpine:3.19"), "docker.io/library/alpine:3.19");
    EXPECT_EQ(canon("user/app"), "docker.io/user/app:latest");
    EXPECT_EQ(canon("index.docker.io/user/app"), "docker.io/user/app:latest");
    EXPECT_EQ(canon("quay.io/org/app:v1"), "quay.io/org/app:v1");
    EXPECT_EQ(canon("localhost/app"), "localhost/app:latest");
    EXPECT_EQ(canon("127.0.0.1:5000/a/b/c"), "127.0.0.1:5000/a/b/c:latest");
    EXPECT_EQ(canon("[::1]:5000/app"), "[::1]:5000/app:latest");
    EXPECT_EQ(canon("Host/app"), "Host/app:latest");  // (upper case: a registry)
    std::string d = "sha256:" + std::string(64, 'a');
    auto r = parse_reference("alpine:3@" + d);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->tag_or_digest(), d);  // the digest wins
    EXPECT_EQ(canon("alpine@" + d), "docker.io/library/alpine@" + d);
    EXPECT_FALSE(parse_reference("alpine", true)->qualified);
    EXPECT_TRUE(parse_reference("quay.io/x", true)->qualified);
    EXPECT_EQ(familiar("docker.io/library/alpine:3"), "alpine:3");
    EXPECT_EQ(familiar("docker.io/user/app:1"), "user/app:1");
    EXPECT_EQ(familiar("quay.io/a/b:1"), "quay.io/a/b:1");
}

TEST(Reference, Malformed) {
    for (std::string bad : std::vector<std::string>{"", "library/UPPER", "a//b", "name:", ":tag", "x@sha256:abc", "trail-", "-lead", "a..b", "a___b",
                            "name:tag:extra", "a/b:" + std::string(129, 't'), "x@md5", "bad host:1/x", "h:port/x"})
        EXPECT_TRUE(canon(bad).rfind("ERR: invalid reference format", 0) == 0) << bad << " -> " << canon(bad);
    EXPECT_TRUE(canon("library/UPPER").find("must be lowercase") != std::string::npos);
    EXPECT_TRUE(canon(std::string(250, 'a') + "/" + std::string(10, 'b')).find("255") != std::string::npos);
    EXPECT_EQ(canon("x/a_b__c-d--e.f"), "docker.io/x/a_b__c-d--e.f:latest");
}

TEST(Http, UrlsAndProxies) {
    auto u = Url::parse("https://reg.example:5000/v2/x/blobs/uploads/?a=1");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->authority(), "reg.example:5000");
    EXPECT_EQ(u->resolve("/v2/next?x=y").str(), "https://reg.example:5000/v2/next?x=y");
    EXPECT_EQ(u->resolve("https://cdn.example/b").str(), "https://cdn.example/b");
    EXPECT_EQ(u->resolve("//cdn2/b").str(), "https://cdn2/b");
    EXPECT_EQ(u->resolve("rel").str(), "https://reg.example:5000/v2/x/blobs/uploads/rel");
    EXPECT_EQ(Url::parse("http://[::1]/")->authority(), "[::1]");
    EXPECT_EQ(Url::parse("https://h")->port, "443");
    EXPECT_FALSE(Url::parse("ftp://h/"));
    EXPECT_FALSE(Url::parse("https://h:x/"));
    setenv("HTTPS_PROXY", "proxy.local:3128", 1);
    setenv("NO_PROXY", "localhost,.internal,127.0.0.1", 1);
    EXPECT_EQ(proxy_for(*Url::parse("https://quay.io/")).authority(), "proxy.local:3128");
    EXPECT_EQ(proxy_for(*Url::parse("https://a.internal/")).host, "");
    EXPECT_EQ(proxy_for(*Url::parse("https://127.0.0.1:5000/")).host, "");
    EXPECT_EQ(proxy_for(*Url::parse("http://quay.io/")).host, "");  // (no HTTP_PROXY)
    unsetenv("HTTPS_PROXY");
    unsetenv("NO_PROXY");
}

TEST(Auth, ChallengesAndBase64) {
    auto cs = parse_challenges(
        R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push", Basic realm="x")");
    ASSERT_EQ(cs.size(), 2u);
    EXPECT_EQ(cs[0].scheme, "bearer");
    EXPECT_EQ(cs[0].params["realm"], "https://auth.docker.io/token");
    EXPECT_EQ(cs[0].params["scope"], "repository:a/b:pull,push");
    EXPECT_EQ(cs[1].scheme, "basic");
    EXPECT_EQ(parse_challenges(R"(Bearer error="insufficient_scope",realm="r\"q")")[0].params["realm"], "r\"q");
    EXPECT_EQ(base64_encode("alice:secret1"), "YWxpY2U6c2VjcmV0MQ==");
    EXPECT_EQ(*base64_decode("YWxpY2U6c2VjcmV0MQ=="), "alice:secret1");
    EXPECT_FALSE(base64_decode("abc"));
}

TEST(Manifest, IndexesPlatformsAndBadInput) {
    std::string d1 = "sha256:" + std::string(64, '1'), d2 = "sha256:" + std::string(64, '2');
    std::string index = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + d1 + R"(","size":10,"platform":{"os":"linux","architecture":"amd64"}},
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + d2 + R"(","size":10,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]})";
    auto m = parse_manifest(index);
    ASSERT_TRUE(m) << m.error().msg;
    EXPECT_TRUE(m->is_index);
    EXPECT_EQ(choose_platform(*m, *parse_platform("linux/amd64"))->digest, d1);
    EXPECT_EQ(choose_platform(*m, *parse_platform("arm64"))->digest, d2);
    EXPECT_EQ(choose_platform(*m, *parse_platform("linux/aarch64"))->digest, d2);
    auto none = choose_platform(*m, *parse_platform("linux/riscv64"));
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().msg, "no image for linux/riscv64 in the index (it has: linux/amd64, linux/arm64/v8)");
    std::string img = R"({"schemaVersion":2,"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" + d1 +
                      R"(","size":5},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":")" + d2 + R"(","size":7}]})";
    auto mi = parse_manifest(img, "application/vnd.docker.distribution.manifest.v2+json");
    ASSERT_TRUE(mi) << mi.error().msg;
    EXPECT_FALSE(mi->is_index);
    EXPECT_EQ(mi->layers.size(), 1u);
    EXPECT_FALSE(parse_manifest(R"({"schemaVersion":1,"fsLayers":[]})"));
    EXPECT_FALSE(parse_manifest(R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"sha256:x","size":1},"layers":[]})"));
    EXPECT_FALSE(parse_manifest(R"({"mediaType":"text/plain"})"));
    EXPECT_FALSE(parse_manifest(std::string(5u << 20, ' ')));
    auto cfg = parse_image_config(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[")" + d1 + R"("]}})");
    ASSERT_TRUE(cfg);
    EXPECT_EQ(cfg->diff_ids.size(), 1u);
    EXPECT_FALSE(parse_image_config(R"({"rootfs":{"diff_ids":["nope"]}})"));
}

TEST(RegistriesConf, SourcesMirrorsAliasesAndErrors) {
    auto conf = parse_registries_conf(R"(unqualified-search-registries = ["quay.io", "docker.io"]
[[registry]]
prefix = "example.com/foo"
location = "internal.example.com/bar"
insecure = true
[[registry.mirror]]
location = "mirror.local/cache"
[[registry]]
location = "evil.example"
blocked = true
[aliases]
"app" = "quay.io/org/app"
)", "test.conf");
    ASSERT_TRUE(conf) << conf.error().msg;
    EXPECT_EQ(conf->search.size(), 2u);
    EXPECT_EQ(conf->aliases.at("app"), "quay.io/org/app");
    auto src = pull_sources(*conf, *parse_reference("example.com/foo/img:1"));
    ASSERT_TRUE(src);
    ASSERT_EQ(src->size(), 2u);
    EXPECT_EQ((*src)[0].registry, "mirror.local");
    EXPECT_EQ((*src)[0].repository, "cache/img");
    EXPECT_TRUE((*src)[0].mirror);
    EXPECT_EQ((*src)[1].registry, "internal.example.com");
    EXPECT_EQ((*src)[1].repository, "bar/img");
    EXPECT_TRUE((*src)[1].insecure);
    EXPECT_TRUE(conf->insecure("internal.example.com"));
    EXPECT_FALSE(conf->insecure("quay.io"));
    auto blocked = pull_sources(*conf, *parse_reference("evil.example/x"));
    ASSERT_FALSE(blocked);
    EXPECT_NE(blocked.error().msg.find("blocked"), std::string::npos);
    EXPECT_EQ(pull_sources(*conf, *parse_reference("example.com/foobar/x"))->front().registry, "example.com");  // (prefix is per component)
    // Drop-ins: arrays replace, the same prefix replaces.
    auto over = parse_registries_conf("unqualified-search-registries = [\"r.local\"]\n", "d.conf", *conf);
    EXPECT_EQ(over->search, std::vector<std::string>{"r.local"});
    auto bad = parse_registries_conf("[[registry]]\ninsecure = \"yes\"\nlocation = \"x\"\n", "bad.conf");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().msg.find("must be true or false"), std::string::npos);
    EXPECT_NE(parse_registries_conf("a = [", "broken.conf").error().msg.find("`broken.conf` line 1"), std::string::npos);
}

}  // namespace
}  // namespace hako::registry
