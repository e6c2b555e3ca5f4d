// The config maker's host-facing flags: resources, devices, namespaces,
// rlimits, sysctls, extra groups, privileged mode.
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <charconv>
#include <cmath>
#include <set>

#include "common/strings.hpp"
#include "frontend/spec_internal.hpp"
#include "oci/spec.hpp"
#include "sys/syscalls.hpp"

namespace hako::frontend {
namespace {

using json = nlohmann::json;

Result<int64_t> number(const std::string& s, const char* flag) {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || end != s.data() + s.size()) return error(std::string(flag) + ": `" + s + "` is not a number");
    return n;
}

// A device node on the host as linux.devices has it (and its cgroup rule).
Result<json> device_entry(const std::string& host, const std::string& path, const std::string& access) {
    struct stat st{};
    if (::stat(host.c_str(), &st) < 0) return sys_error("--device `" + host + "`");
    const char* type = S_ISCHR(st.st_mode) ? "c" : S_ISBLK(st.st_mode) ? "b" : nullptr;
    if (!type) return error("--device `" + host + "`: not a character or block device");
    if (access.find_first_not_of("rwm") != std::string::npos || access.empty())
        return error("--device `" + host + "`: permissions `" + access + "`: expected a combination of r, w, m");
    return json{{"path", path},
                {"type", type},
                {"major", major(st.st_rdev)},
                {"minor", minor(st.st_rdev)},
                {"fileMode", st.st_mode & 07777},
                {"uid", 0},
                {"gid", 0},
                {"access", access}};
}

// --pid/--ipc/--uts/--cgroupns: host drops the namespace (the host's is
// shared), container:X joins X's, private/shareable keep a new one.
Status namespace_mode(json& namespaces, const char* type, const std::string& mode, const char* flag,
                      const SpecInputs& in, bool container_ok) {
    if (mode.empty() || mode == "private" || mode == "shareable") {
        if (mode.empty() || std::string_view(type) != "cgroup") return {};
        // --cgroupns private: add it when the default spec has none
        for (const auto& n : namespaces)
            if (n["type"] == type) return {};
        namespaces.push_back({{"type", type}});
        return {};
    }
    auto it = std::find_if(namespaces.begin(), namespaces.end(), [&](const json& n) { return n["type"] == type; });
    if (mode == "host") {
        if (it != namespaces.end()) namespaces.erase(it);
        return {};
    }
    if (container_ok && mode.rfind("container:", 0) == 0) {
        if (!in.pid_of) return error(std::string(flag) + " " + mode + ": no containers to join here");
        pid_t pid = HAKO_TRY_CTX(in.pid_of(mode.substr(10)), std::string(flag) + " " + mode);
        std::string path = "/proc/" + std::to_string(pid) + "/ns/" + type;
        if (it == namespaces.end()) namespaces.push_back({{"type", type}, {"path", path}});
        else (*it)["path"] = path;
        return {};
    }
    return error(std::string(flag) + " `" + mode + "`: expected " + (container_ok ? "host, container:NAME or private" : "host or private"));
}

}  // namespace

Status resources(const RunOptions& o, json& res) {
    if (!o.memory.empty()) {
        int64_t limit = HAKO_TRY(parse_bytes(o.memory, "--memory"));
        int64_t swap = limit;  // no swap beyond it: the limit holds
        if (!o.memory_swap.empty()) {
            if (o.memory_swap == "-1") swap = -1;
            else swap = HAKO_TRY(parse_bytes(o.memory_swap, "--memory-swap"));
            if (swap != -1 && swap < limit)
                return error("--memory-swap `" + o.memory_swap + "`: must be at least --memory (it is memory plus swap), or -1");
        }
        res["memory"]["limit"] = limit;
        res["memory"]["swap"] = swap;
    } else if (!o.memory_swap.empty()) {
        return error("--memory-swap needs --memory");
    }
    if (!o.memory_reservation.empty())
        res["memory"]["reservation"] = HAKO_TRY(parse_bytes(o.memory_reservation, "--memory-reservation"));
    if (o.oom_kill_disable) res["memory"]["disableOOMKiller"] = true;
    if (o.cpus < 0) return error("--cpus: must be positive");
    if (o.cpus > 0) {
        if (o.cpus > 1024) return error("--cpus: too many");
        res["cpu"]["quota"] = static_cast<int64_t>(std::lround(o.cpus * 100000));
        res["cpu"]["period"] = 100000;
    }
    if (o.cpu_shares < 0 || o.cpu_shares == 1) return error("--cpu-shares: must be at least 2");
    if (o.cpu_shares > 0) res["cpu"]["shares"] = std::min<int64_t>(o.cpu_shares, 262144);
    if (!o.cpuset_cpus.empty()) {
        if (o.cpuset_cpus.find_first_not_of("0123456789,-") != std::string::npos)
            return error("--cpuset-cpus `" + o.cpuset_cpus + "`: expected a list like 0-2,4");
        res["cpu"]["cpus"] = o.cpuset_cpus;
    }
    if (o.blkio_weight != 0) {
        if (o.blkio_weight < 10 || o.blkio_weight > 1000) return error("--blkio-weight: must be 10 to 1000");
        res["blockIO"]["weight"] = o.blkio_weight;
    }
    if (o.pids_limit > 0) res["pids"]["limit"] = o.pids_limit;
    return {};
}

