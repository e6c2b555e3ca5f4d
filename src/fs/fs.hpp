// The container's file system: rootfs propagation, mounts, /dev, pivot_root,
// masked and read-only paths, a read-only root.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "oci/spec.hpp"
#include "sys/fd.hpp"

namespace hako::fs {

enum class IdmapMode { None, TopOnly, Recursive };  // no idmap, "idmap", "ridmap"

struct MountOptions {
    unsigned long flags = 0;              // MS_* to set
    bool bind = false;                    // bind or rbind
    bool recursive = false;               // rbind
    std::vector<unsigned long> propagation;  // MS_SHARED|MS_REC ... in order
    uint64_t attr_set = 0;                // recursive attributes (rro, rnosuid...) for mount_setattr
    uint64_t attr_clr = 0;
    std::string data;                     // everything else, comma-joined (fs options)
    bool tmpcopyup = false;               // tmpfs starts with the directory's contents
    IdmapMode idmap = IdmapMode::None;
};

// Parse mounts[i].options; `field` names it in errors.
Result<MountOptions> parse_mount_options(const std::vector<std::string>& options,
                                         const std::string& field);
// Every mount option parse_mount_options knows (for `features`).
std::vector<std::string> known_mount_options();
// "rslave" -> MS_SLAVE|MS_REC (rootfsPropagation); 0 if unknown.
unsigned long propagation_flags(std::string_view name);

struct RootfsConfig {
    const oci::Spec* spec = nullptr;
    std::string rootfs;      // absolute host path
    std::string bundle;      // absolute; relative bind sources are relative to it
    bool no_pivot = false;
    bool in_user_ns = false; // mknod is not allowed: bind host devices instead
    bool new_cgroup_ns = false;
    // No mount namespace of its own (runc and crun allow it): the mounts land
    // in the caller's namespace, "/" keeps its propagation, and chroot
    // replaces pivot_root.
    bool host_mount_ns = false;
    // Per spec mount: a detached mount tree the runtime cloned from the bind
    // source before init entered its user namespace (mount_sources.cpp), or
    // -1 (mount the source by path). Empty: none at all.
    std::vector<int> mount_sources;
    // Called before a cgroup mount (which shows the container's cgroup).
    std::function<Status()> before_cgroup_mount;
    // Called once the mounts are made, before pivot_root (the runtime's
    // prestart/createRuntime hooks, then createContainer).
    std::function<Status()> before_pivot;
};

// In the container's mount namespace: the propagation of "/", the rootfs
// bound on itself, the spec's mounts, /dev, pivot_root (or chroot) and
// rootfsPropagation. On return the process's root is the rootfs.
Status enter_rootfs(const RootfsConfig& cfg);
// After sysctls are written: masked paths, read-only paths, read-only root.
Status finish_rootfs(const RootfsConfig& cfg);

// The per-mount flags of the mount holding `fd` (MS_NOSUID ...): a remount
// must keep those the kernel locked (a mount made in a less privileged user
// namespace) and should keep the rest.
unsigned long locked_flags(int fd);

// Copy the contents of src_dir into dst_dir (files, directories, symlinks,
// device nodes; owners and modes kept).
Status copy_tree(int src_dir, int dst_dir);

// The runtime's side of bind mounts into a user namespace, and of idmapped
// mounts: for each spec mount that needs it, an open_tree(OPEN_TREE_CLONE)
// of its source, made here in the host's namespaces (where every source is
// reachable, however the mapped root is barred from it), idmapped with
// mount_setattr(MOUNT_ATTR_IDMAP) when the mount says so. Init inherits the
// fds and attaches the trees with move_mount. The vector has an entry per
// mount (an invalid fd: init mounts by path), or none at all.
Result<std::vector<UniqueFd>> open_mount_sources(const oci::Spec& spec, const std::string& bundle,
                                                 bool user_ns);
// Whether mounts[i] is a bind mount (type "bind", or a bind/rbind option).
bool is_bind(const oci::Mount& m);
// A bind mount's source on the host (a relative one is relative to the bundle).
std::string bind_source(const oci::Mount& m, const std::string& bundle);

// Steps of setup_rootfs, exposed for tests.
// `source_fd`: the bind source's detached tree (open_mount_sources), or -1.
Status mount_entry(int rootfd, const oci::Mount& m, const std::string& field, const RootfsConfig& cfg,
                   int source_fd = -1);
Status create_devices(int rootfd, const RootfsConfig& cfg);

}  // namespace hako::fs
