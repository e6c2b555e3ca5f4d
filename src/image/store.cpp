#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "image/export.hpp"
#include "image/image.hpp"
#include "image/json.hpp"
#include "image/layer.hpp"
#include "common/fault.hpp"
#include "common/strings.hpp"
#include "registry/reference.hpp"
#include <sys/file.h>
#include "sys/syscalls.hpp"

namespace hako::image {
namespace {

using json = nlohmann::json;

json to_json(const Image& img) {
    json j{{"id", img.id},           {"names", img.names}, {"layers", img.layers},
           {"created", img.created}, {"size", img.size},   {"config", config_to_json(img.config)}};
    if (!img.repo_digests.empty()) j["repoDigests"] = img.repo_digests;
    if (!img.layer_sizes.empty()) j["layerSizes"] = img.layer_sizes;
    if (!img.blobs.empty()) {
        json b = json::array();
        for (const auto& r : img.blobs)
            b.push_back({{"digest", r.digest}, {"size", r.size}, {"mediaType", r.media_type}, {"source", r.source}});
        j["blobs"] = b;
    }
    for (auto [k, v] : {std::pair{"architecture", &img.architecture}, {"os", &img.os}, {"variant", &img.variant},
                        {"configDigest", &img.config_digest}, {"manifestDigest", &img.manifest_digest},
                        {"manifestMediaType", &img.manifest_media_type}})
        if (!v->empty()) j[k] = *v;
    if (!img.history.empty()) j["history"] = history_to_json(img.history);
    if (img.intermediate) j["intermediate"] = true;
    return j;
}

Result<Image> from_json(const std::string& text, const std::string& path) {
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return error("`" + path + "`: corrupt image record");
    Image img;
    img.id = j.value("id", "");
    img.names = string_list(j, "names");
    img.layers = string_list(j, "layers");
    img.created = j.value("created", "");
    img.size = j.value("size", uint64_t{0});
    if (j.contains("config")) img.config = config_from_json(j["config"]);
    img.repo_digests = string_list(j, "repoDigests");
    if (j.contains("layerSizes") && j["layerSizes"].is_array())
        for (const auto& v : j["layerSizes"])
            if (v.is_number_unsigned()) img.layer_sizes.push_back(v.get<uint64_t>());
    if (j.contains("blobs") && j["blobs"].is_array())
        for (const auto& b : j["blobs"])
            if (b.is_object())
                img.blobs.push_back({b.value("digest", ""), b.value("size", int64_t{0}), b.value("mediaType", ""),
                                     b.value("source", "")});
    img.architecture = j.value("architecture", "");
    img.os = j.value("os", "");
    img.variant = j.value("variant", "");
    img.config_digest = j.value("configDigest", "");
    img.manifest_digest = j.value("manifestDigest", "");
    img.manifest_media_type = j.value("manifestMediaType", "");
    if (j.contains("history")) img.history = history_from_json(j["history"]);
    img.intermediate = j.value("intermediate", false);
    return img;
}

bool pid_alive(pid_t pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

}  // namespace

json history_to_json(const std::vector<History>& h) {
    json a = json::array();
    for (const auto& e : h) {
        json j = json::object();
        if (!e.created.empty()) j["created"] = e.created;
        if (!e.created_by.empty()) j["created_by"] = e.created_by;
        if (!e.comment.empty()) j["comment"] = e.comment;
        if (e.empty_layer) j["empty_layer"] = true;
        a.push_back(j);
    }
    return a;
}

std::vector<History> history_from_json(const json& a) {
    std::vector<History> out;
    if (!a.is_array()) return out;
    for (const auto& j : a) {
        if (!j.is_object()) continue;
        History e;
        auto str = [&j](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string(); };
        e.created = str("created");
        e.created_by = str("created_by");
        e.comment = str("comment");
        e.empty_layer = j.contains("empty_layer") && j["empty_layer"].is_boolean() && j["empty_layer"].get<bool>();
        out.push_back(std::move(e));
    }
    return out;
}

std::vector<std::string> string_list(const json& obj, const char* key) {
    std::vector<std::string> out;
    if (obj.is_object() && obj.contains(key) && obj[key].is_array())
        for (const auto& v : obj[key])
            if (v.is_string()) out.push_back(v.get<std::string>());
    return out;
}

json config_to_json(const Config& c) {
    json j{{"Env", c.env}, {"Cmd", c.cmd}, {"Entrypoint", c.entrypoint}, {"WorkingDir", c.working_dir},
           {"User", c.user}};
    if (!c.exposed_ports.empty()) {
        json ports = json::object();
        for (const auto& p : c.exposed_ports) ports[p] = json::object();
        j["ExposedPorts"] = ports;
    }
    if (!c.volumes.empty()) {
        json vols = json::object();
        for (const auto& v : c.volumes) vols[v] = json::object();
        j["Volumes"] = vols;
    }
    if (!c.labels.empty()) j["Labels"] = c.labels;
    if (!c.stop_signal.empty()) j["StopSignal"] = c.stop_signal;
    if (!c.shell.empty()) j["Shell"] = c.shell;
    if (!c.onbuild.empty()) j["OnBuild"] = c.onbuild;
    if (c.healthcheck) {
        const auto& h = *c.healthcheck;
        json hj{{"Test", h.test}};
        if (h.interval) hj["Interval"] = h.interval;
        if (h.timeout) hj["Timeout"] = h.timeout;
        if (h.start_period) hj["StartPeriod"] = h.start_period;
        if (h.retries) hj["Retries"] = h.retries;
        j["Healthcheck"] = hj;
    }
    return j;
}

Config config_from_json(const json& obj) {
    Config c;
    if (!obj.is_object()) return c;
    c.env = string_list(obj, "Env");
    c.cmd = string_list(obj, "Cmd");
    c.entrypoint = string_list(obj, "Entrypoint");
    if (obj.contains("ExposedPorts") && obj["ExposedPorts"].is_object())
        for (const auto& [port, _] : obj["ExposedPorts"].items()) c.exposed_ports.push_back(port);
    if (obj.contains("Volumes") && obj["Volumes"].is_object())
        for (const auto& [v, _] : obj["Volumes"].items()) c.volumes.push_back(v);
    if (obj.contains("Labels") && obj["Labels"].is_object())
        for (const auto& [k, v] : obj["Labels"].items())
            if (v.is_string()) c.labels[k] = v.get<std::string>();
    if (obj.contains("StopSignal") && obj["StopSignal"].is_string()) c.stop_signal = obj["StopSignal"];
    if (obj.contains("Healthcheck") && obj["Healthcheck"].is_object()) {
        const auto& hj = obj["Healthcheck"];
        Healthcheck h;
        h.test = string_list(hj, "Test");
        auto num = [&hj](const char* k) -> int64_t {
            return hj.contains(k) && hj[k].is_number_integer() ? hj[k].get<int64_t>() : 0;
        };
        h.interval = num("Interval");
        h.timeout = num("Timeout");
        h.start_period = num("StartPeriod");
        h.retries = static_cast<int>(num("Retries"));
        c.healthcheck = h;
    }
    c.shell = string_list(obj, "Shell");
    c.onbuild = string_list(obj, "OnBuild");
    if (obj.contains("WorkingDir") && obj["WorkingDir"].is_string()) c.working_dir = obj["WorkingDir"];
    if (obj.contains("User") && obj["User"].is_string()) c.user = obj["User"];
    return c;
}

json inspect_json(const Image& img) {
    json tags = json::array(), digests = json::array(), layers = json::array();
    for (const auto& n : img.names) tags.push_back(display_name(n));
    for (const auto& d : img.repo_digests) digests.push_back(display_name(d));
    for (const auto& l : img.layers) layers.push_back("sha256:" + l);
    return {{"Id", "sha256:" + img.id},
            {"RepoTags", tags},
            {"RepoDigests", digests},
            {"Created", img.created},
            {"Size", img.size},
            {"Architecture", img.architecture.empty() ? "amd64" : img.architecture},
            {"Os", img.os.empty() ? "linux" : img.os},
            {"RootFS", {{"Type", "layers"}, {"Layers", layers}}},
            {"Config", config_to_json(img.config)}};
}

std::string normalize_name(const std::string& name) {
    auto r = registry::parse_reference(name);
    return r ? r->str() : name;
}

std::string display_name(const std::string& canonical) { return registry::familiar(canonical); }

Store::Store(std::string root) : root_(std::move(root)) {}

Result<Store::Lease> Store::lease(bool exclusive) const {
    std::lock_guard lock(lock_mu_);
    const std::string path = root_ + "/store.lock";
    if (!lock_fd_) {
        HAKO_TRY(sys::mkdir_all(root_, 0700));
        lock_fd_ = HAKO_TRY(sys::lock_file(path, exclusive ? LOCK_EX : LOCK_SH));
    } else if (exclusive && exclusive_ == 0) {
        HAKO_TRY(sys::flock_wait(lock_fd_.get(), LOCK_EX, path));  // (held shared: converted)
    }
    ++(exclusive ? exclusive_ : shared_);
    return Lease(this, exclusive);
}

void Store::Lease::release() {
    if (!s_) return;
    std::lock_guard lock(s_->lock_mu_);
    --(exclusive_ ? s_->exclusive_ : s_->shared_);
    if (s_->exclusive_ == 0 && s_->shared_ == 0) s_->lock_fd_.reset();  // (closing unlocks)
    else if (exclusive_ && s_->exclusive_ == 0) flock(s_->lock_fd_.get(), LOCK_SH);
    s_ = nullptr;
}

std::string Store::layer_dir(const std::string& digest) const { return root_ + "/layers/" + digest; }

// A `.tmp-<pid>-…` whose pid is gone is a killed import's.
void Store::clean_stale_tmp() const {
    DIR* d = opendir((root_ + "/layers").c_str());
    if (!d) return;
    std::vector<std::string> stale;
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n.rfind(".tmp-", 0) != 0) continue;
        if (!pid_alive(atoi(n.c_str() + 5))) stale.push_back(root_ + "/layers/" + n);
    }
    closedir(d);
    for (const auto& p : stale) {
        std::error_code ec;
        std::filesystem::remove_all(p, ec);
    }
}

