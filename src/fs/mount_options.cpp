#include <algorithm>
#include <linux/mount.h>
#include <sys/mount.h>

#include <string>
#include <string_view>

#include "fs/fs.hpp"

namespace hako::fs {
namespace {

struct FlagOpt {
    std::string_view name;
    bool clear;  // the option clears the flag ("rw", "suid"...)
    unsigned long flag;
};
constexpr FlagOpt kFlags[] = {
    {"ro", false, MS_RDONLY},          {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},      {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},        {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},      {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},   {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},      {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},       {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME}, {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},  {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME}, {"nostrictatime", true, MS_STRICTATIME},
    {"lazytime", false, MS_LAZYTIME},  {"nolazytime", true, MS_LAZYTIME},
    {"silent", false, MS_SILENT},      {"loud", true, MS_SILENT},
};

struct AttrOpt {
    std::string_view name;
    bool clear;
    uint64_t attr;
};
constexpr AttrOpt kRecAttrs[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},       {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},   {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},     {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},   {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME}, {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW}, {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

}  // namespace

std::vector<std::string> known_mount_options() {
    std::vector<std::string> out;
    for (const auto& f : kFlags) out.emplace_back(f.name);
    for (const auto& a : kRecAttrs) out.emplace_back(a.name);
    for (const char* o : {"bind", "rbind", "idmap", "ridmap", "tmpcopyup", "private", "rprivate", "shared", "rshared", "slave",
                          "rslave", "unbindable", "runbindable"})
        out.emplace_back(o);
    std::sort(out.begin(), out.end());
    return out;
}

unsigned long propagation_flags(std::string_view n) {
    if (n == "private") return MS_PRIVATE;
    if (n == "rprivate") return MS_PRIVATE | MS_REC;
    if (n == "shared") return MS_SHARED;
    if (n == "rshared") return MS_SHARED | MS_REC;
    if (n == "slave") return MS_SLAVE;
    if (n == "rslave") return MS_SLAVE | MS_REC;
    if (n == "unbindable") return MS_UNBINDABLE;
    if (n == "runbindable") return MS_UNBINDABLE | MS_REC;
    return 0;
}

Result<MountOptions> parse_mount_options(const std::vector<std::string>& options,
                                         const std::string& /*field: for errors*/) {
    MountOptions o;
    for (size_t i = 0; i < options.size(); ++i) {
        std::string_view opt = options[i];
        if (opt == "bind") {
            o.bind = true;
            continue;
        }
        if (opt == "rbind") {
            o.bind = o.recursive = true;
            continue;
        }
        if (unsigned long p = propagation_flags(opt)) {
            o.propagation.push_back(p);
            continue;
        }
        bool done = false;
        for (const auto& f : kFlags) {
            if (f.name != opt) continue;
            if (f.clear)
                o.flags &= ~f.flag;
            else
                o.flags |= f.flag;
            // atime options are mutually exclusive in the kernel: last one wins
            if (f.flag == MS_RELATIME || f.flag == MS_NOATIME || f.flag == MS_STRICTATIME) {
                if (!f.clear) o.flags &= ~((MS_RELATIME | MS_NOATIME | MS_STRICTATIME) & ~f.flag);
            }
            done = true;
            break;
        }
        if (done) continue;
        for (const auto& a : kRecAttrs) {
            if (a.name != opt) continue;
            if (a.clear) {
                o.attr_clr |= a.attr;
                o.attr_set &= ~a.attr;
            } else {
                o.attr_set |= a.attr;
                o.attr_clr &= ~a.attr;
            }
            done = true;
            break;
        }
        if (done) continue;
        if (opt == "tmpcopyup") {
            o.tmpcopyup = true;
            continue;
        }
        if (opt == "idmap" || opt == "ridmap") {
            o.idmap = opt == "ridmap" ? IdmapMode::Recursive : IdmapMode::TopOnly;
            continue;
        }
        if (!o.data.empty()) o.data += ',';
        o.data += opt;
    }
    return o;
}

}  // namespace hako::fs
