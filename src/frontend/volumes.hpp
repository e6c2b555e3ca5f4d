// Named volumes (docker's `local` driver): <root>/volumes/NAME/volume.json
// and its data in <root>/volumes/NAME/_data (or a tmpfs or a host path,
// as --opt type=tmpfs|none,o=bind,device=... say).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace hako::frontend {

struct Volume {
    std::string name, driver = "local", created;
    std::map<std::string, std::string> labels, options;  // --label, --opt
    bool anonymous = false;
    std::string mountpoint;  // <root>/volumes/NAME/_data
};

class Volumes {
public:
    explicit Volumes(std::string root) : dir_(std::move(root) + "/volumes") {}
    // create: `exist_ok` (-v NAME on a volume that exists) returns it.
    Result<Volume> create(const std::string& name, const std::vector<std::string>& labels,
                          const std::vector<std::string>& opts, bool anonymous = false, bool exist_ok = false);
    Result<Volume> get(const std::string& name) const;
    Result<std::vector<Volume>> list() const;
    Status remove(const std::string& name);
    // How a container mounts it: {type, source, options} for the OCI mount.
    struct OciMount {
        std::string type, source;
        std::vector<std::string> options;
    };
    [[nodiscard]] OciMount oci_mount(const Volume& v) const;
    // Whether its data is empty (a new volume is filled from the image).
    [[nodiscard]] bool empty(const Volume& v) const;
    // Bytes used by its data (system df).
    [[nodiscard]] uint64_t size(const Volume& v) const;

private:
    std::string dir_;
};

nlohmann::json volume_json(const Volume& v);
// docker's volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]+
bool valid_volume_name(std::string_view n);

}  // namespace hako::frontend
