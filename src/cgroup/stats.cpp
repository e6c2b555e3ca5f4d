// `events --stats`: the "data" object of runc's stats event (runc's
// types.Stats), read from the cgroup files. The mapping follows runc's
// libcontainer cgroups fs (v1) and fs2 (v2) readers, and Go's omitempty:
// fields runc tags omitempty are left out when zero or empty. A file that
// is missing or unreadable leaves its fields zero; nothing here fails.
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <limits>
#include <string>

#include "cgroup/cgroup.hpp"
#include "cgroup/stats_detail.hpp"
#include "common/strings.hpp"
#include "sys/syscalls.hpp"

namespace hako::cgroup {
namespace {

using nlohmann::json;
using Fields = std::vector<std::string_view>;
using KeyValues = std::map<std::string, uint64_t>;

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
// cpuacct.stat counts USER_HZ ticks; USER_HZ is 100 on Linux (runc hard-codes it too).
constexpr uint64_t kNsPerTick = 1'000'000'000 / 100;

std::string_view trim(std::string_view s) {
    size_t b = s.find_first_not_of(" \t\n");
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\n") - b + 1);
}

// A v2 directory (pure v2 leaf, or a hybrid host's unified one)?
bool is_v2_dir(const std::string& dir) {
    struct stat st{};
    return !dir.empty() && stat((dir + "/cgroup.controllers").c_str(), &st) == 0;
}

std::optional<std::string> read(const std::string& dir, const std::string& file) {
    if (dir.empty()) return std::nullopt;
    auto r = sys::read_file(dir + "/" + file);
    return r ? std::optional(std::move(*r)) : std::nullopt;
}

std::optional<uint64_t> read_uint(const std::string& dir, const std::string& file) {
    auto s = read(dir, file);
    return s ? detail::parse_uint(*s) : std::nullopt;
}

uint64_t read_u(const std::string& dir, const std::string& file) {
    return read_uint(dir, file).value_or(0);
}

// Calls fn(fields) for each line of the file that has any; fields are split
// on spaces, tabs and colons ("8:0 Read 5" -> {"8", "0", "Read", "5"}).
template <class Fn>
void each_line(const std::string& dir, const std::string& file, Fn fn) {
    auto text = read(dir, file);
    if (!text) return;
    for (auto line : split(*text, '\n')) {
        Fields f;
        for (size_t i = 0; i < line.size();) {
            size_t j = std::min(line.find_first_of(" \t:", i), line.size());
            if (j > i) f.push_back(line.substr(i, j - i));
            i = j + 1;
        }
        if (!f.empty()) fn(f);
    }
}

// Printable ASCII only (a key or name copied into the JSON, which must be UTF-8)?
bool printable(std::string_view s) {
    return std::ranges::all_of(s, [](char c) { return c > ' ' && c <= '~'; });
}

// "key value" lines (memory.stat, cpu.stat, memory.events, ...).
KeyValues read_kv(const std::string& dir, const std::string& file) {
    KeyValues out;
    each_line(dir, file, [&](const Fields& f) {
        auto v = f.size() == 2 && printable(f[0]) ? detail::parse_uint(f[1]) : std::nullopt;
        if (v) out[std::string(f[0])] = *v;
    });
    return out;
}

uint64_t get(const KeyValues& kv, const std::string& key) {
    auto it = kv.find(key);
    return it == kv.end() ? 0 : it->second;
}

// "key=value" -> {key, value}; {"", ""} when there is no '='.
std::pair<std::string_view, std::string_view> key_value(std::string_view s) {
    size_t eq = s.find('=');
    if (eq == std::string_view::npos) return {};
    return {s.substr(0, eq), s.substr(eq + 1)};
}

// Go's omitempty for a number.
void put_nonzero(json& j, const char* key, uint64_t v) {
    if (v != 0) j[key] = v;
}

uint64_t sat_add(uint64_t a, uint64_t b) { return a > kMax - b ? kMax : a + b; }

// runc's MemoryEntry: limit and failcnt always, usage and max when non-zero.
json memory_entry(uint64_t limit, uint64_t usage, uint64_t max, uint64_t failcnt) {
    json e = {{"limit", limit}, {"failcnt", failcnt}};
    put_nonzero(e, "usage", usage);
    put_nonzero(e, "max", max);
    return e;
}

// A pressure file ("some avg10=1.50 avg60=0.00 avg300=0.00 total=12", then
// "full ...") as runc's PSIStats under "psi"; nothing when it is absent.
void put_psi(json& j, const std::string& dir, const std::string& file) {
    json out = json::object();
    each_line(dir, file, [&](const Fields& f) {
        if (f[0] != "some" && f[0] != "full") return;
        json data = {{"avg10", 0.0}, {"avg60", 0.0}, {"avg300", 0.0}, {"total", 0}};
        for (size_t i = 1; i < f.size(); i++) {
            auto [k, v] = key_value(f[i]);
            double d = 0;
            if (k == "total") data["total"] = detail::parse_uint(v).value_or(0);
            else if (!k.empty() && data.contains(std::string(k)) &&
                     std::from_chars(v.data(), v.data() + v.size(), d).ec == std::errc())
                data[std::string(k)] = d;
        }
        out[std::string(f[0])] = std::move(data);
    });
    if (!out.empty()) j["psi"] = std::move(out);
}

// --- cpu -------------------------------------------------------------------

json throttling(const KeyValues& st, const char* throttled_time, uint64_t scale) {
    json t = json::object();
    put_nonzero(t, "periods", get(st, "nr_periods"));
    put_nonzero(t, "throttledPeriods", get(st, "nr_throttled"));
    put_nonzero(t, "throttledTime", get(st, throttled_time) * scale);
    return t;
}

json cpu_v1(const std::string& cpu_dir, const std::string& acct_dir) {
    json usage = json::object();
    put_nonzero(usage, "total", read_u(acct_dir, "cpuacct.usage"));
    std::vector<uint64_t> percpu, percpu_user, percpu_kernel;
    each_line(acct_dir, "cpuacct.usage_percpu", [&](const Fields& f) {
        for (auto v : f)
            if (auto n = detail::parse_uint(v)) percpu.push_back(*n);
    });
    // cpuacct.usage_all: a "cpu user system" header, then "<cpu> <user ns> <system ns>".
    each_line(acct_dir, "cpuacct.usage_all", [&](const Fields& f) {
        auto u = f.size() == 3 ? detail::parse_uint(f[1]) : std::nullopt;
        auto s = f.size() == 3 ? detail::parse_uint(f[2]) : std::nullopt;
        if (!u || !s) return;  // the header
        percpu_user.push_back(*u);
        percpu_kernel.push_back(*s);
    });
    if (!percpu.empty()) usage["percpu"] = percpu;
    if (!percpu_kernel.empty()) usage["percpu_kernel"] = percpu_kernel;
    if (!percpu_user.empty()) usage["percpu_user"] = percpu_user;
    auto st = read_kv(acct_dir, "cpuacct.stat");
    usage["kernel"] = get(st, "system") * kNsPerTick;
    usage["user"] = get(st, "user") * kNsPerTick;
    return {{"usage", usage}, {"throttling", throttling(read_kv(cpu_dir, "cpu.stat"), "throttled_time", 1)}};
}

json cpu_v2(const std::string& dir) {
    auto st = read_kv(dir, "cpu.stat");
    json usage = {{"kernel", get(st, "system_usec") * 1000}, {"user", get(st, "user_usec") * 1000}};
    put_nonzero(usage, "total", get(st, "usage_usec") * 1000);
    json cpu = {{"usage", usage}, {"throttling", throttling(st, "throttled_usec", 1000)}};
    put_psi(cpu, dir, "cpu.pressure");
    return cpu;
}

// --- cpuset (v1 only, as runc) -----------------------------------------------

json cpuset_v1(const std::string& dir) {
    json c = json::object();
    for (const char* f : {"cpus", "mems"}) {
        auto text = read(dir, std::string("cpuset.") + f);
        if (auto list = detail::parse_cpu_list(text ? *text : ""); !list.empty()) c[f] = list;
    }
    for (const char* f : {"cpu_exclusive", "mem_hardwall", "mem_exclusive", "memory_migrate",
                          "memory_spread_page", "memory_spread_slab", "memory_pressure",
                          "sched_load_balance"})
        c[f] = read_u(dir, std::string("cpuset.") + f);
    int64_t level = 0;
    if (auto s = read(dir, "cpuset.sched_relax_domain_level")) {
        auto t = trim(*s);
        std::from_chars(t.data(), t.data() + t.size(), level);
    }
    c["sched_relax_domain_level"] = level;
    return c;
}

// --- memory ----------------------------------------------------------------

// v1: <prefix>.{limit_in_bytes,usage_in_bytes,max_usage_in_bytes,failcnt};
// swap (memsw) and kmem are optional in the kernel: zero when absent.
json memory_entry_v1(const std::string& dir, const std::string& p) {
    if (!read_uint(dir, p + ".usage_in_bytes")) return memory_entry(0, 0, 0, 0);
    return memory_entry(read_u(dir, p + ".limit_in_bytes"), read_u(dir, p + ".usage_in_bytes"),
                        read_u(dir, p + ".max_usage_in_bytes"), read_u(dir, p + ".failcnt"));
}

json memory_v1(const std::string& dir) {
    auto raw = read_kv(dir, "memory.stat");
    json m = {{"usage", memory_entry_v1(dir, "memory")},
              {"swap", memory_entry_v1(dir, "memory.memsw")},
              {"kernel", memory_entry_v1(dir, "memory.kmem")},
              {"kernelTCP", memory_entry_v1(dir, "memory.kmem.tcp")}};
    put_nonzero(m, "cache", get(raw, "cache"));
    if (!raw.empty()) m["raw"] = raw;
    return m;
}

json memory_v2(const std::string& dir) {
    auto raw = read_kv(dir, "memory.stat");
    uint64_t usage = read_u(dir, "memory.current");
    uint64_t limit = read_u(dir, "memory.max");  // "max" -> UINT64_MAX, as runc
    // failcnt: how often the limit was hit (memory.events "max"), v1's meaning.
    uint64_t failcnt = get(read_kv(dir, "memory.events"), "max");
    // Swap as v1 reports it, memory+swap (so does runc on v2); no peak for the sum.
    uint64_t swap_limit = 0, swap_usage = 0;
    if (auto cur = read_uint(dir, "memory.swap.current")) {
        swap_usage = *cur;
        swap_limit = read_u(dir, "memory.swap.max");
    }
    json m = {{"usage", memory_entry(limit, usage, read_u(dir, "memory.peak"), failcnt)},
              {"swap", memory_entry(swap_limit == kMax ? kMax : sat_add(swap_limit, limit),
                                    sat_add(swap_usage, usage), 0, 0)},
              {"kernel", memory_entry(0, 0, 0, 0)},
              {"kernelTCP", memory_entry(0, 0, 0, 0)}};
    put_nonzero(m, "cache", get(raw, "file"));
    if (!raw.empty()) m["raw"] = raw;
    put_psi(m, dir, "memory.pressure");
    return m;
}

// --- pids ------------------------------------------------------------------

// pids.current and pids.max ("max" -> 0: no limit). Without pids.current
// (the root cgroup, or v2 without the controller enabled) the processes in
// cgroup.procs are counted, as runc does on v2.
json pids(const std::string& dir) {
    json p = json::object();
    uint64_t current = 0, limit = 0;
    if (auto c = read_uint(dir, "pids.current")) current = *c;
    else each_line(dir, "cgroup.procs", [&](const Fields&) { current++; });
    if (auto s = read(dir, "pids.max"); s && trim(*s) != "max") limit = detail::parse_uint(*s).value_or(0);
    put_nonzero(p, "current", current);
    put_nonzero(p, "limit", limit);
    return p;
}

// --- blkio / io ------------------------------------------------------------

// runc's BlkioEntry: every field omitempty.
json blkio_entry(uint64_t major, uint64_t minor, std::string_view op, uint64_t value) {
    json e = json::object();
    put_nonzero(e, "major", major);
    put_nonzero(e, "minor", minor);
    if (!op.empty()) e["op"] = std::string(op);
    put_nonzero(e, "value", value);
    return e;
}

// A v1 blkio file: "8:0 Read 1282048" or "8:0 6792" lines ("Total N" skipped).
json blkio_file(const std::string& dir, const std::string& file) {
    json out = json::array();
    each_line(dir, file, [&](const Fields& f) {
        if ((f.size() != 3 && f.size() != 4) || !printable(f[2])) return;
        auto major = detail::parse_uint(f[0]), minor = detail::parse_uint(f[1]);
        auto value = detail::parse_uint(f.back());
        if (major && minor && value)
            out.push_back(blkio_entry(*major, *minor, f.size() == 4 ? f[2] : "", *value));
    });
    return out;
}

json blkio_v1(const std::string& dir) {
    // runc's order of preference: bfq with its debug files, bfq, cfq, throttle
    // recursive, throttle; the first group whose first file has entries wins.
    static const std::pair<const char*, const char*> kFiles[] = {
        {"sectors_recursive", "sectorsRecursive"},
        {"io_service_time_recursive", "ioServiceTimeRecursive"},
        {"io_wait_time_recursive", "ioWaitTimeRecursive"},
        {"io_merged_recursive", "ioMergedRecursive"},
        {"io_queued_recursive", "ioQueueRecursive"},
        {"time_recursive", "ioTimeRecursive"},
        {"io_serviced_recursive", "ioServicedRecursive"},
        {"io_service_bytes_recursive", "ioServiceBytesRecursive"}};
    struct Group { const char* prefix; size_t first; bool recursive; };
    static const Group kGroups[] = {{"blkio.bfq.", 0, true}, {"blkio.bfq.", 6, true},
                                    {"blkio.", 0, true}, {"blkio.throttle.", 6, true},
                                    {"blkio.throttle.", 6, false}};
    json b = json::object();
    for (const auto& g : kGroups) {
        auto name = [&](size_t i) {
            std::string n = std::string(g.prefix) + kFiles[i].first;
            return g.recursive ? n : n.substr(0, n.size() - std::string_view("_recursive").size());
        };
        if (dir.empty() || blkio_file(dir, name(g.first)).empty()) continue;
        for (size_t i = g.first; i < std::size(kFiles); i++)
            if (json e = blkio_file(dir, name(i)); !e.empty()) b[kFiles[i].second] = std::move(e);
        break;
    }
    return b;
}

// v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" ->
// bytes and ios as v1's service bytes and serviced, op Read / Write.
json io_v2(const std::string& dir) {
    json bytes = json::array(), ios = json::array();
    each_line(dir, "io.stat", [&](const Fields& f) {
        auto major = detail::parse_uint(f[0]);
        auto minor = f.size() > 1 ? detail::parse_uint(f[1]) : std::nullopt;
        for (size_t i = 2; major && minor && i < f.size(); i++) {
            auto [k, v] = key_value(f[i]);
            auto n = detail::parse_uint(v);
            const char* op = k.starts_with('r') ? "Read" : "Write";
            if (n && (k == "rbytes" || k == "wbytes")) bytes.push_back(blkio_entry(*major, *minor, op, *n));
            if (n && (k == "rios" || k == "wios")) ios.push_back(blkio_entry(*major, *minor, op, *n));
        }
    });
    json b = json::object();
    if (!bytes.empty()) b["ioServiceBytesRecursive"] = std::move(bytes);
    if (!ios.empty()) b["ioServicedRecursive"] = std::move(ios);
    put_psi(b, dir, "io.pressure");
    return b;
}

// --- hugetlb ---------------------------------------------------------------

// Per page size ("2MB", "1GB": each with a hugetlb.<size>.<usage> file; so
// not "hugetlb.2MB.rsvd.current"): runc's Hugetlb, whose "max" is the peak
// usage, not the limit.
json hugetlb(const std::string& dir, bool v2) {
    json h = json::object();
    if (dir.empty()) return h;
    const std::string pre = "hugetlb.", post = v2 ? ".current" : ".usage_in_bytes";
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (name.size() <= pre.size() + post.size() || !name.starts_with(pre) || !name.ends_with(post))
            continue;
        std::string size = name.substr(pre.size(), name.size() - pre.size() - post.size());
        if (size.find('.') != std::string::npos) continue;
        std::string p = pre + size;
        json e = {{"failcnt", v2 ? get(read_kv(dir, p + ".events"), "max") : read_u(dir, p + ".failcnt")}};
        put_nonzero(e, "usage", read_u(dir, name));
        if (!v2) put_nonzero(e, "max", read_u(dir, p + ".max_usage_in_bytes"));
        h[size] = std::move(e);
    }
    return h;
}

json assemble(json cpu, json cpuset, json memory, json pids_, json blkio, json huge) {
    return {{"cpu", std::move(cpu)},       {"cpuset", std::move(cpuset)},
            {"memory", std::move(memory)}, {"pids", std::move(pids_)},
            {"blkio", std::move(blkio)},   {"hugetlb", std::move(huge)},
            {"intel_rdt", json::object()}};
}

}  // namespace

