// config.json's linux.resources (also what `update --resources` reads).
#include <fmt/format.h>

#include <array>
#include <limits>

#include "oci/parse_util.hpp"

namespace hako::oci {
namespace parse_detail {
namespace {

Result<DeviceCgroupRule> parse_device_rule(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    DeviceCgroupRule r;
    HAKO_FIELD(o, "allow", r.allow, as_bool);
    HAKO_FIELD(o, "type", r.type, as_string);
    if (!r.type.empty() && r.type != "a" && r.type != "b" && r.type != "c")
        return path_error(o.sub("type"), fmt::format("unknown device type \"{}\"", r.type));
    HAKO_FIELD(o, "major", r.major, as_i64);
    HAKO_FIELD(o, "minor", r.minor, as_i64);
    HAKO_FIELD(o, "access", r.access, as_string);
    if (r.access.find_first_not_of("rwm") != std::string::npos)
        return path_error(o.sub("access"), fmt::format("invalid access \"{}\"", r.access));
    return r;
}

Result<MemoryResources> parse_memory(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    MemoryResources m;
    HAKO_FIELD(o, "limit", m.limit, as_i64);
    HAKO_FIELD(o, "reservation", m.reservation, as_i64);
    HAKO_FIELD(o, "swap", m.swap, as_i64);
    HAKO_FIELD(o, "kernel", m.kernel, as_i64);
    HAKO_FIELD(o, "kernelTCP", m.kernel_tcp, as_i64);
    HAKO_FIELD(o, "swappiness", m.swappiness, as_u64);
    HAKO_FIELD(o, "disableOOMKiller", m.disable_oom_killer, as_bool);
    HAKO_FIELD(o, "useHierarchy", m.use_hierarchy, as_bool);
    HAKO_FIELD(o, "checkBeforeUpdate", m.check_before_update, as_bool);
    return m;
}

Result<CpuResources> parse_cpu(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    CpuResources c;
    HAKO_FIELD(o, "shares", c.shares, as_u64);
    HAKO_FIELD(o, "quota", c.quota, as_i64);
    HAKO_FIELD(o, "burst", c.burst, as_u64);
    HAKO_FIELD(o, "period", c.period, as_u64);
    HAKO_FIELD(o, "realtimeRuntime", c.realtime_runtime, as_i64);
    HAKO_FIELD(o, "realtimePeriod", c.realtime_period, as_u64);
    HAKO_FIELD(o, "cpus", c.cpus, as_string);
    HAKO_FIELD(o, "mems", c.mems, as_string);
    HAKO_FIELD(o, "idle", c.idle, as_i64);
    return c;
}

Result<BlockIOWeightDevice> parse_weight_device(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    BlockIOWeightDevice d;
    HAKO_FIELD(o, "major", d.major, as_i64);
    HAKO_FIELD(o, "minor", d.minor, as_i64);
    HAKO_FIELD(o, "weight", d.weight, as_u16);
    HAKO_FIELD(o, "leafWeight", d.leaf_weight, as_u16);
    return d;
}

Result<BlockIOThrottleDevice> parse_throttle_device(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    BlockIOThrottleDevice d;
    HAKO_FIELD(o, "major", d.major, as_i64);
    HAKO_FIELD(o, "minor", d.minor, as_i64);
    HAKO_FIELD(o, "rate", d.rate, as_u64);
    return d;
}

Result<BlockIOResources> parse_block_io(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    BlockIOResources b;
    HAKO_FIELD(o, "weight", b.weight, as_u16);
    HAKO_FIELD(o, "leafWeight", b.leaf_weight, as_u16);
    if (const json* d = o.get("weightDevice"))
        b.weight_device =
            HAKO_TRY(map_array<BlockIOWeightDevice>(*d, o.sub("weightDevice"), parse_weight_device));
    auto throttle = [&](const char* key, std::vector<BlockIOThrottleDevice>& dst) -> Status {
        if (const json* d = o.get(key))
            dst = HAKO_TRY(map_array<BlockIOThrottleDevice>(*d, o.sub(key), parse_throttle_device));
        return {};
    };
    HAKO_TRY(throttle("throttleReadBpsDevice", b.throttle_read_bps));
    HAKO_TRY(throttle("throttleWriteBpsDevice", b.throttle_write_bps));
    HAKO_TRY(throttle("throttleReadIOPSDevice", b.throttle_read_iops));
    HAKO_TRY(throttle("throttleWriteIOPSDevice", b.throttle_write_iops));
    return b;
}

Result<HugepageLimit> parse_hugepage_limit(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    HugepageLimit h;
    h.page_size = HAKO_TRY(required_string(o, "pageSize"));
    HAKO_FIELD(o, "limit", h.limit, as_u64);
    return h;
}

Result<NetworkPriority> parse_priority(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    NetworkPriority p;
    p.name = HAKO_TRY(required_string(o, "name"));
    HAKO_FIELD(o, "priority", p.priority, as_u32);
    return p;
}

Result<NetworkResources> parse_network(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    NetworkResources n;
    HAKO_FIELD(o, "classID", n.class_id, as_u32);
    if (const json* p = o.get("priorities"))
        n.priorities = HAKO_TRY(map_array<NetworkPriority>(*p, o.sub("priorities"), parse_priority));
    return n;
}

// Top-level keys of linux.resources, in runtime-spec order.
constexpr std::array<std::string_view, 9> kResourceKeys{
    "devices", "memory", "cpu", "blockIO", "hugepageLimits", "network", "pids", "rdma", "unified",
};

}  // namespace

Result<uint16_t> as_u16(const json& v, const std::string& path) {
    auto n = HAKO_TRY(as_u32(v, path));
    if (n > std::numeric_limits<uint16_t>::max()) return type_error(path, "an unsigned 16-bit integer", v);
    return static_cast<uint16_t>(n);
}

Result<Resources> parse_resources(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    Resources r;
    for (auto key : kResourceKeys)
        if (o.get(key)) r.present.emplace_back(key);
    if (const json* d = o.get("devices"))
        r.devices = HAKO_TRY(map_array<DeviceCgroupRule>(*d, o.sub("devices"), parse_device_rule));
    if (const json* p = o.get("pids")) {
        auto po = HAKO_TRY(Obj::from(*p, o.sub("pids")));
        HAKO_FIELD(po, "limit", r.pids_limit, as_i64);
    }
    HAKO_FIELD(o, "memory", r.memory, parse_memory);
    HAKO_FIELD(o, "cpu", r.cpu, parse_cpu);
    HAKO_FIELD(o, "blockIO", r.block_io, parse_block_io);
    if (const json* h = o.get("hugepageLimits"))
        r.hugepage_limits =
            HAKO_TRY(map_array<HugepageLimit>(*h, o.sub("hugepageLimits"), parse_hugepage_limit));
    HAKO_FIELD(o, "network", r.network, parse_network);
    if (const json* rd = o.get("rdma")) {
        auto ro = HAKO_TRY(Obj::from(*rd, o.sub("rdma")));
        for (auto& [dev, val] : rd->items()) {
            auto lo = HAKO_TRY(Obj::from(val, ro.sub(dev)));
            RdmaLimit l;
            HAKO_FIELD(lo, "hcaHandles", l.hca_handles, as_u32);
            HAKO_FIELD(lo, "hcaObjects", l.hca_objects, as_u32);
            r.rdma[dev] = l;
        }
    }
    HAKO_FIELD(o, "unified", r.unified, as_string_map);
    return r;
}

}  // namespace parse_detail

Result<Resources> parse_resources(std::string_view json_text, const std::string& path) {
    parse_detail::json doc;
    try {
        doc = parse_detail::json::parse(json_text.begin(), json_text.end());
    } catch (const parse_detail::json::exception& e) {
        return error(fmt::format("{}: invalid JSON: {}", path, e.what()));
    }
    return parse_detail::parse_resources(doc, path);
}

}  // namespace hako::oci