Result<std::string> Store::scratch_dir() const {
    HAKO_TRY(sys::mkdir_all(root_ + "/layers", 0700));
    HAKO_TRY(sys::mkdir_all(root_ + "/images", 0700));
    clean_stale_tmp();
    std::string tmp = root_ + "/layers/.tmp-" + std::to_string(getpid()) + "-XXXXXX";
    if (!mkdtemp(tmp.data())) return sys_error("mkdtemp in `" + root_ + "/layers`");
    chmod(tmp.c_str(), 0755);
    return tmp;
}

Status Store::commit_layer(const std::string& tmp, const std::string& digest) const {
    std::error_code ec;
    if (!sys::path_exists(layer_dir(digest)) && rename(tmp.c_str(), layer_dir(digest).c_str()) < 0 &&
        errno != EEXIST && errno != ENOTEMPTY) {
        int e = errno;
        std::filesystem::remove_all(tmp, ec);
        return sys_error("store layer " + digest, e);
    }
    std::filesystem::remove_all(tmp, ec);  // (the layer was there already: shared; or renamed: gone)
    return {};
}

Result<Store::Adopted> Store::adopt_layer(const std::string& dir) {
    DIR* d = opendir(dir.c_str());
    if (!d) return sys_error("open the layer dir `" + dir + "`");
    bool empty = true;
    while (dirent* e = readdir(d))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            empty = false;
            break;
        }
    closedir(d);
    std::error_code ec;
    if (empty) {
        std::filesystem::remove_all(dir, ec);
        return Adopted{};
    }
    UniqueFd null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    if (!null) return sys_error("open /dev/null");
    auto ex = export_layer(dir, null.get(), Compression::None);
    if (!ex) {
        std::filesystem::remove_all(dir, ec);
        return std::unexpected(std::move(ex).error());
    }
    auto held = HAKO_TRY(share());
    HAKO_TRY(sys::mkdir_all(root_ + "/layers", 0700));
    chmod(dir.c_str(), 0755);
    HAKO_TRY(commit_layer(dir, ex->diff_id));
    fault_point("store:layer");
    std::lock_guard lock(mu_);
    sizes_[ex->diff_id] = ex->size;
    return Adopted{ex->diff_id, ex->size};
}

