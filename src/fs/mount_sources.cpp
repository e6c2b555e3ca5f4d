// Bind sources cloned by the runtime (open_tree) for init to attach: bind mounts into a
// user namespace, and idmapped mounts (runtime-spec 1.2's mount uidMappings/gidMappings).
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>
#include <string>

#include "common/log.hpp"
#include "fs/fs.hpp"
#include "ns/namespaces.hpp"

namespace hako::fs {
namespace {

std::string maps_key(const std::vector<oci::IdMapping>& uids, const std::vector<oci::IdMapping>& gids) {
    std::string k;
    for (const auto* v : {&uids, &gids}) {
        for (const auto& m : *v) k += fmt::format("{}:{}:{},", m.container_id, m.host_id, m.size);
        k += ';';
    }
    return k;
}

}  // namespace

bool is_bind(const oci::Mount& m) {
    if (m.type == "bind") return true;
    for (const auto& o : m.options)
        if (o == "bind" || o == "rbind") return true;
    return false;
}

std::string bind_source(const oci::Mount& m, const std::string& bundle) {
    if (!m.source.empty() && m.source[0] == '/') return m.source;
    return bundle + "/" + m.source;
}

Result<std::vector<UniqueFd>> open_mount_sources(const oci::Spec& spec, const std::string& bundle,
                                                 bool user_ns) {
    std::vector<UniqueFd> out;
    std::map<std::string, UniqueFd> userns;  // one user namespace per distinct set of maps
    const oci::Linux* l = spec.linux ? &*spec.linux : nullptr;
    for (size_t i = 0; i < spec.mounts.size(); ++i) {
        const oci::Mount& m = spec.mounts[i];
        std::string field = "mounts[" + std::to_string(i) + "]";
        // (the start-up path: most mounts are done with after these checks)
        bool idmapped = !m.uid_mappings.empty() || !m.gid_mappings.empty();
        for (const auto& o : m.options) idmapped = idmapped || o == "idmap" || o == "ridmap";
        const bool bind = is_bind(m);
        if (idmapped && !bind) return error(field + ": idmapped mounts need a bind mount (type `" + m.type + "`)");
        if (!bind || (!user_ns && !idmapped)) continue;
        auto opts = HAKO_TRY(parse_mount_options(m.options, field + ".options"));
        out.resize(spec.mounts.size());
        std::string src = bind_source(m, bundle);
        std::string what = field + ": clone the bind source `" + src + "`";
        unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (opts.recursive ? AT_RECURSIVE : 0);
        UniqueFd tree(static_cast<int>(syscall(SYS_open_tree, AT_FDCWD, src.c_str(), flags)));
        if (!tree) {
            // Init mounts it by path then, and reports what is wrong with it.
            if (!idmapped) {
                log::debug("{}: {}; init binds it by path", what, Error{errno, ""}.what());
                continue;
            }
            return sys_error(what);
        }
        if (idmapped) {
            const auto* uids = &m.uid_mappings;
            const auto* gids = &m.gid_mappings;
            if (uids->empty() && gids->empty() && l) {  // the container's own maps
                uids = &l->uid_mappings;
                gids = &l->gid_mappings;
            }
            if (uids->empty() || gids->empty())
                return error(field + ": an idmapped mount needs uidMappings and gidMappings (on the mount, "
                             "or the container's linux.uidMappings and linux.gidMappings)");
            auto& ns = userns[maps_key(*uids, *gids)];
            if (!ns) ns = HAKO_TRY_CTX(ns::make_userns(*uids, *gids), field);
            mount_attr attr{};
            attr.attr_set = MOUNT_ATTR_IDMAP;
            attr.userns_fd = static_cast<uint64_t>(ns.get());
            // "ridmap", or mappings on an rbind without "idmap": the whole tree.
            bool rec = opts.idmap == IdmapMode::Recursive || (opts.idmap == IdmapMode::None && opts.recursive);
            if (syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0), &attr,
                        sizeof attr) < 0)
                return sys_error(field + ": idmap the mount of `" + src +
                                 "` (mount_setattr MOUNT_ATTR_IDMAP; its file system may not support "
                                 "idmapped mounts)");
        }
        out[i] = std::move(tree);
    }
    return out;
}

}  // namespace hako::fs