namespace detail {

std::optional<uint64_t> parse_uint(std::string_view s) {
    s = trim(s);
    if (s == "max") return kMax;
    bool negative = s.starts_with('-');
    if (negative) s.remove_prefix(1);
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || end != s.data() + s.size()) return std::nullopt;
    if (negative) return 0;  // even when out of range, as runc
    if (ec != std::errc()) return std::nullopt;
    return v;
}

std::vector<uint16_t> parse_cpu_list(std::string_view s) {
    std::vector<uint16_t> out;
    for (auto part : split(trim(s), ',')) {
        auto range = split(part, '-');
        size_t dashes = std::count(part.begin(), part.end(), '-');
        if (range.empty() || dashes > 1 || range.size() != dashes + 1) return {};
        auto lo = parse_uint(range.front()), hi = parse_uint(range.back());
        if (!lo || !hi || *lo > *hi || *hi > 0xffff) return {};
        for (uint64_t i = *lo; i <= *hi; i++) out.push_back(static_cast<uint16_t>(i));
    }
    return out;
}

json stats_v1(const std::map<std::string, std::string>& ctrl_dirs) {
    auto dir = [&](const char* c) {
        auto it = ctrl_dirs.find(c);
        return it == ctrl_dirs.end() ? std::string() : it->second;
    };
    const std::string cpu = dir("cpu"), mem = dir("memory"), blk = dir("blkio"), huge = dir("hugetlb");
    return assemble(is_v2_dir(cpu) ? cpu_v2(cpu) : cpu_v1(cpu, dir("cpuacct")),
                    cpuset_v1(is_v2_dir(dir("cpuset")) ? "" : dir("cpuset")),
                    is_v2_dir(mem) ? memory_v2(mem) : memory_v1(mem), pids(dir("pids")),
                    is_v2_dir(blk) ? io_v2(blk) : blkio_v1(blk), hugetlb(huge, is_v2_dir(huge)));
}

json stats_v2(const std::string& dir) {
    return assemble(cpu_v2(dir), cpuset_v1(""), memory_v2(dir), pids(dir), io_v2(dir),
                    hugetlb(dir, true));
}

}  // namespace detail

nlohmann::json stats(const Cgroup& cg) {
    try {
        if (cg.v2()) {
            std::string dir = cg.unified_dir();
            if (dir.empty() && !cg.dirs().empty()) dir = cg.dirs().front();
            return detail::stats_v2(dir);
        }
        std::map<std::string, std::string> dirs;
        for (const char* c : {"cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "hugetlb"})
            dirs[c] = cg.dir_for(c);
        if (dirs["blkio"].empty()) dirs["blkio"] = cg.dir_for("io");  // hybrid: io in unified only
        return detail::stats_v1(dirs);
    } catch (const std::exception&) {
        return nlohmann::json::object();
    }
}

}  // namespace hako::cgroup
