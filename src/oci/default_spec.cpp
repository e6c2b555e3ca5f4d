// The config.json that `spec` writes: runc 1.1's `runc spec` (and
// `runc spec --rootless`) output, with hako's hostname and ociVersion.
#include <unistd.h>

#include <string>

#include <nlohmann/json.hpp>

#include "oci/spec.hpp"

namespace hako::oci {

namespace {

using ojson = nlohmann::ordered_json;

ojson mount(const char* dest, const char* type, const char* source, ojson options) {
    ojson m{{"destination", dest}, {"type", type}, {"source", source}};
    if (!options.empty()) m["options"] = std::move(options);
    return m;
}

ojson id_mapping(unsigned host_id) {
    return ojson{{"containerID", 0}, {"hostID", host_id}, {"size", 1}};
}

}  // namespace

std::string default_spec_json(bool rootless) {
    const ojson caps = ojson::array({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});

    ojson process{
        {"terminal", true},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", ojson::array({"sh"})},
        {"env", ojson::array({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                              "TERM=xterm"})},
        {"cwd", "/"},
        {"capabilities",
         {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
        {"rlimits", ojson::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
        {"noNewPrivileges", true},
    };

    // `runc spec --rootless` drops uid=/gid= options (devpts's gid=5) and
    // replaces the sysfs mount with a read-only rbind of the host's /sys.
    ojson devpts_opts = ojson::array(
        {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"});
    if (!rootless) devpts_opts.push_back("gid=5");
    ojson mounts = ojson::array({
        mount("/proc", "proc", "proc", ojson::array()),
        mount("/dev", "tmpfs", "tmpfs",
              ojson::array({"nosuid", "strictatime", "mode=755", "size=65536k"})),
        mount("/dev/pts", "devpts", "devpts", devpts_opts),
        mount("/dev/shm", "tmpfs", "shm",
              ojson::array({"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"})),
        mount("/dev/mqueue", "mqueue", "mqueue", ojson::array({"nosuid", "noexec", "nodev"})),
        rootless ? mount("/sys", "none", "/sys",
                         ojson::array({"rbind", "nosuid", "noexec", "nodev", "ro"}))
                 : mount("/sys", "sysfs", "sysfs",
                         ojson::array({"nosuid", "noexec", "nodev", "ro"})),
        mount("/sys/fs/cgroup", "cgroup", "cgroup",
              ojson::array({"nosuid", "noexec", "nodev", "relatime", "ro"})),
    });

    ojson linux_section = ojson::object();
    ojson namespaces = ojson::array();
    if (rootless) {
        // runc maps the effective ids (os.Geteuid / os.Getegid).
        linux_section["uidMappings"] = ojson::array({id_mapping(::geteuid())});
        linux_section["gidMappings"] = ojson::array({id_mapping(::getegid())});
        for (const char* t : {"pid", "ipc", "uts", "mount", "user"})
            namespaces.push_back({{"type", t}});
    } else {
        linux_section["resources"] = {
            {"devices", ojson::array({{{"allow", false}, {"access", "rwm"}}})}};
        for (const char* t : {"pid", "network", "ipc", "uts", "mount"})
            namespaces.push_back({{"type", t}});
    }
    linux_section["namespaces"] = std::move(namespaces);
    linux_section["maskedPaths"] = ojson::array({
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
        "/proc/scsi",
    });
    linux_section["readonlyPaths"] = ojson::array({
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    });

    ojson spec{
        {"ociVersion", "1.2.0"},
        {"process", std::move(process)},
        {"root", {{"path", "rootfs"}, {"readonly", true}}},
        {"hostname", "hako"},
        {"mounts", std::move(mounts)},
        {"linux", std::move(linux_section)},
    };
    return spec.dump(1, '\t');
}

}  // namespace hako::oci
