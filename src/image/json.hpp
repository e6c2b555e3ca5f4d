// Images as JSON: the store's own records, the image config's "config"
// object (docker's and OCI's alike), and what `hako inspect` / `hako
// images --format json` show (docker's keys).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "image/image.hpp"

namespace hako::image {

// obj[key] as strings (non-strings and a missing key: nothing).
std::vector<std::string> string_list(const nlohmann::json& obj, const char* key);

// {"Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts"}
nlohmann::json config_to_json(const Config& c);
Config config_from_json(const nlohmann::json& obj);

// The config's "history" array.
nlohmann::json history_to_json(const std::vector<History>& h);
std::vector<History> history_from_json(const nlohmann::json& a);

// docker's inspect shape: Id, RepoTags, Created, Size, RootFS, Config.
nlohmann::json inspect_json(const Image& img);

}  // namespace hako::image
