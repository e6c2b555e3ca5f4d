// config.json's `linux` section: namespaces, devices, resources, seccomp...
#include <array>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "oci/parse_util.hpp"
#include "oci/spec.hpp"

namespace hako::oci::parse_detail {

namespace {

Result<Namespace> parse_namespace(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    Namespace ns;
    auto type = HAKO_TRY(required_string(o, "type"));
    auto t = ns_type_from_name(type);
    if (!t) return path_error(o.sub("type"), fmt::format("unknown namespace type \"{}\"", type));
    ns.type = *t;
    HAKO_FIELD(o, "path", ns.path, as_string);
    return ns;
}

Result<std::map<std::string, TimeOffset>> parse_time_offsets(const json& v,
                                                             const std::string& path) {
    if (!v.is_object()) return type_error(path, "an object", v);
    std::map<std::string, TimeOffset> out;
    for (const auto& [clock, val] : v.items()) {
        if (clock != "monotonic" && clock != "boottime")
            return path_error(path, fmt::format("unknown clock \"{}\"", clock));
        auto o = HAKO_TRY(Obj::from(val, join(path, clock)));
        TimeOffset off;
        HAKO_FIELD(o, "secs", off.secs, as_i64);
        HAKO_FIELD(o, "nanosecs", off.nanosecs, as_u32);
        if (off.nanosecs >= 1000000000u)
            return path_error(o.sub("nanosecs"), "must be less than 1000000000");
        out[clock] = off;
    }
    return out;
}

Result<Device> parse_device(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    Device d;
    auto type = HAKO_TRY(required_string(o, "type"));
    if (type != "c" && type != "b" && type != "u" && type != "p")
        return path_error(o.sub("type"), fmt::format("unknown device type \"{}\"", type));
    d.type = type[0];
    d.path = HAKO_TRY(required_string(o, "path"));
    if (d.path.empty() || d.path[0] != '/')
        return path_error(o.sub("path"), fmt::format("must be an absolute path, got \"{}\"", d.path));
    HAKO_FIELD(o, "major", d.major, as_i64);
    HAKO_FIELD(o, "minor", d.minor, as_i64);
    HAKO_FIELD(o, "fileMode", d.file_mode, as_u32);
    HAKO_FIELD(o, "uid", d.uid, as_u32);
    HAKO_FIELD(o, "gid", d.gid, as_u32);
    return d;
}

constexpr std::array<std::string_view, 9> kSeccompActions{
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY",
};

constexpr std::array<std::string_view, 7> kSeccompOps{
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
};

template <size_t N>
bool one_of(const std::array<std::string_view, N>& set, std::string_view s) {
    for (auto e : set)
        if (e == s) return true;
    return false;
}

Result<std::string> seccomp_action(const Obj& o, std::string_view key) {
    auto a = HAKO_TRY(required_string(o, key));
    if (!one_of(kSeccompActions, a))
        return path_error(o.sub(key), fmt::format("unknown seccomp action \"{}\"", a));
    return a;
}

Result<SeccompArg> parse_seccomp_arg(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    SeccompArg a;
    HAKO_FIELD(o, "index", a.index, as_u32);
    HAKO_FIELD(o, "value", a.value, as_u64);
    HAKO_FIELD(o, "valueTwo", a.value_two, as_u64);
    a.op = HAKO_TRY(required_string(o, "op"));
    if (!one_of(kSeccompOps, a.op))
        return path_error(o.sub("op"), fmt::format("unknown seccomp operator \"{}\"", a.op));
    return a;
}

Result<SeccompSyscall> parse_seccomp_syscall(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    SeccompSyscall s;
    HAKO_FIELD(o, "names", s.names, as_string_array);
    s.action = HAKO_TRY(seccomp_action(o, "action"));
    HAKO_FIELD(o, "errnoRet", s.errno_ret, as_u32);
    if (const json* a = o.get("args"))
        s.args = HAKO_TRY(map_array<SeccompArg>(*a, o.sub("args"), parse_seccomp_arg));
    return s;
}

Result<Seccomp> parse_seccomp(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    Seccomp s;
    s.default_action = HAKO_TRY(seccomp_action(o, "defaultAction"));
    HAKO_FIELD(o, "defaultErrnoRet", s.default_errno_ret, as_u32);
    HAKO_FIELD(o, "architectures", s.architectures, as_string_array);
    HAKO_FIELD(o, "flags", s.flags, as_string_array);
    HAKO_FIELD(o, "listenerPath", s.listener_path, as_string);
    HAKO_FIELD(o, "listenerMetadata", s.listener_metadata, as_string);
    if (const json* sc = o.get("syscalls"))
        s.syscalls =
            HAKO_TRY(map_array<SeccompSyscall>(*sc, o.sub("syscalls"), parse_seccomp_syscall));
    return s;
}

Result<std::string> parse_personality(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    auto domain = HAKO_TRY(required_string(o, "domain"));
    if (domain != "LINUX" && domain != "LINUX32")
        return path_error(o.sub("domain"),
                          fmt::format("unknown personality domain \"{}\"", domain));
    if (const json* f = o.get("flags")) (void)HAKO_TRY(as_string_array(*f, o.sub("flags")));
    return domain;
}

}  // namespace

Result<Linux> parse_linux(const json& v, const std::string& path) {
    auto o = HAKO_TRY(Obj::from(v, path));
    Linux l;
    if (const json* n = o.get("namespaces"))
        l.namespaces = HAKO_TRY(map_array<Namespace>(*n, o.sub("namespaces"), parse_namespace));
    HAKO_FIELD(o, "uidMappings", l.uid_mappings, as_id_mappings);
    HAKO_FIELD(o, "gidMappings", l.gid_mappings, as_id_mappings);
    HAKO_FIELD(o, "timeOffsets", l.time_offsets, parse_time_offsets);
    if (const json* d = o.get("devices"))
        l.devices = HAKO_TRY(map_array<Device>(*d, o.sub("devices"), parse_device));
    HAKO_FIELD(o, "cgroupsPath", l.cgroups_path, as_string);
    HAKO_FIELD(o, "resources", l.resources, parse_resources);
    HAKO_FIELD(o, "rootfsPropagation", l.rootfs_propagation, as_string);
    HAKO_FIELD(o, "maskedPaths", l.masked_paths, as_string_array);
    HAKO_FIELD(o, "readonlyPaths", l.readonly_paths, as_string_array);
    HAKO_FIELD(o, "sysctl", l.sysctl, as_string_map);
    HAKO_FIELD(o, "seccomp", l.seccomp, parse_seccomp);
    HAKO_FIELD(o, "mountLabel", l.mount_label, as_string);
    HAKO_FIELD(o, "personality", l.personality_domain, parse_personality);
    l.intel_rdt_present = o.get("intelRdt") != nullptr;
    return l;
}

}  // namespace hako::oci::parse_detail