std::vector<History> Store::history(const Image& img) const {
    if (!img.history.empty()) return img.history;
    if (!img.config_digest.empty())
        if (auto c = get_blob(img.config_digest)) {
            auto j = json::parse(*c, nullptr, false);
            if (j.is_object() && j.contains("history")) {
                auto h = history_from_json(j["history"]);
                if (!h.empty()) return h;
            }
        }
    std::vector<History> out;
    for (size_t i = 0; i < img.layers.size(); ++i) out.push_back({img.created, "", "", false});
    return out;
}

Result<std::string> Store::add_layer(int fd, const Progress& progress, const Expect& expect) {
    auto held = HAKO_TRY(share());
    std::string tmp = HAKO_TRY(scratch_dir());
    std::string blob_got;
    auto unpacked = unpack_layer(fd, tmp, progress, expect.blob.empty() ? nullptr : &blob_got);
    auto verify = [&](const std::string& want, const std::string& got, const char* what) -> Status {
        if (want.empty() || want == got) return {};
        return error(std::string("sha256 mismatch (") + what + "): expected " + want + ", got " + got);
    };
    Status ok = unpacked               ? verify(expect.blob, unpacked->blob_digest, "blob")
                : blob_got != expect.blob ? verify(expect.blob, blob_got, "blob")  // (the cause of a bad stream)
                                          : Status(std::unexpected(unpacked.error()));
    if (ok) ok = verify(expect.diff, unpacked->digest, "diff id");
    if (!ok) {
        std::error_code ec;
        std::filesystem::remove_all(tmp, ec);
        return std::unexpected(std::move(ok).error());
    }
    fault_point("store:unpacked");
    HAKO_TRY(commit_layer(tmp, unpacked->digest));
    fault_point("store:layer");
    // (its size rides along in the name map of the image that adds it)
    std::lock_guard lock(mu_);
    sizes_[unpacked->digest] = unpacked->size;
    return unpacked->digest;
}

