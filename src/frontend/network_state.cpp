// The live network state (<runroot>/net/state.json) under its lock; the
// resolvers' names files; what a killed owner left, collected.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <ctime>

#include "common/digest.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "frontend/network_internal.hpp"
#include "sys/syscalls.hpp"

namespace hako::frontend {

using json = nlohmann::json;
using net::IpAddr;

namespace {

// A process's start time (0: no such process, or a zombie).
uint64_t start_time(pid_t pid) {
    auto text = sys::read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!text) return 0;
    auto close = text->rfind(')');
    if (close == std::string::npos || close + 2 >= text->size()) return 0;
    // after the command: the state (field 3) ... the start time (field 22)
    auto f = split(std::string_view(*text).substr(close + 2), ' ');
    if (f.size() <= 19 || f[0] == "Z" || f[0] == "X") return 0;
    uint64_t v = 0;
    std::from_chars(f[19].data(), f[19].data() + f[19].size(), v);
    return v;
}

std::string opt_ip(const std::optional<IpAddr>& a) { return a ? a->str() : ""; }
std::optional<IpAddr> ip_of(const json& j, const char* key) {
    if (!j.contains(key) || !j[key].is_string()) return std::nullopt;
    return IpAddr::parse(j[key].get<std::string>());
}

json proc_json(const ProcRef& p) { return {{"pid", p.pid}, {"start", p.start}}; }
ProcRef proc_of(const json& j) {
    ProcRef p;
    if (!j.is_object()) return p;
    p.pid = j.value("pid", 0);
    p.start = j.value("start", uint64_t{0});
    return p;
}

json ctr_json(const ContainerNet& c) {
    json eps = json::array(), ports = json::array();
    for (const auto& e : c.endpoints)
        eps.push_back({{"network", e.network}, {"ifname", e.ifname}, {"veth", e.veth}, {"ip4", opt_ip(e.ip4)},
                       {"ip6", opt_ip(e.ip6)}, {"mac", net::mac_str(e.mac)}, {"aliases", e.aliases}});
    for (const auto& p : c.ports)
        ports.push_back({{"proto", net::proto_name(p.proto)}, {"hostIp", opt_ip(p.host_ip)}, {"hostPort", p.host_port},
                         {"ctrPort", p.ctr_port}});
    return {{"name", c.name},   {"hostname", c.hostname}, {"netns", c.netns},         {"dir", c.dir},
            {"owner", proc_json(c.owner)}, {"dns", c.dns}, {"dnsSearch", c.dns_search},
            {"dnsOptions", c.dns_options}, {"addHosts", c.add_hosts}, {"endpoints", eps}, {"ports", ports},
            {"portsInstalled", c.ports_installed}, {"joiners", c.joiners}};
}

ContainerNet ctr_of(const std::string& id, const json& j) {
    ContainerNet c;
    c.id = id;
    c.name = j.value("name", "");
    c.hostname = j.value("hostname", "");
    c.netns = j.value("netns", "");
    c.dir = j.value("dir", "");
    c.owner = proc_of(j.value("owner", json::object()));
    c.dns = j.value("dns", std::vector<std::string>{});
    c.dns_search = j.value("dnsSearch", std::vector<std::string>{});
    c.dns_options = j.value("dnsOptions", std::vector<std::string>{});
    c.add_hosts = j.value("addHosts", std::vector<std::string>{});
    c.ports_installed = j.value("portsInstalled", false);
    c.joiners = j.value("joiners", std::vector<std::string>{});
    for (const auto& e : j.value("endpoints", json::array())) {
        Endpoint ep;
        ep.network = e.value("network", "");
        ep.ifname = e.value("ifname", "");
        ep.veth = e.value("veth", "");
        ep.ip4 = ip_of(e, "ip4");
        ep.ip6 = ip_of(e, "ip6");
        if (auto m = net::parse_mac(e.value("mac", ""))) ep.mac = *m;
        ep.aliases = e.value("aliases", std::vector<std::string>{});
        c.endpoints.push_back(std::move(ep));
    }
    for (const auto& p : j.value("ports", json::array())) {
        PortMap pm;
        pm.proto = net::proto_number(p.value("proto", "tcp")).value_or(6);
        pm.host_ip = ip_of(p, "hostIp");
        pm.host_port = p.value("hostPort", uint16_t{0});
        pm.ctr_port = p.value("ctrPort", uint16_t{0});
        c.ports.push_back(pm);
    }
    return c;
}

}  // namespace

bool ProcRef::alive() const {
    if (pid <= 0) return false;
    if (::kill(pid, 0) < 0 && errno != EPERM) return false;
    uint64_t now = start_time(pid);
    return now != 0 && now == start;
}

