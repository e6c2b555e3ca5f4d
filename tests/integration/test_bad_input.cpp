// Bad bundles are refused with a message that names the problem, and leave
// nothing behind: no state, no container process, no cgroup, no mount.
#include <filesystem>
#include <regex>

#include "harness.hpp"

namespace hako::test {
namespace {

using BadInput = ContainerTest;

// Runs `run` and `create` on the bundle; each must fail, say on stderr what is
// wrong (matching `pattern`, case-insensitive) and leave nothing behind.
void expect_refused(Runtime& rt, Bundle& b, const std::string& pattern, bool write_config = true) {
    const std::regex re(pattern, std::regex::icase);
    for (std::string cmd : {"run", "create"}) {
        SCOPED_TRACE(cmd);
        std::string id = rt.new_id();
        auto before = host_mounts().size();
        Result r;
        if (write_config) {
            r = cmd == "run" ? rt.run(b, id, {}, with_timeout(30s)) : rt.create(b, id, {}, with_timeout(30s));
        } else {
            r = rt({cmd, "--bundle", b.dir(), id}, with_timeout(30s));
        }
        EXPECT_FALSE(r.timed_out) << r;
        EXPECT_EQ(r.exit_code, 1) << "a refused config exits 1 (never a crash, >= 128)" << r;
        EXPECT_TRUE(std::regex_search(r.err, re)) << "stderr does not name the problem (/" << pattern << "/)" << r;
        EXPECT_LT(r.err.size(), 65536u) << "an error message quotes a huge value whole";
        auto st = rt({"state", id});
        EXPECT_NE(st.exit_code, 0) << "state of a refused container" << st;
        EXPECT_TRUE(rt.list_ids().empty()) << rt({"list"});
        EXPECT_TRUE(cgroups_named({id}).empty()) << "cgroup left behind: " << cgroups_named({id})[0];
        EXPECT_EQ(host_mounts().size(), before) << "mount count changed";
        std::error_code ec;
        for (auto& e : std::filesystem::recursive_directory_iterator(rt.root(), ec))
            EXPECT_EQ(e.path().string().find(id), std::string::npos) << "state left: " << e.path();
    }
    EXPECT_TRUE(mounts_under(b.dir()).empty());
}

TEST_F(BadInput, MalformedConfigJson) {
    Bundle b;
    b.write();
    write_file(b.dir() + "/config.json", "{ \"ociVersion\": \"1.0.2\", not json\n");
    expect_refused(rt, b, "json|config|parse|syntax|invalid character", /*write_config=*/false);
}

// Malformed configs: each refused with the field named, exit 1, no crash
// (exit >= 128) or hang, nothing left. Wrong types, out-of-range numbers,
// unknown enum values, 10 MB strings, a truncated file.
TEST_F(BadInput, MalformedConfigsNameTheField) {
    const std::string big(10 << 20, 'x');
    struct Case {
        const char* field;  // (a regex: what stderr must name)
        std::function<void(json&)> mutate;
    };
    const Case cases[] = {
        {"process\\.args", [](json& c) { c["process"]["args"] = "sh"; }},
        {"process\\.args", [](json& c) { c["process"]["args"] = json::array({1, 2}); }},
        {"process\\.user\\.uid", [](json& c) { c["process"]["user"]["uid"] = "0"; }},
        {"process\\.user\\.uid", [](json& c) { c["process"]["user"]["uid"] = -1; }},
        {"process\\.user\\.gid", [](json& c) { c["process"]["user"]["gid"] = 1e20; }},
        {"process\\.terminal", [](json& c) { c["process"]["terminal"] = "yes"; }},
        {"process\\.rlimits", [](json& c) { c["process"]["rlimits"] = {{{"type", "RLIMIT_BOGUS"}, {"hard", 1}, {"soft", 1}}}; }},
        {"process\\.rlimits", [](json& c) { c["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"hard", -5}, {"soft", 1}}}; }},
        {"process\\.consoleSize", [](json& c) { c["process"]["consoleSize"] = {{"height", 70000}, {"width", 80}}; }},
        {"mounts", [](json& c) { c["mounts"] = json::object(); }},
        {"mounts\\[0\\]\\.destination", [](json& c) { c["mounts"][0]["destination"] = 42; }},
        {"root\\.path", [](json& c) { c["root"]["path"] = json::array(); }},
        {"linux\\.namespaces\\[0\\]", [](json& c) { c["linux"]["namespaces"][0] = "pid"; }},
        {"linux\\.resources\\.memory\\.limit", [](json& c) { c["linux"]["resources"]["memory"]["limit"] = "lots"; }},
        {"linux\\.resources\\.cpu\\.shares", [](json& c) { c["linux"]["resources"]["cpu"]["shares"] = -3; }},
        {"linux\\.seccomp\\.defaultAction", [](json& c) { c["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_NOPE"}}; }},
        {"linux\\.rootfsPropagation", [](json& c) { c["linux"]["rootfsPropagation"] = "sideways"; }},
        {"linux\\.uidMappings", [](json& c) { c["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 0}, {"size", 1e12}}}; }},
        {"hostname", [&big](json& c) { c["hostname"] = big; }},
        {"process\\.env", [&big](json& c) { c["process"]["env"].push_back("BIG=" + big); }},
        {"process\\.cwd", [&big](json& c) { c["process"]["cwd"] = "/" + big; }},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.field);
        Bundle b({"true"});
        b.write();  // (then mutated as text: the harness reads some fields itself)
        json config = json::parse(read_file(b.dir() + "/config.json"));
        c.mutate(config);
        write_file(b.dir() + "/config.json", config.dump());
        expect_refused(rt, b, c.field, /*write_config=*/false);
        for (const auto& id : rt.list_ids()) rt.remove(id, true);  // (a case that was not refused: not the next one's failure)
    }
}

TEST_F(BadInput, TruncatedConfigJson) {
    Bundle b;
    b.write();
    std::string text = read_file(b.dir() + "/config.json");
    for (size_t cut : {size_t{1}, text.size() / 3, text.size() / 2, text.size() - 2}) {
        SCOPED_TRACE(cut);
        write_file(b.dir() + "/config.json", text.substr(0, cut));
        expect_refused(rt, b, "config\\.json", /*write_config=*/false);
    }
}

TEST_F(BadInput, ConfigJsonMissing) {
    Bundle b;  // never written
    expect_refused(rt, b, "config\\.json", /*write_config=*/false);
}

TEST_F(BadInput, ConfigJsonNotAnObject) {
    Bundle b;
    b.write();
    write_file(b.dir() + "/config.json", "[1, 2, 3]\n");
    expect_refused(rt, b, "json|config|object|cannot unmarshal|array", /*write_config=*/false);
}

TEST_F(BadInput, MissingRootfs) {
    Bundle b;
    std::string missing = b.dir() + "/no-such-rootfs";
    b.config()["root"]["path"] = missing;
    expect_refused(rt, b, "rootfs|no-such-rootfs|root\\.path");
}

TEST_F(BadInput, UnknownNamespaceType) {
    Bundle b;
    b.config()["linux"]["namespaces"].push_back({{"type", "foo"}});
    expect_refused(rt, b, "foo");
}

TEST_F(BadInput, ArgsMissingBinary) {
    Bundle b({"/no/such/binary"});
    // The runtime must fail (create may fail only at start; run must fail).
    std::string id = rt.new_id();
    auto r = rt.run(b, id, {}, with_timeout(30s));
    EXPECT_NE(r.exit_code, 0) << r;
    EXPECT_TRUE(contains(r.err, "/no/such/binary") || contains(r.err, "no such file")) << r;
    rt.remove(id, true);
    EXPECT_TRUE(rt.list_ids().empty());
}

TEST_F(BadInput, BundleDirMissing) {
    std::string id = rt.new_id();
    auto r = rt({"create", "--bundle", "/nonexistent-bundle-dir", id}, with_timeout(30s));
    EXPECT_NE(r.exit_code, 0) << r;
    EXPECT_FALSE(r.err.empty()) << r;
    EXPECT_TRUE(rt.list_ids().empty());
}

// An unknown command fails (also with -h after it); -h on a command prints
// that command's help, as runc does.
TEST_F(BadInput, UnknownCommandAndCommandHelp) {
    auto unknown = rt({"frobnicate"});
    EXPECT_NE(unknown.exit_code, 0) << unknown;
    EXPECT_TRUE(contains(unknown.err, "frobnicate")) << unknown;
    auto unknown_help = rt({"frobnicate", "-h"});
    EXPECT_NE(unknown_help.exit_code, 0) << unknown_help;
    auto help = rt({"delete", "-h"});
    EXPECT_EQ(help.exit_code, 0) << help;
    EXPECT_TRUE(contains(help.out, "delete")) << help;
    EXPECT_TRUE(contains(help.out, "--force")) << help;
}

// --log-format text writes runc's (logrus) lines; json stays JSON.
TEST_F(BadInput, LogFormatTextIsLogrus) {
    TempDir dir("log");
    std::string log = dir / "runtime.log";
    auto r = rt({"--log", log, "--log-format", "text", "state", "no-such-container"});
    EXPECT_NE(r.exit_code, 0);
    auto ls = lines(read_file(log));
    ASSERT_FALSE(ls.empty());
    const std::string& l = ls.back();
    EXPECT_TRUE(l.starts_with("time=\"")) << l;
    EXPECT_TRUE(contains(l, "\" level=error msg=\"")) << l;
    EXPECT_TRUE(contains(l, "no-such-container")) << l;
    std::string jlog = dir / "runtime.json";
    (void)rt({"--log", jlog, "--log-format", "json", "state", "no-such-container"});
    auto j = json::parse(lines(read_file(jlog)).back());
    EXPECT_EQ(j["level"], "error");
}

}  // namespace
}  // namespace hako::test
