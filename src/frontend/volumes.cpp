// Named volumes: create, list, inspect, remove (see volumes.hpp).
#include "frontend/volumes.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "common/strings.hpp"
#include "sys/syscalls.hpp"

namespace hako::frontend {
namespace {

using json = nlohmann::json;

Result<std::map<std::string, std::string>> key_values(const std::vector<std::string>& items, const char* flag) {
    std::map<std::string, std::string> out;
    for (const auto& kv : items) {
        auto eq = kv.find('=');
        if (eq == 0 || kv.empty()) return error(std::string(flag) + " `" + kv + "`: expected KEY=VALUE");
        out[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
    }
    return out;
}

}  // namespace

bool valid_volume_name(std::string_view n) {
    if (n.size() < 2 || !isalnum(static_cast<unsigned char>(n[0]))) return false;
    return n.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == std::string::npos;
}

json volume_json(const Volume& v) {
    return {{"Name", v.name},     {"Driver", v.driver},   {"Mountpoint", v.mountpoint}, {"CreatedAt", v.created},
            {"Labels", v.labels}, {"Options", v.options}, {"Scope", "local"},           {"Anonymous", v.anonymous}};
}

Result<Volume> Volumes::create(const std::string& name, const std::vector<std::string>& labels,
                               const std::vector<std::string>& opts, bool anonymous, bool exist_ok) {
    if (!valid_volume_name(name))
        return error("volume name `" + name + "`: must match [a-zA-Z0-9][a-zA-Z0-9_.-]+");
    Volume v;
    v.name = name;
    v.labels = HAKO_TRY(key_values(labels, "--label"));
    v.options = HAKO_TRY(key_values(opts, "--opt"));
    for (const auto& [k, val] : v.options)
        if (k != "type" && k != "device" && k != "o")
            return error("--opt `" + k + "`: unknown (type, device, o)");
    if (v.options.contains("type")) {
        const auto& t = v.options["type"];
        if (t != "tmpfs" && t != "none" && t != "bind")
            return error("--opt type=" + t + ": expected tmpfs, none (with o=bind,device=PATH) or bind");
        if (t != "tmpfs") {
            const auto& dev = v.options["device"];
            if (dev.empty() || dev[0] != '/') return error("--opt type=" + t + ": needs device=ABSOLUTE_PATH");
            if (!sys::path_exists(dev)) return error("--opt device=" + dev + ": no such directory on the host");
        }
    } else if (v.options.contains("device")) {
        return error("--opt device=: needs type=none (o=bind) or type=tmpfs");
    }
    v.anonymous = anonymous;
    v.created = now_rfc3339();
    std::string d = dir_ + "/" + name;
    v.mountpoint = d + "/_data";
    HAKO_TRY(sys::mkdir_all(dir_, 0700));
    if (::mkdir(d.c_str(), 0755) < 0) {
        if (errno == EEXIST) {
            if (exist_ok) return get(name);
            return error("volume `" + name + "` already exists");
        }
        return sys_error("create volume directory `" + d + "`");
    }
    if (::mkdir(v.mountpoint.c_str(), 0755) < 0 && errno != EEXIST) return sys_error("mkdir `" + v.mountpoint + "`");
    json j = volume_json(v);
    auto st = sys::write_file_atomic(AT_FDCWD, d + "/volume.json", j.dump());
    if (!st) {
        std::error_code ec;
        std::filesystem::remove_all(d, ec);
        return std::unexpected(st.error());
    }
    return v;
}

Result<Volume> Volumes::get(const std::string& name) const {
    if (!valid_volume_name(name)) return error("no such volume `" + name + "`");
    auto text = sys::read_file(dir_ + "/" + name + "/volume.json");
    if (!text) return error("no such volume `" + name + "`");
    auto j = json::parse(*text, nullptr, false);
    if (!j.is_object()) return error("volume `" + name + "`: corrupt volume.json");
    Volume v;
    v.name = name;
    v.driver = j.value("Driver", "local");
    v.created = j.value("CreatedAt", "");
    v.anonymous = j.value("Anonymous", false);
    v.mountpoint = dir_ + "/" + name + "/_data";
    if (j.contains("Labels") && j["Labels"].is_object()) v.labels = j["Labels"].get<std::map<std::string, std::string>>();
    if (j.contains("Options") && j["Options"].is_object()) v.options = j["Options"].get<std::map<std::string, std::string>>();
    return v;
}

Result<std::vector<Volume>> Volumes::list() const {
    std::vector<Volume> out;
    DIR* d = opendir(dir_.c_str());
    if (!d) return out;
    std::vector<std::string> names;
    while (dirent* e = readdir(d))
        if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& n : names)
        if (auto v = get(n)) out.push_back(std::move(*v));
    return out;
}

Status Volumes::remove(const std::string& name) {
    HAKO_TRY(get(name));
    std::string d = dir_ + "/" + name;
    // volume.json first: a remove cut short leaves no half-volume listed
    if (::unlink((d + "/volume.json").c_str()) < 0 && errno != ENOENT) return sys_error("remove volume `" + name + "`");
    std::error_code ec;
    std::filesystem::remove_all(d, ec);
    if (ec) return error("remove `" + d + "`: " + ec.message());
    return {};
}

Volumes::OciMount Volumes::oci_mount(const Volume& v) const {
    auto type = v.options.find("type");
    std::vector<std::string> opts;
    if (auto o = v.options.find("o"); o != v.options.end())
        for (auto p : split(o->second, ','))
            if (!p.empty() && p != "bind" && p != "rbind") opts.emplace_back(p);
    if (type != v.options.end() && type->second == "tmpfs") return {"tmpfs", "tmpfs", opts};
    std::string src = type != v.options.end() ? v.options.at("device") : v.mountpoint;
    opts.insert(opts.begin(), "rbind");
    return {"bind", src, opts};
}

bool Volumes::empty(const Volume& v) const {
    std::string src = oci_mount(v).source;
    DIR* d = opendir(src.c_str());
    if (!d) return true;
    bool none = true;
    while (dirent* e = readdir(d))
        if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..") {
            none = false;
            break;
        }
    closedir(d);
    return none;
}

uint64_t Volumes::size(const Volume& v) const {
    uint64_t total = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(v.mountpoint, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        struct stat st{};
        if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) total += static_cast<uint64_t>(st.st_blocks) * 512;
    }
    return total;
}

}  // namespace hako::frontend