Status apply_host_options(json& spec, const RunOptions& o, const SpecInputs& in) {
    auto& lnx = spec["linux"];
    auto& p = spec["process"];
    if (!lnx.contains("resources")) lnx["resources"] = json::object();
    auto& rules = lnx["resources"]["devices"];
    if (!rules.is_array()) rules = json::array({{{"allow", false}, {"access", "rwm"}}});
    if (o.privileged) {
        // docker's --privileged: every host device, no masks, no seccomp
        lnx["maskedPaths"] = json::array();
        lnx["readonlyPaths"] = json::array();
        rules = json::array({{{"allow", true}, {"access", "rwm"}}});
        static const std::set<std::string> kMade = {"null", "zero", "full", "random", "urandom", "tty", "ptmx", "console"};
        if (DIR* d = opendir("/dev")) {
            while (dirent* e = readdir(d)) {
                std::string n = e->d_name;
                if (n[0] == '.' || kMade.contains(n)) continue;
                struct stat st{};
                if (::lstat(("/dev/" + n).c_str(), &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) continue;
                if (auto dev = device_entry("/dev/" + n, "/dev/" + n, "rwm")) {
                    dev->erase("access");
                    lnx["devices"].push_back(*dev);
                }
            }
            closedir(d);
        }
        // writable /sys and cgroup, as docker
        for (auto& m : spec["mounts"])
            if (m["destination"] == "/sys" || m["destination"] == "/sys/fs/cgroup") {
                auto& opts = m["options"];
                for (auto& op : opts)
                    if (op == "ro") op = "rw";
            }
    }
    for (const auto& d : o.devices) {
        auto parts = split(d, ':');
        std::string host(parts[0]), path = parts.size() > 1 && !parts[1].empty() ? std::string(parts[1]) : host;
        std::string access = parts.size() > 2 ? std::string(parts[2]) : "rwm";
        if (parts.size() == 2 && parts[1].find('/') == std::string::npos) {  // HOST:rwm
            path = host;
            access = std::string(parts[1]);
        }
        if (parts.size() > 3 || host.empty() || host[0] != '/' || path[0] != '/')
            return error("--device `" + d + "`: expected HOST[:CONTAINER[:PERMISSIONS]] with absolute paths");
        auto dev = HAKO_TRY(device_entry(host, path, access));
        rules.push_back({{"allow", true}, {"type", dev["type"]}, {"major", dev["major"]}, {"minor", dev["minor"]}, {"access", access}});
        dev.erase("access");
        lnx["devices"].push_back(dev);
    }
    if (!o.group_add.empty()) {
        auto groups = sys::read_file(in.rootfs + "/etc/group");
        json gids = json::array();
        for (const auto& g : o.group_add) {
            if (g == "keep-groups") return error("--group-add keep-groups: hako has no rootless mode");
            if (!g.empty() && g.find_first_not_of("0123456789") == std::string::npos) {
                gids.push_back(std::stoul(g));
                continue;
            }
            bool found = false;
            if (groups)
                for (auto line : split(*groups, '\n')) {
                    auto f = fields(line, ':');
                    if (f.size() >= 3 && f[0] == g && !f[2].empty()) {
                        gids.push_back(std::stoul(std::string(f[2])));
                        found = true;
                        break;
                    }
                }
            if (!found) return error("--group-add: no group `" + g + "` in the image's /etc/group");
        }
        if (!p.contains("user")) p["user"] = {{"uid", 0}, {"gid", 0}};
        p["user"]["additionalGids"] = gids;
    }
    for (const auto& u : o.ulimits) {
        auto eq = u.find('=');
        if (eq == std::string::npos || eq == 0) return error("--ulimit `" + u + "`: expected NAME=SOFT[:HARD] (e.g. nofile=1024:2048)");
        std::string name = u.substr(0, eq), vals = u.substr(eq + 1);
        std::string type = "RLIMIT_" + name;
        for (auto& c : type) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
        if (!oci::rlimit_from_name(type)) return error("--ulimit `" + u + "`: unknown limit `" + name + "`");
        auto colon = vals.find(':');
        auto lim = [&](const std::string& v) -> Result<int64_t> {
            if (v == "-1" || v == "unlimited") return -1;
            return number(v, "--ulimit");
        };
        int64_t soft = HAKO_TRY(lim(vals.substr(0, colon)));
        int64_t hard = colon == std::string::npos ? soft : HAKO_TRY(lim(vals.substr(colon + 1)));
        auto u64 = [](int64_t v) { return v < 0 ? UINT64_MAX : static_cast<uint64_t>(v); };
        if (u64(soft) > u64(hard)) return error("--ulimit `" + u + "`: the soft limit is above the hard one");
        if (!p.contains("rlimits")) p["rlimits"] = json::array();
        p["rlimits"].push_back({{"type", type}, {"soft", u64(soft)}, {"hard", u64(hard)}});
    }
    if (!o.shm_size.empty()) {
        int64_t size = HAKO_TRY(parse_bytes(o.shm_size, "--shm-size"));
        for (auto& m : spec["mounts"])
            if (m["destination"] == "/dev/shm") {
                json opts = json::array();
                for (const auto& op : m["options"])
                    if (op.get<std::string>().rfind("size=", 0) != 0) opts.push_back(op);
                opts.push_back("size=" + std::to_string(size));
                m["options"] = opts;
            }
    }
    for (const auto& s : o.sysctls) {
        auto eq = s.find('=');
        if (eq == std::string::npos || eq == 0) return error("--sysctl `" + s + "`: expected NAME=VALUE");
        lnx["sysctl"][s.substr(0, eq)] = s.substr(eq + 1);
    }
    auto& ns = lnx["namespaces"];
    HAKO_TRY(namespace_mode(ns, "pid", o.pid_mode, "--pid", in, true));
    HAKO_TRY(namespace_mode(ns, "ipc", o.ipc_mode, "--ipc", in, true));
    HAKO_TRY(namespace_mode(ns, "uts", o.uts_mode, "--uts", in, false));
    HAKO_TRY(namespace_mode(ns, "cgroup", o.cgroupns, "--cgroupns", in, false));
    if (!o.uts_mode.empty() && o.uts_mode == "host") spec.erase("hostname");
    if (!o.userns.empty() && o.userns != "host")
        return error("--userns `" + o.userns + "`: hako runs containers in the host's user namespace (host)");
    if (o.oom_score_adj) {
        if (*o.oom_score_adj < -1000 || *o.oom_score_adj > 1000) return error("--oom-score-adj: must be -1000 to 1000");
        p["oomScoreAdj"] = *o.oom_score_adj;
    }
    return {};
}

Result<std::map<std::string, std::string>> resolve_labels(const RunOptions& o, const image::Config& img) {
    std::map<std::string, std::string> out = img.labels;
    std::vector<std::string> items;
    for (const auto& f : o.label_files) {
        auto text = HAKO_TRY_CTX(sys::read_file(f), "--label-file");
        for (auto line : split(text, '\n')) {
            std::string l(line);
            while (!l.empty() && isspace(static_cast<unsigned char>(l.back()))) l.pop_back();
            if (!l.empty() && l[0] != '#') items.push_back(l);
        }
    }
    items.insert(items.end(), o.labels.begin(), o.labels.end());
    for (const auto& kv : items) {
        auto eq = kv.find('=');
        if (eq == 0 || kv.empty()) return error("--label `" + kv + "`: expected KEY=VALUE");
        out[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
    }
    return out;
}

}  // namespace hako::frontend