Status Store::save(Image& img, bool keep_names) {
    auto held = HAKO_TRY(share());
    if (img.created.empty()) img.created = now_rfc3339();
    json cfg = to_json(img)["config"];
    json key{{"config", cfg}, {"layers", img.layers}};
    img.id = img.config_digest.rfind("sha256:", 0) == 0 ? img.config_digest.substr(7) : sha256_hex(key.dump());
    // A name belongs to one image: take it from any other. (A nameless
    // image, a build step's, takes none: only its own old record counts.)
    // (one saver at a time moves names: two tagging at once both see the
    // name free otherwise)
    HAKO_TRY(sys::mkdir_all(root_ + "/images", 0700));
    auto names_lock = HAKO_TRY(sys::lock_file(root_ + "/images/.names.lock", LOCK_EX));
    std::vector<Image> all;
    if (!img.names.empty()) {
        all = HAKO_TRY(list());
    } else if (auto old = by_id(img.id)) {
        all.push_back(std::move(*old));
    }
    for (auto& other : all) {
        if (other.id == img.id) {
            if (!other.intermediate) img.intermediate = false;  // (a build's last step is a named image too)
            if (!keep_names) continue;
            for (const auto& n : other.names)
                if (std::find(img.names.begin(), img.names.end(), n) == img.names.end()) img.names.push_back(n);
            for (const auto& d : other.repo_digests)
                if (std::find(img.repo_digests.begin(), img.repo_digests.end(), d) == img.repo_digests.end())
                    img.repo_digests.push_back(d);
            continue;
        }
        size_t before = other.names.size();
        std::erase_if(other.names, [&](const std::string& n) {
            return std::find(img.names.begin(), img.names.end(), n) != img.names.end();
        });
        if (other.names.size() != before)
            HAKO_TRY(sys::write_file_atomic(AT_FDCWD, root_ + "/images/" + other.id + ".json", to_json(other).dump()));
    }
    fault_point("store:names");
    HAKO_TRY(sys::write_file_atomic(AT_FDCWD, root_ + "/images/" + img.id + ".json", to_json(img).dump()));
    fault_point("store:saved");
    return {};
}