ProcRef ProcRef::of(pid_t pid) { return {pid, start_time(pid)}; }

std::string PortMap::host_str() const {
    if (!host_ip) return "0.0.0.0:" + std::to_string(host_port);
    if (host_ip->v6) return "[" + host_ip->str() + "]:" + std::to_string(host_port);
    return host_ip->str() + ":" + std::to_string(host_port);
}

std::string Networks::State::user_of(const std::string& network) const {
    for (const auto& [id, c] : containers)
        for (const auto& e : c.endpoints)
            if (e.network == network) return c.name;
    return {};
}

void detach_from_caller(bool close_others) {
    setsid();
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0)
        for (int fd = 0; fd < 3; ++fd) dup2(null, fd);
    if (close_others) (void)sys::close_fds_from(3, false);
}

std::string veth_name(const std::string& id, size_t n) { return "vh" + id.substr(0, 10) + std::to_string(n); }

net::Mac bridge_mac(const std::string& network_id) {
    std::string h = sha256_hex("bridge " + network_id);
    net::Mac m{};
    for (size_t i = 0; i < 6; ++i) m[i] = static_cast<uint8_t>(std::stoul(h.substr(i * 2, 2), nullptr, 16));
    m[0] = static_cast<uint8_t>((m[0] & 0xfe) | 0x02);  // unicast, locally administered
    return m;
}

Networks::Networks(std::string root, std::string runroot, std::function<bool(const std::string&)> alive)
    : root_(std::move(root)), runroot_(std::move(runroot)), alive_(std::move(alive)) {}

Result<Networks::Lock> Networks::lock() const {
    std::string dir = runroot_ + "/net";
    HAKO_TRY(sys::mkdir_all(dir, 0700));
    Lock l;
    l.fd = HAKO_TRY(sys::lock_file(dir + "/lock", LOCK_EX));
    return l;
}

Result<Networks::State> Networks::load_state() const {
    State st;
    std::string path = runroot_ + "/net/state.json";
    auto text = sys::read_file(path);
    if (!text) {
        if (text.error().err == ENOENT) return st;
        return std::unexpected(text.error());
    }
    auto j = json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return error("`" + path + "`: corrupt network state");
    json nets = j.value("networks", json::object()), ctrs = j.value("containers", json::object());
    for (const auto& [name, n] : nets.items()) {
        LiveNetwork ln;
        ln.bridge = n.value("bridge", "");
        ln.ifindex = n.value("ifindex", 0);
        ln.dns = n.value("dns", false);
        ln.resolver = proc_of(n.value("resolver", json::object()));
        ln.cursor4 = n.value("cursor4", uint64_t{0});
        ln.cursor6 = n.value("cursor6", uint64_t{0});
        ln.idle_since = n.value("idleSince", uint64_t{0});
        ln.reaper = proc_of(n.value("reaper", json::object()));
        st.networks[name] = ln;
    }
    for (const auto& [id, c] : ctrs.items()) st.containers[id] = ctr_of(id, c);
    return st;
}

Status Networks::save_state(const State& st) const {
    json nets = json::object(), ctrs = json::object();
    for (const auto& [name, n] : st.networks)
        nets[name] = {{"bridge", n.bridge},     {"ifindex", n.ifindex}, {"dns", n.dns}, {"resolver", proc_json(n.resolver)},
                      {"cursor4", n.cursor4},   {"cursor6", n.cursor6},
                      {"idleSince", n.idle_since}, {"reaper", proc_json(n.reaper)}};
    for (const auto& [id, c] : st.containers) ctrs[id] = ctr_json(c);
    json j{{"networks", nets}, {"containers", ctrs}};
    return sys::write_file_atomic(AT_FDCWD, runroot_ + "/net/state.json", j.dump());
}

Status Networks::write_names(const State& st, const std::string& network) const {
    std::string dir = runroot_ + "/net/dns";
    std::string path = dir + "/" + network + ".names";
    auto live = st.networks.find(network);
    if (live != st.networks.end() && !live->second.dns) return {};  // (no resolver: no names)
    if (live == st.networks.end()) {
        if (::unlink(path.c_str()) < 0 && errno != ENOENT) return sys_error("remove `" + path + "`");
        return {};
    }
    std::string text;
    auto lower = [](std::string s) {
        for (auto& ch : s) ch = static_cast<char>(tolower(static_cast<unsigned char>(ch)));
        return s;
    };
    for (const auto& [id, c] : st.containers)
        for (const auto& e : c.endpoints) {
            if (e.network != network) continue;
            std::string names = lower(c.name) + " " + id.substr(0, 12);
            for (const auto& a : e.aliases) names += " " + lower(a);
            if (e.ip4) text += e.ip4->str() + " " + names + "\n";
            if (e.ip6) text += e.ip6->str() + " " + names + "\n";
            if (!c.dns.empty()) {
                std::string ups;
                for (const auto& s : c.dns) ups += " " + s;
                if (e.ip4) text += "upstream " + e.ip4->str() + ups + "\n";
                if (e.ip6) text += "upstream " + e.ip6->str() + ups + "\n";
            }
        }
    HAKO_TRY(sys::mkdir_all(dir, 0755));
    return sys::write_file_atomic(AT_FDCWD, path, text);
}

