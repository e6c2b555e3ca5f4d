// Semantic checks of a parsed config, after runc's
// libcontainer/configs/validate (and its specconv conversion checks), plus
// the features hako does not implement yet.
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <set>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "common/strings.hpp"
#include "oci/spec.hpp"

namespace hako::oci {

namespace {

std::unexpected<Error> field_error(std::string_view path, std::string_view msg) {
    return error(fmt::format("{}: {}", path, msg));
}

bool is_abs(std::string_view p) { return !p.empty() && p.front() == '/'; }

const Namespace* find_ns(const Linux* l, NsType t) {
    if (!l) return nullptr;
    for (const auto& ns : l->namespaces)
        if (ns.type == t) return &ns;
    return nullptr;
}

// Is the namespace file at `path` the network namespace we are in?
Result<bool> is_host_netns(const std::string& path) {
    struct stat self {}, other {};
    if (::stat("/proc/self/ns/net", &self) != 0) return sys_error("stat `/proc/self/ns/net`");
    if (::stat(path.c_str(), &other) != 0) return sys_error("stat `" + path + "`");
    return self.st_dev == other.st_dev && self.st_ino == other.st_ino;
}

Status check_sysctls(const Linux& l) {
    static constexpr std::array<std::string_view, 8> kIpc{
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",  "kernel.sem",
        "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
    };
    const Namespace* ipc = find_ns(&l, NsType::Ipc);
    const Namespace* net = find_ns(&l, NsType::Network);
    const Namespace* uts = find_ns(&l, NsType::Uts);
    std::optional<bool> hostnet;  // computed once, on the first net.* sysctl

    for (const auto& [key, value] : l.sysctl) {
        const std::string s = sysctl_dotted(key);
        bool ipc_sysctl = s.starts_with("fs.mqueue.");
        for (auto k : kIpc) ipc_sysctl = ipc_sysctl || s == k;
        if (ipc_sysctl) {
            if (ipc) continue;
            return field_error("linux.sysctl", fmt::format("sysctl \"{}\" is not allowed in the "
                                                           "host's ipc namespace", s));
        }
        if (s.starts_with("net.")) {
            if (!hostnet) {
                if (!net)
                    hostnet = true;
                else if (net->path.empty())
                    hostnet = false;
                else
                    hostnet = HAKO_TRY_CTX(is_host_netns(net->path),
                                           "linux.sysctl: invalid network namespace path");
            }
            if (*hostnet)
                return field_error("linux.sysctl", fmt::format("sysctl \"{}\" is not allowed in "
                                                               "the host's network namespace", s));
            continue;
        }
        if (uts) {
            if (s == "kernel.domainname") continue;
            if (s == "kernel.hostname")
                return field_error("linux.sysctl",
                                   fmt::format("sysctl \"{}\" is not allowed as it conflicts "
                                               "with the OCI \"hostname\" field", s));
        }
        return field_error("linux.sysctl",
                           fmt::format("sysctl \"{}\" is not in a separate kernel namespace", s));
    }
    return {};
}

Status check_namespaces(const Linux& l) {
    std::set<NsType> seen;
    for (size_t i = 0; i < l.namespaces.size(); ++i) {
        const auto& ns = l.namespaces[i];
        const std::string path = fmt::format("linux.namespaces[{}]", i);
        if (!seen.insert(ns.type).second)
            return field_error(path + ".type",
                               fmt::format("duplicate namespace \"{}\"", ns_type_name(ns.type)));
        if (!ns.path.empty() && !is_abs(ns.path))
            return field_error(path + ".path",
                               fmt::format("must be an absolute path, got \"{}\"", ns.path));
    }

    const Namespace* user = find_ns(&l, NsType::User);
    if (!user) {
        if (!l.uid_mappings.empty())
            return field_error("linux.uidMappings",
                               "user namespace mappings specified, but no user namespace in "
                               "linux.namespaces");
        if (!l.gid_mappings.empty())
            return field_error("linux.gidMappings",
                               "user namespace mappings specified, but no user namespace in "
                               "linux.namespaces");
    } else if (user->path.empty()) {
        if (l.uid_mappings.empty())
            return field_error("linux.uidMappings", "a new user namespace needs uid mappings");
        if (l.gid_mappings.empty())
            return field_error("linux.gidMappings", "a new user namespace needs gid mappings");
    }

    if (!l.time_offsets.empty()) {
        const Namespace* time = find_ns(&l, NsType::Time);
        if (!time)
            return field_error("linux.timeOffsets",
                               "time namespace offsets specified, but no time namespace in "
                               "linux.namespaces");
        if (!time->path.empty())
            return field_error("linux.timeOffsets",
                               "cannot set the offsets of a joined time namespace");
    }
    return {};
}

Status check_paths(std::string_view field, const std::vector<std::string>& paths) {
    for (size_t i = 0; i < paths.size(); ++i)
        if (!is_abs(paths[i]))
            return field_error(fmt::format("{}[{}]", field, i),
                               fmt::format("must be an absolute path, got \"{}\"", paths[i]));
    return {};
}

Status check_linux(const Linux& l) {
    HAKO_TRY(check_namespaces(l));
    HAKO_TRY(check_sysctls(l));

    static constexpr std::array<std::string_view, 9> kPropagation{
        "",      "private", "rprivate",  "slave",      "rslave",
        "shared", "rshared", "unbindable", "runbindable",
    };
    bool known = false;
    for (auto p : kPropagation) known = known || l.rootfs_propagation == p;
    if (!known)
        return field_error("linux.rootfsPropagation",
                           fmt::format("unknown propagation \"{}\"", l.rootfs_propagation));

    HAKO_TRY(check_paths("linux.maskedPaths", l.masked_paths));
    HAKO_TRY(check_paths("linux.readonlyPaths", l.readonly_paths));
    if ((!l.masked_paths.empty() || !l.readonly_paths.empty()) && !find_ns(&l, NsType::Mount))
        return field_error(l.masked_paths.empty() ? "linux.readonlyPaths" : "linux.maskedPaths",
                           "unable to restrict paths without a private mount namespace");

    if (l.resources) HAKO_TRY(validate_resources(*l.resources));
    if (l.seccomp) {
        bool notify = l.seccomp->default_action == "SCMP_ACT_NOTIFY";
        for (const auto& sc : l.seccomp->syscalls) notify = notify || sc.action == "SCMP_ACT_NOTIFY";
        // (runc's wording, which callers match)
        if (notify && l.seccomp->listener_path.empty())
            return field_error("linux.seccomp.listenerPath",
                               "failed to connect with seccomp agent: SCMP_ACT_NOTIFY needs a listener, "
                               "and listenerPath is empty");
        // Init itself writes after the filter is loaded (the sync socket, the
        // exec fifo): a notifying write would wait on an agent that gets
        // the listener only afterwards.
        if (l.seccomp->default_action == "SCMP_ACT_NOTIFY")
            return field_error("linux.seccomp.defaultAction", "SCMP_ACT_NOTIFY cannot be used as default action");
        for (size_t i = 0; i < l.seccomp->syscalls.size(); ++i) {
            const auto& sc = l.seccomp->syscalls[i];
            if (sc.action != "SCMP_ACT_NOTIFY") continue;
            for (const auto& n : sc.names)
                if (n == "write")
                    return field_error("linux.seccomp.syscalls[" + std::to_string(i) + "]",
                                       "SCMP_ACT_NOTIFY cannot be used for the write syscall");
        }
        // (a listenerPath without SCMP_ACT_NOTIFY rules is harmless: accepted, as by runc)
        if (!l.seccomp->listener_path.empty() && l.seccomp->listener_path[0] != '/')
            return field_error("linux.seccomp.listenerPath", "must be an absolute path");
    }
    // Not implemented yet.
    if (l.intel_rdt_present) return field_error("linux.intelRdt", "not supported yet");
    // linux.mountLabel: an SELinux context; meaningless, and ignored, where
    // SELinux is off (runc, crun); with it on, the mounts get context= (fs).
    return {};
}

Status check_process(const Process& p, bool need_process) {
    if (need_process && p.args.empty()) return field_error("process.args", "must not be empty");
    if (!is_abs(p.cwd))
        return field_error("process.cwd", fmt::format("must be an absolute path, got \"{}\"", elide(p.cwd)));
    if (p.cwd.size() >= PATH_MAX)
        return field_error("process.cwd", fmt::format("{} bytes, longer than a path may be ({})", p.cwd.size(), PATH_MAX - 1));
    // What execve takes: no string of MAX_ARG_STRLEN (32 pages) or more, and
    // all of them, with their pointers, within ARG_MAX (else E2BIG, after
    // all the set-up, as a bare "argument list too long").
    constexpr size_t kMaxArgStrlen = 32 * 4096;
    size_t total = 0;
    for (auto [list, name] : {std::pair{&p.args, "process.args"}, std::pair{&p.env, "process.env"}})
        for (size_t i = 0; i < list->size(); ++i) {
            const std::string& a = (*list)[i];
            if (a.size() + 1 > kMaxArgStrlen)
                return field_error(fmt::format("{}[{}]", name, i),
                                   fmt::format("{} bytes, more than execve takes in one string ({}): \"{}\"",
                                               a.size(), kMaxArgStrlen - 1, elide(a, 60)));
            total += a.size() + 1 + sizeof(char*);
        }
    if (long max = sysconf(_SC_ARG_MAX); max > 0 && total > static_cast<size_t>(max))
        return field_error("process.args", fmt::format("process.args and process.env take {} bytes, more than execve "
                                                       "takes in all (ARG_MAX {})", total, max));
    if (p.console_size && (p.console_size->height > 0xffff || p.console_size->width > 0xffff))
        return field_error("process.consoleSize", fmt::format("{}x{}: a terminal is at most 65535 rows and columns",
                                                              p.console_size->height, p.console_size->width));
    std::set<int> seen;
    for (size_t i = 0; i < p.rlimits.size(); ++i)
        if (!seen.insert(p.rlimits[i].resource).second)
            return field_error(fmt::format("process.rlimits[{}].type", i),
                               fmt::format("duplicate rlimit \"{}\"", p.rlimits[i].type));
    // AppArmor is checked where the profile is applied (it needs the host).
    return {};
}

}  // namespace

Status validate_resources(const Resources& r) {
    if (const auto& m = r.memory) {
        auto check = [](const std::optional<int64_t>& v, std::string_view field) -> Status {
            if (v && *v < -1) return field_error(field, fmt::format("invalid value {}", *v));
            return {};
        };
        HAKO_TRY(check(m->limit, "linux.resources.memory.limit"));
        HAKO_TRY(check(m->reservation, "linux.resources.memory.reservation"));
        HAKO_TRY(check(m->swap, "linux.resources.memory.swap"));
        if (m->limit && m->swap && *m->swap > 0 && *m->limit > 0 && *m->swap < *m->limit)
            return field_error("linux.resources.memory.swap",
                               fmt::format("memory+swap ({}) must not be below the memory limit ({})",
                                           *m->swap, *m->limit));
        if (m->swappiness && *m->swappiness > 100)
            return field_error("linux.resources.memory.swappiness",
                               fmt::format("{} is out of range 0-100", *m->swappiness));
    }
    if (const auto& c = r.cpu) {
        if (c->idle && *c->idle != 0 && *c->idle != 1)
            return field_error("linux.resources.cpu.idle", "must be 0 or 1");
    }
    for (const auto& [key, value] : r.unified) {
        if (key.empty() || key.find('/') != std::string::npos || key == "." || key == "..")
            return field_error("linux.resources.unified",
                               fmt::format("\"{}\" is not a cgroup file name", key));
        if (key.rfind("cgroup.", 0) == 0 && key != "cgroup.max.depth" && key != "cgroup.max.descendants" &&
            key != "cgroup.freeze" && key != "cgroup.type")
            return field_error("linux.resources.unified", fmt::format("\"{}\" may not be set", key));
    }
    return {};
}

Status validate_spec(const Spec& spec, bool need_process) {
    if (spec.process)
        HAKO_TRY(check_process(*spec.process, need_process));
    else if (need_process)
        return field_error("process", "required");

    if (spec.root.path.empty()) return field_error("root.path", "must not be empty");

    for (size_t i = 0; i < spec.mounts.size(); ++i) {
        const auto& m = spec.mounts[i];
        // A relative destination is accepted (taken relative to "/") as runc does.
        if (m.destination.empty())
            return field_error(fmt::format("mounts[{}].destination", i), "must not be empty");
        if (m.uid_mappings.empty() != m.gid_mappings.empty())
            return field_error(fmt::format("mounts[{}].{}", i,
                                           m.uid_mappings.empty() ? "uidMappings" : "gidMappings"),
                               "an idmapped mount needs both uidMappings and gidMappings");
    }

    const Linux* l = spec.linux ? &*spec.linux : nullptr;
    if (!spec.hostname.empty() && !find_ns(l, NsType::Uts))
        return field_error("hostname", "unable to set hostname without a private UTS namespace");
    if (!spec.domainname.empty() && !find_ns(l, NsType::Uts))
        return field_error("domainname",
                           "unable to set domainname without a private UTS namespace");

    if (spec.hooks) {
        const Hooks& h = *spec.hooks;
        const std::pair<const char*, const std::vector<Hook>*> kinds[] = {
            {"prestart", &h.prestart},           {"createRuntime", &h.create_runtime},
            {"createContainer", &h.create_container}, {"startContainer", &h.start_container},
            {"poststart", &h.poststart},         {"poststop", &h.poststop}};
        for (const auto& [kind, list] : kinds)
            for (size_t i = 0; i < list->size(); ++i) {
                const Hook& hook = (*list)[i];
                std::string field = std::string("hooks.") + kind + "[" + std::to_string(i) + "]";
                if (hook.path.empty() || hook.path[0] != '/')
                    return field_error(field + ".path", "must be an absolute path");
                if (hook.timeout && *hook.timeout <= 0)
                    return field_error(field + ".timeout", "must be greater than zero");
            }
    }

    if (l) HAKO_TRY(check_linux(*l));
    return {};
}

}  // namespace hako::oci