Result<Image> Store::import_tarball(int fd, const std::string& name, const Progress& progress) {
    auto held = HAKO_TRY(share());
    std::string digest = HAKO_TRY(add_layer(fd, progress));
    Image img;
    img.layers = {digest};
    img.size = added_size(digest);
    img.layer_sizes = {img.size};
    img.config.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    if (!name.empty()) img.names = {HAKO_TRY(registry::parse_reference(name)).str()};
    HAKO_TRY(save(img));
    return img;
}

Result<std::vector<Image>> Store::list() const {
    std::vector<Image> out;
    std::string dir = root_ + "/images";
    DIR* d = opendir(dir.c_str());
    if (!d) {
        if (errno == ENOENT) return out;
        return sys_error("list `" + dir + "`");
    }
    std::vector<std::string> files;
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n.size() > 5 && n.ends_with(".json") && n[0] != '.') files.push_back(n);
    }
    closedir(d);
    for (const auto& f : files) {
        auto text = sys::read_file(dir + "/" + f);
        if (!text) continue;  // removed meanwhile
        auto img = from_json(*text, dir + "/" + f);
        if (img) out.push_back(std::move(*img));
    }
    std::sort(out.begin(), out.end(), [](const Image& a, const Image& b) { return a.created > b.created; });
    return out;
}

Result<Image> Store::by_id(const std::string& id) const {
    std::string path = root_ + "/images/" + id + ".json";
    auto text = sys::read_file(path);
    if (!text) return error("no such image `" + id + "`");
    return from_json(*text, path);
}

Result<Image> Store::find(const std::string& ref) const {
    {
        std::string id = ref.rfind("sha256:", 0) == 0 ? ref.substr(7) : ref;
        if (id.size() == 64 && id.find_first_not_of("0123456789abcdef") == std::string::npos)
            if (auto img = by_id(id)) return img;
    }
    auto all = HAKO_TRY(list());
    std::string full = normalize_name(ref);
    for (const auto& img : all)
        for (const auto& n : img.names)
            if (n == full || n == ref || normalize_name(n) == full) return img;
    if (auto r = registry::parse_reference(ref, false); r && !r->digest.empty())
        for (const auto& img : all)
            for (const auto& d : img.repo_digests)
                if (d == r->name() + "@" + r->digest) return img;
    std::string id = ref.rfind("sha256:", 0) == 0 ? ref.substr(7) : ref;
    const Image* match = nullptr;
    if (id.size() >= 4)
        for (const auto& img : all)
            if (img.id.rfind(id, 0) == 0) {
                if (match) return error("image id prefix `" + ref + "` is ambiguous");
                match = &img;
            }
    if (match) return *match;
    return error("no such image `" + ref + "` (hako images lists them; hako import / hako load add them)");
}

