// hako diff (cp.hpp): docker diff's changes from an overlay upper dir and the lower dirs under it.
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/strings.hpp"
#include "frontend/cp.hpp"

namespace hako::frontend {
namespace {

bool is_whiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

bool is_opaque(const std::string& path) {
    for (const char* key : {"trusted.overlay.opaque", "user.overlay.opaque"}) {
        char v[2];
        if (::lgetxattr(path.c_str(), key, v, sizeof v) == 1 && v[0] == 'y') return true;
    }
    return false;
}

Result<std::vector<std::string>> list_dir(const std::string& path) {
    DIR* d = ::opendir(path.c_str());
    if (!d) return sys_error("diff: open `" + path + "`");
    std::vector<std::string> names;
    errno = 0;
    while (dirent* de = ::readdir(d)) {
        std::string n = de->d_name;
        if (n != "." && n != "..") names.push_back(std::move(n));
    }
    int e = errno;
    ::closedir(d);
    if (e) return sys_error("diff: read `" + path + "`", e);
    std::sort(names.begin(), names.end());
    return names;
}

std::string join_rel(const std::string& rel, const std::string& name) { return rel.empty() ? name : rel + "/" + name; }

// The lower dirs seen as one tree, the image the container started from:
// an upper layer's whiteout hides a path below it, its opaque directory
// the lower layers' entries in it, its non-directory anything under it.
class Lowers {
public:
    explicit Lowers(const std::vector<std::string>& dirs) : dirs_(dirs) {}

    // `rel` ("a/b") in the image: its stat, or nullopt.
    [[nodiscard]] std::optional<struct stat> lookup(const std::string& rel) const {
        auto comps = split(rel, '/');
        for (const auto& dir : dirs_) {
            Probe p = probe(dir, comps);
            if (p.kind == Probe::Found) return p.st;
            if (p.kind == Probe::Gone || p.stop) return std::nullopt;
        }
        return std::nullopt;
    }

    // The names in the image's directory `rel` (none if it is none).
    [[nodiscard]] std::set<std::string> list(const std::string& rel) const {
        auto comps = split(rel, '/');
        std::set<std::string> seen, names;
        for (const auto& dir : dirs_) {
            Probe p = probe(dir, comps);
            if (p.kind == Probe::Gone) break;
            if (p.kind == Probe::Missing) {
                if (p.stop) break;
                continue;
            }
            if (!S_ISDIR(p.st.st_mode)) break;
            std::string here = rel.empty() ? dir : dir + "/" + rel;
            if (auto entries = list_dir(here)) {
                for (const auto& n : *entries) {
                    if (!seen.insert(n).second) continue;  // (an upper layer's decides)
                    struct stat st {};
                    if (::lstat((here + "/" + n).c_str(), &st) == 0 && !is_whiteout(st)) names.insert(n);
                }
            }
            if (p.stop) break;
        }
        return names;
    }

private:
    struct Probe {
        enum Kind { Missing, Gone, Found } kind = Missing;
        struct stat st {};
        bool stop = false;  // the layers below are hidden here (an opaque directory)
    };

    // `comps` in one layer.
    static Probe probe(const std::string& dir, const std::vector<std::string_view>& comps) {
        Probe p;
        std::string path = dir;
        if (comps.empty()) {
            if (::lstat(path.c_str(), &p.st) == 0) p.kind = Probe::Found;
            return p;
        }
        for (size_t i = 0; i < comps.size(); ++i) {
            path += "/";
            path += comps[i];
            struct stat st {};
            if (::lstat(path.c_str(), &st) < 0) return p;  // Missing (with `stop` from above)
            if (is_whiteout(st)) {
                p.kind = Probe::Gone;
                return p;
            }
            if (i + 1 == comps.size()) {
                p.kind = Probe::Found;
                p.st = st;
                p.stop = p.stop || (S_ISDIR(st.st_mode) && is_opaque(path));
                return p;
            }
            if (!S_ISDIR(st.st_mode)) {
                p.kind = Probe::Gone;
                return p;
            }
            if (is_opaque(path)) p.stop = true;
        }
        return p;
    }

    const std::vector<std::string>& dirs_;
};

bool same_dir(const struct stat& a, const struct stat& b) {
    return a.st_mode == b.st_mode && a.st_uid == b.st_uid && a.st_gid == b.st_gid &&
           a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

struct Walker {
    std::string upper;
    const Lowers& lowers;
    std::map<std::string, char> changes;  // "a/b" -> kind

    // Upper directory `rel`; `hidden`: an opaque directory at or above it,
    // so the image's entries in it that the upper lacks are deleted.
    Status walk(const std::string& rel, bool hidden) {
        std::string dir = rel.empty() ? upper : upper + "/" + rel;
        auto names = HAKO_TRY(list_dir(dir));
        for (const auto& n : names) {
            std::string r = join_rel(rel, n);
            std::string full = upper + "/" + r;
            struct stat st {};
            if (::lstat(full.c_str(), &st) < 0) return sys_error("diff: stat `" + full + "`");
            if (is_whiteout(st)) {
                changes[r] = 'D';
                continue;
            }
            auto low = lowers.lookup(r);
            bool dir_here = S_ISDIR(st.st_mode);
            bool opaque = dir_here && is_opaque(full);
            if (!low) {
                changes[r] = 'A';
            } else if (!(dir_here && S_ISDIR(low->st_mode) && !opaque && !hidden && same_dir(st, *low))) {
                changes[r] = 'C';  // (a directory only copied up for what is below it: its parents' rule below)
            }
            if (dir_here) HAKO_TRY(walk(r, hidden || opaque));
        }
        if (hidden) {
            std::set<std::string> here(names.begin(), names.end());
            for (const auto& n : lowers.list(rel))
                if (!here.count(n)) changes[join_rel(rel, n)] = 'D';
        }
        return {};
    }
};

// Path order with "/" first: a directory right before its own entries.
bool path_less(const std::string& a, const std::string& b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        auto k = [](char c) { return c == '/' ? 0 : static_cast<unsigned char>(c) + 1; };
        return k(x) < k(y);
    });
}

}  // namespace

Result<std::vector<Change>> diff_upper(const std::string& upper, const std::vector<std::string>& lowers) {
    struct stat st {};
    if (::stat(upper.c_str(), &st) < 0) return sys_error("diff: the upper directory `" + upper + "`");
    if (!S_ISDIR(st.st_mode)) return sys_error("diff: the upper directory `" + upper + "`", ENOTDIR);
    Lowers image(lowers);
    Walker w{upper, image, {}};
    HAKO_TRY(w.walk("", is_opaque(upper)));
    // Every parent of a change shows as changed (docker's "C /etc" above "A /etc/x").
    std::map<std::string, char> all = w.changes;
    for (const auto& [path, kind] : w.changes) {
        for (auto slash = path.rfind('/'); slash != std::string::npos; slash = path.rfind('/', slash - 1)) {
            all.emplace(path.substr(0, slash), 'C');  // (an added parent stays added)
            if (slash == 0) break;
        }
    }
    std::vector<Change> out;
    out.reserve(all.size());
    for (const auto& [path, kind] : all) out.push_back(Change{kind, "/" + path});
    std::sort(out.begin(), out.end(), [](const Change& a, const Change& b) { return path_less(a.path, b.path); });
    return out;
}

}  // namespace hako::frontend
