#include "ns/namespaces.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "common/log.hpp"
#include "sys/procfs.hpp"
#include "sys/syscalls.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace hako::ns {

bool Plan::has(oci::NsType t) const {
    if (new_flags & static_cast<uint64_t>(oci::ns_clone_flag(t))) return true;
    if (t == oci::NsType::Time && new_time) return true;
    for (const auto& j : joins)
        if (j.type == t) return true;
    return false;
}

Result<Plan> make_plan(const oci::Spec& spec) {
    Plan p;
    if (!spec.linux) return p;
    const auto& nss = spec.linux->namespaces;
    for (size_t i = 0; i < nss.size(); ++i) {
        const auto& n = nss[i];
        int flag = oci::ns_clone_flag(n.type);
        if (n.path.empty()) {
            if (n.type == oci::NsType::Time)
                p.new_time = true;
            else
                p.new_flags |= static_cast<uint64_t>(flag);
            if (n.type == oci::NsType::User) p.new_user = true;
            if (n.type == oci::NsType::Pid) p.new_pid = true;
            continue;
        }
        std::string field = "linux.namespaces[" + std::to_string(i) + "].path";
        UniqueFd fd(::open(n.path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return sys_error(field + ": open `" + n.path + "`");
        int kind = ioctl(fd.get(), NS_GET_NSTYPE);
        if (kind < 0) return sys_error(field + ": `" + n.path + "` is not a namespace");
        if (kind != flag)
            return error(field + ": `" + n.path + "` is not a " + oci::ns_type_name(n.type) +
                         " namespace");
        if (n.type == oci::NsType::User) p.join_user = true;
        if (n.type == oci::NsType::Pid) p.join_pid = true;
        Joined j{n.type, flag, field, std::move(fd)};
        if (n.type == oci::NsType::User)
            p.joins.insert(p.joins.begin(), std::move(j));
        else
            p.joins.push_back(std::move(j));
    }
    return p;
}

namespace {
std::string map_text(const std::vector<oci::IdMapping>& maps) {
    std::string s;
    for (const auto& m : maps)
        s += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
             std::to_string(m.size) + "\n";
    return s;
}
}  // namespace

Status write_id_maps(pid_t pid, const oci::Linux& linux) {
    log::Step step("write uid_map/gid_map");
    std::string base = "/proc/" + std::to_string(pid) + "/";
    if (!linux.uid_mappings.empty())
        HAKO_TRY_CTX(sys::write_file(base + "uid_map", map_text(linux.uid_mappings)),
                     "linux.uidMappings");
    if (!linux.gid_mappings.empty())
        HAKO_TRY_CTX(sys::write_file(base + "gid_map", map_text(linux.gid_mappings)),
                     "linux.gidMappings");
    return {};
}

Result<UniqueFd> make_userns(const std::vector<oci::IdMapping>& uids,
                             const std::vector<oci::IdMapping>& gids) {
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) return sys_error("pipe");
    UniqueFd rd(pipefd[0]), wr(pipefd[1]);
    auto pid = HAKO_TRY_CTX(sys::clone_process(CLONE_NEWUSER), "make a user namespace for an idmapped mount");
    if (pid == 0) {  // holds the namespace until the parent closes the pipe
        wr.reset();
        char c;
        (void)!::read(rd.get(), &c, 1);
        _exit(0);
    }
    rd.reset();
    auto reap = [pid, &wr] {
        wr.reset();
        waitpid(pid, nullptr, 0);
    };
    std::string base = "/proc/" + std::to_string(pid) + "/";
    Status st = sys::write_file(base + "uid_map", map_text(uids));
    if (st) st = sys::write_file(base + "gid_map", map_text(gids));
    if (!st) {
        reap();
        return std::unexpected(std::move(st).error());
    }
    UniqueFd fd(::open((base + "ns/user").c_str(), O_RDONLY | O_CLOEXEC));
    int err = errno;
    reap();
    if (!fd) return std::unexpected(Error{err, "open the idmapped mount's user namespace"});
    return fd;
}

Status join(const Joined& j) {
    log::Step step(std::string("setns ") + oci::ns_type_name(j.type));
    if (setns(j.fd.get(), j.flag) < 0) return sys_error(j.field + ": setns");
    return {};
}

Status unshare_flags(uint64_t flags) {
    if (flags == 0) return {};
    log::Step step("unshare namespaces");
    if (unshare(static_cast<int>(flags)) < 0) return sys_error("unshare (linux.namespaces)");
    return {};
}

Status enter_new_time_ns(const std::map<std::string, oci::TimeOffset>& offsets) {
    log::Step step("time namespace");
    if (unshare(CLONE_NEWTIME) < 0) return sys_error("unshare time namespace (linux.namespaces)");
    if (!offsets.empty()) {
        std::string text;
        for (const auto& [clock, off] : offsets)
            text += clock + " " + std::to_string(off.secs) + " " + std::to_string(off.nanosecs) + "\n";
        // /proc/self files of a non-dumpable task belong to the host's root.
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        auto st = sys::write_proc("/proc/self/timens_offsets", text);
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        HAKO_TRY_CTX(std::move(st), "linux.timeOffsets");
    }
    UniqueFd fd(::open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC));
    if (!fd) return sys_error("open /proc/self/ns/time_for_children");
    if (setns(fd.get(), CLONE_NEWTIME) < 0) return sys_error("enter the new time namespace");
    return {};
}

Status set_uts(const oci::Spec& spec) {
    if (!spec.hostname.empty() && sethostname(spec.hostname.data(), spec.hostname.size()) < 0)
        return sys_error("sethostname `" + spec.hostname + "` (hostname)");
    if (!spec.domainname.empty() &&
        setdomainname(spec.domainname.data(), spec.domainname.size()) < 0)
        return sys_error("setdomainname `" + spec.domainname + "` (domainname)");
    return {};
}

Status apply_sysctl(const std::map<std::string, std::string>& sysctl) {
    for (const auto& [key, value] : sysctl) {
        HAKO_TRY_CTX(sys::write_proc(oci::sysctl_proc_path(key), value),
                     "linux.sysctl[\"" + key + "\"]");
    }
    return {};
}

}  // namespace hako::ns