Status Store::prune_layers() {
    auto held = HAKO_TRY(exclusive());
    clean_stale_tmp();
    auto all = HAKO_TRY(list());
    std::vector<std::string> used;
    for (const auto& img : all) used.insert(used.end(), img.layers.begin(), img.layers.end());
    DIR* d = opendir((root_ + "/layers").c_str());
    if (!d) return {};
    std::vector<std::string> unused;
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n[0] == '.') continue;
        if (std::find(used.begin(), used.end(), n) == used.end()) unused.push_back(n);
    }
    closedir(d);
    for (const auto& n : unused) {
        // Out of its place first (one rename), then deleted: killed half-way,
        // a removal leaves a dead pid's .tmp- (collected), never a half layer
        // that a pull would take for the whole one.
        std::string gone = root_ + "/layers/.tmp-" + std::to_string(getpid()) + "-gone-" + n;
        std::error_code ec;
        if (rename(layer_dir(n).c_str(), gone.c_str()) < 0) gone = layer_dir(n);
        fault_point("rmi:pruning");
        std::filesystem::remove_all(gone, ec);
        std::filesystem::remove(root_ + "/layers/.locks/" + n, ec);
    }
    // Configs and manifests no image points at.
    std::vector<std::string> blobs_used;
    for (const auto& img : all)
        for (const auto* dg : {&img.config_digest, &img.manifest_digest})
            if (dg->size() == 71) blobs_used.push_back(dg->substr(7));
    if (DIR* b = opendir((root_ + "/blobs/sha256").c_str())) {
        std::vector<std::string> gone;
        while (dirent* e = readdir(b)) {
            std::string n = e->d_name;
            if (n[0] != '.' && std::find(blobs_used.begin(), blobs_used.end(), n) == blobs_used.end()) gone.push_back(n);
        }
        closedir(b);
        for (const auto& n : gone) unlink((root_ + "/blobs/sha256/" + n).c_str());
    }
    return {};
}

Status Store::put_blob(const std::string& digest, std::string_view content) const {
    if (digest.rfind("sha256:", 0) != 0 || digest.size() != 71) return error("blob `" + digest + "`: not a sha256 digest");
    auto held = HAKO_TRY(share());
    HAKO_TRY(sys::mkdir_all(root_ + "/blobs/sha256", 0700));
    return sys::write_file_atomic(AT_FDCWD, root_ + "/blobs/sha256/" + digest.substr(7), content);
}

Result<std::string> Store::get_blob(const std::string& digest) const {
    if (digest.rfind("sha256:", 0) != 0 || digest.size() != 71) return error("blob `" + digest + "`: not a sha256 digest");
    return sys::read_file(root_ + "/blobs/sha256/" + digest.substr(7));
}

bool Store::has_layer(const std::string& diff) const { return sys::path_exists(layer_dir(diff)); }

Result<UniqueFd> Store::temp_file() const {
    std::string dir = root_ + "/layers";
    HAKO_TRY(sys::mkdir_all(dir, 0700));
    UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!fd) return sys_error("temporary file in `" + dir + "`");
    return fd;
}

Result<UniqueFd> Store::lock_layer(const std::string& diff) const {
    HAKO_TRY(sys::mkdir_all(root_ + "/layers/.locks", 0700));
    return sys::lock_file(root_ + "/layers/.locks/" + diff, LOCK_EX);
}

uint64_t Store::known_layer_size(const std::string& diff) const {
    if (uint64_t s = added_size(diff)) return s;
    auto all = list();
    if (!all) return 0;
    for (const auto& img : *all)
        for (size_t i = 0; i < img.layers.size() && i < img.layer_sizes.size(); ++i)
            if (img.layers[i] == diff) return img.layer_sizes[i];
    return 0;
}

Status Store::remove(const Image& img) {
    auto held = HAKO_TRY(exclusive());
    std::string path = root_ + "/images/" + img.id + ".json";
    if (unlink(path.c_str()) < 0 && errno != ENOENT) return sys_error("remove `" + path + "`");
    fault_point("rmi:unlinked");
    return prune_layers();
}

}  // namespace hako::image