Status Networks::gc(State& st) {
    std::vector<std::string> dead;
    for (const auto& [id, c] : st.containers)
        if (!c.owner.alive() && !alive_(id)) dead.push_back(id);
    for (const auto& id : dead) {
        log::debug("network: container {} is gone (its owner, pid {}, too): removing its networking", id.substr(0, 12),
                   st.containers[id].owner.pid);
        HAKO_TRY(teardown(st, id));
    }
    // Networks without containers whose reaper is gone (or never came).
    std::vector<std::string> idle_ones;
    for (const auto& [name, n] : st.networks)
        if (!st.in_use(name) &&
            (n.idle_since == 0 || (!n.reaper.alive() && now_ms() >= n.idle_since + kNetworkGraceMs)))
            idle_ones.push_back(name);
    for (const auto& name : idle_ones) HAKO_TRY(network_down(st, name));
    return reap_idle(st);
}

uint64_t now_ms() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

void Networks::idle(State& st, const std::string& network) {
    auto it = st.networks.find(network);
    if (it != st.networks.end() && !st.in_use(network) && it->second.idle_since == 0) it->second.idle_since = now_ms();
}

Status Networks::reap_idle(State& st) {
    for (auto& [name, n] : st.networks) {
        if (n.idle_since == 0 || n.reaper.alive()) continue;
        pid_t pid = fork();
        if (pid < 0) return sys_error("fork the reaper of network `" + name + "`");
        if (pid == 0) reaper(name, n.idle_since);
        n.reaper = ProcRef::of(pid);
    }
    return {};
}

void Networks::reaper(const std::string& network, uint64_t idle_since) {
    detach_from_caller(true);
    uint64_t due = idle_since + kNetworkGraceMs;
    for (int round = 0; round < 64; ++round) {
        uint64_t now = now_ms();
        if (now < due) {
            timespec ts{static_cast<time_t>((due - now) / 1000), static_cast<long>((due - now) % 1000) * 1000000};
            while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
            }
        }
        // (its runroot removed meanwhile: nothing to do, and nothing to make again)
        if (!sys::path_exists(runroot_ + "/net/state.json")) _exit(0);
        auto l = lock();
        if (!l) _exit(1);
        auto st = load_state();
        if (!st) _exit(1);
        auto it = st->networks.find(network);
        if (it == st->networks.end()) _exit(0);
        if (st->in_use(network) || it->second.idle_since == 0) {
            it->second.reaper = {};
            (void)save_state(*st);
            _exit(0);
        }
        due = it->second.idle_since + kNetworkGraceMs;
        if (now_ms() < due) continue;  // idle again since: wait for that
        auto down = network_down(*st, network);
        (void)save_state(*st);
        _exit(down ? 0 : 1);
    }
    _exit(0);
}

Status Networks::collect_garbage() {
    if (!sys::path_exists(runroot_ + "/net/state.json")) return {};
    auto l = HAKO_TRY(lock());
    auto st = HAKO_TRY(load_state());
    size_t before = st.containers.size();
    HAKO_TRY(gc(st));
    if (st.containers.size() != before) HAKO_TRY(save_state(st));
    return {};
}

Result<std::optional<ContainerNet>> Networks::container(const std::string& id) {
    auto st = HAKO_TRY(load_state());  // (a consistent snapshot: written by rename)
    auto it = st.containers.find(id);
    if (it == st.containers.end()) return std::optional<ContainerNet>{};
    return std::optional<ContainerNet>{it->second};
}

Result<std::map<std::string, ContainerNet>> Networks::containers() const {
    auto st = HAKO_TRY(load_state());
    return std::move(st.containers);
}

Result<std::vector<ContainerNet>> Networks::members(const std::string& network) {
    std::vector<ContainerNet> out;
    auto st = HAKO_TRY(load_state());
    for (const auto& [id, c] : st.containers)
        for (const auto& e : c.endpoints)
            if (e.network == network) {
                out.push_back(c);
                break;
            }
    return out;
}

}  // namespace hako::frontend
