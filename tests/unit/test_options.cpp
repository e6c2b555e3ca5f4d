// The container definition's parsers: restart policies, Go durations,
// healthchecks, -v/--mount/--tmpfs, detach keys, attach frames, and the
// record's options surviving JSON.
#include <gtest/gtest.h>

#include "frontend/attach.hpp"
#include "frontend/engine.hpp"

namespace hako::frontend {
namespace {

TEST(Options, RestartPolicies) {
    EXPECT_EQ(parse_restart("no")->name, "no");
    auto p = parse_restart("on-failure:3");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->name, "on-failure");
    EXPECT_EQ(p->max_retries, 3);
    EXPECT_EQ(parse_restart("always")->max_retries, 0);
    EXPECT_FALSE(parse_restart("always:2"));
    EXPECT_FALSE(parse_restart("on-failure:x"));
    EXPECT_FALSE(parse_restart("sometimes"));
    EXPECT_NE(parse_restart("sometimes").error().what().find("`sometimes`"), std::string::npos);
}

TEST(Options, GoDurations) {
    EXPECT_EQ(*parse_duration("30s", "f"), 30'000'000'000);
    EXPECT_EQ(*parse_duration("1m30s", "f"), 90'000'000'000);
    EXPECT_EQ(*parse_duration("500ms", "f"), 500'000'000);
    EXPECT_EQ(*parse_duration("1.5h", "f"), 5'400'000'000'000);
    EXPECT_EQ(*parse_duration("0", "f"), 0);
    EXPECT_FALSE(parse_duration("10", "f"));
    EXPECT_FALSE(parse_duration("soon", "f"));
    EXPECT_FALSE(parse_duration("5y", "f"));
    EXPECT_NE(parse_duration("5y", "--x").error().what().find("unit `y`"), std::string::npos);
}

TEST(Options, HealthchecksFlagsOverTheImage) {
    image::Config img;
    img.healthcheck = image::Healthcheck{{"CMD", "true"}, 5'000'000'000, 0, 0, 7};
    RunOptions o;
    auto h = resolve_health(o, img);
    ASSERT_TRUE(h && *h);
    EXPECT_EQ((*h)->test, (std::vector<std::string>{"CMD", "true"}));
    EXPECT_EQ((*h)->interval, 5'000'000'000);
    EXPECT_EQ((*h)->timeout, 30'000'000'000);  // docker's default
    EXPECT_EQ((*h)->retries, 7);
    o.health_cmd = "curl -f localhost";
    o.health_interval = "1s";
    h = resolve_health(o, img);
    EXPECT_EQ((*h)->test, (std::vector<std::string>{"CMD-SHELL", "curl -f localhost"}));
    EXPECT_EQ((*h)->interval, 1'000'000'000);
    RunOptions none;
    none.no_healthcheck = true;
    EXPECT_FALSE(*resolve_health(none, img));
    img.healthcheck->test = {"NONE"};
    EXPECT_FALSE(*resolve_health(RunOptions{}, img));
    none.health_cmd = "x";
    EXPECT_FALSE(resolve_health(none, img));
}

TEST(Options, MountsFromEveryFlag) {
    RunOptions o;
    o.volumes = {"/host/dir:/data:ro", "named:/n", "/anon"};
    o.mounts = {"type=tmpfs,dst=/t,tmpfs-size=1m", "type=bind,src=/h,target=/b,readonly"};
    o.tmpfs = {"/run:size=2m"};
    auto none = [](const std::string&) -> Result<std::vector<MountSpec>> { return std::vector<MountSpec>{}; };
    auto m = parse_mounts(o, {"/imgvol", "/data"}, none);
    ASSERT_TRUE(m) << m.error().what();
    ASSERT_EQ(m->size(), 7u);
    EXPECT_EQ((*m)[0].type, "bind");
    EXPECT_EQ((*m)[0].source, "/host/dir");
    EXPECT_TRUE((*m)[0].ro);
    EXPECT_EQ((*m)[1].type, "volume");
    EXPECT_EQ((*m)[1].source, "named");
    EXPECT_FALSE((*m)[1].anonymous);
    EXPECT_TRUE((*m)[2].anonymous);
    EXPECT_EQ((*m)[2].source.size(), 64u);
    EXPECT_EQ((*m)[3].options, (std::vector<std::string>{"size=1m"}));
    EXPECT_TRUE((*m)[4].ro);
    EXPECT_EQ((*m)[5].destination, "/run");
    EXPECT_EQ((*m)[6].destination, "/imgvol");  // the image's VOLUME; /data was given
    EXPECT_TRUE((*m)[6].anonymous);
    for (const auto& bad : std::vector<std::string>{"rel:/x:zz", "a b:/x", "/x:relative", "/h:/", "", ":", "/dst:", ":/dst", "/a::ro", "/a:/b:ro:x"}) {
        RunOptions b;
        b.volumes = {bad};
        EXPECT_FALSE(parse_mounts(b, {}, none)) << bad;
    }
    RunOptions dup;
    dup.volumes = {"/a:/same", "/b:/same"};
    EXPECT_NE(parse_mounts(dup, {}, none).error().what().find("duplicate mount point `/same`"), std::string::npos);
    RunOptions badmount;
    badmount.mounts = {"type=nfs,dst=/x"};
    EXPECT_FALSE(parse_mounts(badmount, {}, none));
}

TEST(Options, VolumesFromTakesTheOthersMounts) {
    RunOptions o;
    o.volumes_from = {"other:ro"};
    auto from = [](const std::string& ref) -> Result<std::vector<MountSpec>> {
        if (ref != "other") return error("no such container");
        return std::vector<MountSpec>{{"volume", "v1", "/v", false, true, {}}, {"tmpfs", "", "/t", false, false, {}}};
    };
    auto m = parse_mounts(o, {}, from);
    ASSERT_TRUE(m);
    ASSERT_EQ(m->size(), 1u);
    EXPECT_EQ((*m)[0].source, "v1");
    EXPECT_TRUE((*m)[0].ro);
    EXPECT_FALSE((*m)[0].anonymous);
    o.volumes_from = {"ghost"};
    EXPECT_FALSE(parse_mounts(o, {}, from));
}

TEST(Options, SurviveTheRecord) {
    RunOptions o;
    o.image = "busybox";
    o.command = {"sh", "-c", "x"};
    o.restart = "on-failure:2";
    o.entrypoint = "";
    o.oom_score_adj = -5;
    o.net.publish = {"8080:80"};
    o.log_opts = {"max-size=1m"};
    auto back = options_from_json(nlohmann::json::parse(options_to_json(o).dump()));
    EXPECT_EQ(back.image, "busybox");
    EXPECT_EQ(back.command, o.command);
    EXPECT_EQ(back.restart, "on-failure:2");
    ASSERT_TRUE(back.entrypoint);
    EXPECT_EQ(*back.entrypoint, "");
    EXPECT_EQ(back.oom_score_adj, -5);
    EXPECT_EQ(back.net.publish, o.net.publish);
    EXPECT_EQ(back.log_opts, o.log_opts);
    // a field of the wrong type keeps its default
    auto j = options_to_json(o);
    j["tty"] = "yes";
    EXPECT_FALSE(options_from_json(j).tty);
}

// A record keeps only what differs from the defaults (hako ps reads 1,000
// of them), and reads back the same options - a record written whole (by
// an older hako) too.
TEST(Options, RecordKeepsOnlyWhatDiffersFromTheDefaults) {
    RunOptions o;
    o.image = "busybox";
    EXPECT_EQ(options_to_json(o), (nlohmann::json{{"image", "busybox"}}));
    o.sig_proxy = false;    // (defaults that are not zero or empty)
    o.stop_timeout = 0;
    o.pull = "never";
    o.net.networks = {"none"};
    auto j = options_to_json(o);
    EXPECT_EQ(j.size(), 5u) << j.dump();
    auto back = options_from_json(j);
    EXPECT_FALSE(back.sig_proxy);
    EXPECT_EQ(back.stop_timeout, 0);
    EXPECT_EQ(back.pull, "never");
    EXPECT_EQ(back.restart, "no");
    EXPECT_EQ(back.net.networks, o.net.networks);
    EXPECT_TRUE(options_from_json(nlohmann::json{{"image", "busybox"}}).sig_proxy);
    // written whole, every field there
    auto whole = nlohmann::json::parse(R"({"image":"busybox","sig_proxy":false,"stop_timeout":0,"pull":"never",
        "restart":"no","tty":false,"cpus":0.0,"env":[],"net":{"networks":["none"],"publish":[],"publish_all":false}})");
    auto old = options_from_json(whole);
    EXPECT_FALSE(old.sig_proxy);
    EXPECT_EQ(old.stop_timeout, 0);
    EXPECT_EQ(old.pull, "never");
    EXPECT_EQ(old.net.networks, o.net.networks);
    EXPECT_EQ(options_to_json(old), j);
}

TEST(Attach, DetachKeys) {
    EXPECT_EQ(*parse_detach_keys("ctrl-p,ctrl-q"), "\x10\x11");
    EXPECT_EQ(*parse_detach_keys("ctrl-@,a,ctrl-["), std::string("\0a\x1b", 3));
    EXPECT_FALSE(parse_detach_keys("ctrl-1"));
    EXPECT_FALSE(parse_detach_keys("meta-x"));
}

TEST(Attach, FramesRoundTripAndSplit) {
    std::string wire;
    put_frame(wire, Frame::Stdout, "hello");
    put_frame(wire, Frame::Exit, "3");
    std::string buf = wire.substr(0, 7);
    std::vector<FrameIn> got;
    ASSERT_TRUE(take_frames(buf, got));
    EXPECT_TRUE(got.empty());
    buf += wire.substr(7);
    ASSERT_TRUE(take_frames(buf, got));
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].data, "hello");
    EXPECT_EQ(got[1].type, Frame::Exit);
    EXPECT_TRUE(buf.empty());
    std::string huge = std::string("\x01\xff\xff\xff\x7f", 5);
    EXPECT_FALSE(take_frames(huge, got));
}

}  // namespace
}  // namespace hako::frontend
