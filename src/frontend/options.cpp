// A container's definition as its record keeps it: run/create's flags to
// and from JSON, restart policies, durations, healthchecks and mounts parsed.
#include <charconv>
#include <cmath>

#include "common/digest.hpp"
#include "common/strings.hpp"
#include "frontend/engine.hpp"
#include "frontend/volumes.hpp"
#include "sys/inroot.hpp"

namespace hako::frontend {

using json = nlohmann::json;

// Every plain field of RunOptions (the rest are handled by hand below).
#define HAKO_RUN_FIELDS(X)                                                                                  \
    X(image) X(command) X(detach) X(interactive) X(tty) X(rm) X(name) X(env) X(env_files) X(workdir) X(user) \
    X(hostname) X(volumes) X(mounts) X(volumes_from) X(tmpfs) X(read_only) X(memory) X(memory_swap)          \
    X(memory_reservation) X(shm_size) X(cpus) X(cpuset_cpus) X(cpu_shares) X(blkio_weight) X(pids_limit)     \
    X(oom_kill_disable) X(cap_add) X(cap_drop) X(security_opt) X(privileged) X(devices) X(group_add)        \
    X(ulimits) X(sysctls) X(labels) X(label_files) X(cidfile) X(pid_mode) X(ipc_mode) X(uts_mode)           \
    X(cgroupns) X(userns) X(init) X(pull) X(platform) X(restart) X(health_cmd) X(health_interval)           \
    X(health_timeout) X(health_start_period) X(health_retries) X(no_healthcheck) X(log_driver) X(log_opts)  \
    X(stop_signal) X(stop_timeout) X(detach_keys) X(sig_proxy) X(build)

#define HAKO_NET_FIELDS(X) \
    X(networks) X(ip) X(ip6) X(mac) X(aliases) X(add_hosts) X(dns) X(dns_search) X(dns_options) X(publish) X(publish_all)

// Only what differs from the defaults is written (options_from_json starts
// from them): a record a third of the size, read by every `hako ps`.
json options_to_json(const RunOptions& o) {
    static const RunOptions defaults;
    json j = json::object();
#define TO(f) \
    if (o.f != defaults.f) j[#f] = o.f;
    HAKO_RUN_FIELDS(TO)
#undef TO
    json n = json::object();
#define TO(f) \
    if (o.net.f != defaults.net.f) n[#f] = o.net.f;
    HAKO_NET_FIELDS(TO)
#undef TO
    if (!n.empty()) j["net"] = n;
    if (o.entrypoint) j["entrypoint"] = *o.entrypoint;
    if (o.oom_score_adj) j["oom_score_adj"] = *o.oom_score_adj;
    return j;
}

namespace {

// obj[key] into field; a field of the wrong type (a hand-edited record)
// keeps its default.
template <typename T>
void get_field(const json& obj, const char* key, T& field) {
    auto it = obj.find(key);
    if (it == obj.end()) return;
    try {
        it->get_to(field);
    } catch (const json::exception&) {
    }
}

}  // namespace

RunOptions options_from_json(const json& j) {
    RunOptions o;
    if (!j.is_object()) return o;
#define FROM(f) get_field(j, #f, o.f);
    HAKO_RUN_FIELDS(FROM)
#undef FROM
    if (auto it = j.find("net"); it != j.end() && it->is_object()) {
        const json& n = *it;
#define FROM(f) get_field(n, #f, o.net.f);
        HAKO_NET_FIELDS(FROM)
#undef FROM
    }
    if (j.contains("entrypoint") && j["entrypoint"].is_string()) o.entrypoint = j["entrypoint"].get<std::string>();
    if (j.contains("oom_score_adj") && j["oom_score_adj"].is_number_integer()) o.oom_score_adj = j["oom_score_adj"].get<int>();
    o.net.hostname = o.hostname;
    return o;
}

Result<RestartPolicy> parse_restart(const std::string& s) {
    RestartPolicy p;
    auto colon = s.find(':');
    p.name = s.substr(0, colon);
    if (p.name != "no" && p.name != "on-failure" && p.name != "always" && p.name != "unless-stopped")
        return error("--restart `" + s + "`: expected no, on-failure[:N], always or unless-stopped");
    if (colon != std::string::npos) {
        std::string n = s.substr(colon + 1);
        auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), p.max_retries);
        if (p.name != "on-failure") return error("--restart `" + s + "`: only on-failure takes a retry count");
        if (ec != std::errc{} || end != n.data() + n.size() || p.max_retries < 0)
            return error("--restart `" + s + "`: the retry count must be a number >= 0");
    }
    return p;
}

Result<int64_t> parse_duration(const std::string& s, const char* flag) {
    // Go's time.ParseDuration: [number unit]... with units ns us ms s m h.
    if (s.empty()) return error(std::string(flag) + ": empty duration");
    if (s == "0") return 0;
    double total = 0;
    size_t i = 0;
    while (i < s.size()) {
        size_t start = i;
        while (i < s.size() && (isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
        if (start == i) return error(std::string(flag) + ": invalid duration `" + s + "` (e.g. 30s, 1m30s, 500ms)");
        double v = 0;
        auto [end, ec] = std::from_chars(s.data() + start, s.data() + i, v);
        if (ec != std::errc{} || end != s.data() + i)
            return error(std::string(flag) + ": invalid duration `" + s + "`");
        size_t ustart = i;
        while (i < s.size() && isalpha(static_cast<unsigned char>(s[i]))) ++i;
        std::string unit = s.substr(ustart, i - ustart);
        double mul = unit == "ns" ? 1 : unit == "us" || unit == "µs" ? 1e3 : unit == "ms" ? 1e6 : unit == "s" ? 1e9
                   : unit == "m" ? 60e9 : unit == "h" ? 3600e9 : 0;
        if (mul == 0)
            return error(std::string(flag) + ": invalid duration `" + s + "`: unit `" + unit + "` (ns, us, ms, s, m, h)");
        total += v * mul;
    }
    if (total > 9.2e18) return error(std::string(flag) + ": duration `" + s + "` too long");
    return static_cast<int64_t>(std::llround(total));
}

Result<std::optional<image::Healthcheck>> resolve_health(const RunOptions& o, const image::Config& img) {
    if (o.no_healthcheck) {
        if (!o.health_cmd.empty()) return error("--no-healthcheck conflicts with --health-cmd");
        return std::optional<image::Healthcheck>{};
    }
    image::Healthcheck h = img.healthcheck.value_or(image::Healthcheck{});
    if (!o.health_cmd.empty()) h.test = {"CMD-SHELL", o.health_cmd};
    if (!o.health_interval.empty()) h.interval = HAKO_TRY(parse_duration(o.health_interval, "--health-interval"));
    if (!o.health_timeout.empty()) h.timeout = HAKO_TRY(parse_duration(o.health_timeout, "--health-timeout"));
    if (!o.health_start_period.empty())
        h.start_period = HAKO_TRY(parse_duration(o.health_start_period, "--health-start-period"));
    if (o.health_retries < 0) return error("--health-retries must be >= 0");
    if (o.health_retries > 0) h.retries = o.health_retries;
    if (h.test.empty() || h.test[0] == "NONE") return std::optional<image::Healthcheck>{};
    if (h.test[0] != "CMD" && h.test[0] != "CMD-SHELL")
        return error("healthcheck test `" + h.test[0] + "`: expected CMD, CMD-SHELL or NONE");
    if (h.test.size() < 2) return error("healthcheck: no command");
    // docker's defaults: every 30 s, 30 s each, 3 failures.
    if (h.interval == 0) h.interval = 30'000'000'000;
    if (h.timeout == 0) h.timeout = 30'000'000'000;
    if (h.retries == 0) h.retries = 3;
    if (h.interval < 1'000'000 || h.timeout < 1'000'000) return error("--health-interval and --health-timeout must be at least 1ms");
    return std::optional<image::Healthcheck>{h};
}

json health_to_json(const HealthState& h) {
    json log = json::array();
    for (const auto& l : h.log)
        log.push_back({{"Start", l.start}, {"End", l.end}, {"ExitCode", l.exit_code}, {"Output", l.output}});
    return {{"Status", h.status}, {"FailingStreak", h.failing_streak}, {"Log", log}};
}

HealthState health_from_json(const json& j) {
    HealthState h;
    if (!j.is_object()) return h;
    h.status = j.value("Status", "");
    h.failing_streak = j.value("FailingStreak", 0);
    if (j.contains("Log") && j["Log"].is_array())
        for (const auto& l : j["Log"])
            if (l.is_object())
                h.log.push_back({l.value("Start", ""), l.value("End", ""), l.value("ExitCode", 0), l.value("Output", "")});
    return h;
}

namespace {

Status check_destination(const std::string& dst, const std::string& what) {
    if (dst.empty() || dst[0] != '/') return error(what + ": the destination `" + elide(dst) + "` must be an absolute path");
    if (dst == "/") return error(what + ": cannot mount over the container's root `/`");
    return {};
}

// -v SRC:DST[:OPTS] | NAME:DST[:OPTS] | DST
Result<MountSpec> parse_volume(const std::string& v) {
    auto parts = fields(v, ':');  // (empty pieces kept: `-v /dst:` is an error, not a volume at "/dst:")
    std::string what = "-v `" + elide(v) + "`";
    MountSpec m;
    if (v.empty()) return error("-v: an empty value (expected SRC:DST[:OPTIONS], NAME:DST[:OPTIONS] or DST)");
    if (parts.size() == 1) {  // anonymous
        m.type = "volume";
        m.destination = v;
        m.anonymous = true;
    } else if (parts.size() <= 3) {
        std::string src(parts[0]);
        m.destination = std::string(parts[1]);
        if (src.empty()) return error(what + ": empty source");
        if (src[0] == '/') {
            m.type = "bind";
            m.source = sys::clean_path(src);
        } else if (valid_volume_name(src)) {
            m.type = "volume";
            m.source = src;
        } else {
            return error(what + ": `" + src + "` is neither an absolute host path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)");
        }
        if (parts.size() == 3)
            for (auto opt : split(parts[2], ',')) {
                if (opt == "ro") m.ro = true;
                else if (opt == "rw") m.ro = false;
                else if (opt == "z" || opt == "Z") continue;  // SELinux relabels: nothing to do here
                else if (opt == "private" || opt == "rprivate" || opt == "shared" || opt == "rshared" || opt == "slave" ||
                         opt == "rslave")
                    m.options.emplace_back(opt);
                else if (opt == "nocopy") m.options.emplace_back("nocopy");
                else return error(what + ": unknown option `" + std::string(opt) + "` (ro, rw, z, Z, [r]private, [r]shared, [r]slave, nocopy)");
            }
    } else {
        return error(what + ": expected SRC:DST[:OPTIONS], NAME:DST[:OPTIONS] or DST");
    }
    HAKO_TRY(check_destination(m.destination, what));
    return m;
}

// --mount type=bind|volume|tmpfs,source=,target=,readonly,...
Result<MountSpec> parse_mount_flag(const std::string& s) {
    std::string what = "--mount `" + elide(s) + "`";
    MountSpec m;
    m.type = "volume";
    for (auto kv : split(s, ',')) {
        auto eq = kv.find('=');
        std::string k(kv.substr(0, eq)), val = eq == std::string::npos ? "" : std::string(kv.substr(eq + 1));
        if (k == "type") m.type = val;
        else if (k == "source" || k == "src") m.source = val;
        else if (k == "target" || k == "destination" || k == "dst") m.destination = val;
        else if (k == "readonly" || k == "ro") m.ro = val.empty() || val == "true" || val == "1";
        else if (k == "bind-propagation") m.options.push_back(val);
        else if (k == "tmpfs-size") m.options.push_back("size=" + val);
        else if (k == "tmpfs-mode") m.options.push_back("mode=" + val);
        else if (k == "volume-nocopy") m.options.emplace_back("nocopy");
        else if (k == "consistency" || k == "z" || k == "Z") continue;
        else return error(what + ": unknown key `" + k + "` (type, source, target, readonly, bind-propagation, tmpfs-size, tmpfs-mode, volume-nocopy)");
    }
    if (m.type != "bind" && m.type != "volume" && m.type != "tmpfs")
        return error(what + ": type `" + m.type + "`: expected bind, volume or tmpfs");
    HAKO_TRY(check_destination(m.destination, what));
    if (m.type == "bind") {
        if (m.source.empty() || m.source[0] != '/') return error(what + ": a bind needs an absolute source");
        m.source = sys::clean_path(m.source);
    } else if (m.type == "volume") {
        if (m.source.empty()) m.anonymous = true;
        else if (!valid_volume_name(m.source)) return error(what + ": invalid volume name `" + m.source + "`");
    } else if (!m.source.empty()) {
        return error(what + ": a tmpfs takes no source");
    }
    return m;
}

}  // namespace

Result<std::vector<MountSpec>> parse_mounts(const RunOptions& o, const std::vector<std::string>& image_volumes,
                                            const std::function<Result<std::vector<MountSpec>>(const std::string&)>& from) {
    std::vector<MountSpec> out;
    auto add = [&out](MountSpec m) -> Status {
        for (auto& e : out)
            if (e.destination == m.destination) return error("duplicate mount point `" + m.destination + "`");
        out.push_back(std::move(m));
        return {};
    };
    for (const auto& v : o.volumes) {
        auto m = HAKO_TRY(parse_volume(v));
        HAKO_TRY(add(std::move(m)));
    }
    for (const auto& s : o.mounts) {
        auto m = HAKO_TRY(parse_mount_flag(s));
        HAKO_TRY(add(std::move(m)));
    }
    for (const auto& t : o.tmpfs) {
        auto colon = t.find(':');
        MountSpec m;
        m.type = "tmpfs";
        m.destination = t.substr(0, colon);
        HAKO_TRY(check_destination(m.destination, "--tmpfs `" + elide(t) + "`"));
        const std::string opts = colon == std::string::npos ? "" : t.substr(colon + 1);  // (split's views point into it)
        for (auto opt : split(opts, ','))
            if (!opt.empty()) m.options.emplace_back(opt);
        HAKO_TRY(add(std::move(m)));
    }
    for (const auto& f : o.volumes_from) {
        auto colon = f.find(':');
        std::string ref = f.substr(0, colon), mode = colon == std::string::npos ? "" : f.substr(colon + 1);
        if (!mode.empty() && mode != "ro" && mode != "rw")
            return error("--volumes-from `" + elide(f) + "`: the mode must be ro or rw");
        for (auto m : HAKO_TRY_CTX(from(ref), "--volumes-from " + ref)) {
            if (m.type == "tmpfs") continue;
            if (!mode.empty()) m.ro = mode == "ro";
            m.anonymous = false;  // (the other container's: rm -v of this one keeps them)
            bool taken = false;
            for (const auto& e : out) taken = taken || e.destination == m.destination;
            if (!taken) out.push_back(std::move(m));
        }
    }
    // The image's VOLUMEs not mounted otherwise: anonymous volumes.
    for (const auto& v : image_volumes) {
        bool taken = false;
        std::string dst = v.empty() || v[0] != '/' ? "/" + v : v;
        for (const auto& e : out) taken = taken || e.destination == dst;
        if (!taken && dst != "/") out.push_back(MountSpec{"volume", "", dst, false, true, {}});
    }
    for (auto& m : out)
        if (m.type == "volume" && m.anonymous && m.source.empty()) m.source = random_id();
    return out;
}

}  // namespace hako::frontend
