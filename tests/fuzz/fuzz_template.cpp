// Fuzz: Go templates (format/template): parse the input, render it over a docker-like sample, as a table too.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "format/template.hpp"

namespace {

const nlohmann::json& sample() {
    static const nlohmann::json d = nlohmann::json::parse(R"({
      "Id": "4f9a3c2b1d0e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a",
      "Name": "/web", "Image": "busybox:latest", "Args": ["-c", "echo hi"],
      "State": {"Status": "running", "Running": true, "Paused": false, "Pid": 4242, "ExitCode": 0,
                "StartedAt": "2026-01-02T03:04:05.000000006Z", "Health": null},
      "Config": {"User": "", "Env": ["PATH=/bin", "HOME=/root"], "Cmd": ["sh"],
                 "Labels": {"com.example.app": "web", "tier": "front"}, "StopTimeout": 10.5},
      "Mounts": [{"Type": "bind", "Source": "/srv", "Destination": "/data", "RW": true},
                 {"Type": "volume", "Source": "/var/lib/v", "Destination": "/v", "RW": false}],
      "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "10.88.0.2", "Gateway": "10.88.0.1"}}},
      "Sizes": [0, -1, 18446744073709551615, 1.5e300, 0.001], "Nested": [[[["deep"]]], {"a": {"b": null}}]
    })");
    return d;
}

const std::vector<nlohmann::json>& rows() {
    static const std::vector<nlohmann::json> r = {
        {{"ID", "4f9a3c2b1d0e"}, {"Image", "busybox"}, {"Names", "web"}, {"Ports", nlohmann::json::array()}},
        {{"ID", "0b9c8d7e6f5a"}, {"Image", "alpine:3"}, {"Names", "db"}, {"Ports", {"80/tcp"}}},
    };
    return r;
}

const nlohmann::json& headers() {
    static const nlohmann::json h = {{"ID", "CONTAINER ID"}, {"Image", "IMAGE"}, {"Names", "NAMES"}, {"Ports", "PORTS"}};
    return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto t = hako::format::Template::parse(text);
    if (!t) {
        if (t.error().msg.empty()) __builtin_trap();  // (an error says what)
        return 0;
    }
    auto r = t->render(sample());
    if (!r && r.error().msg.empty()) __builtin_trap();
    if (r && r->size() > (std::size_t{64} << 20)) __builtin_trap();  // (the output limit)
    (void)t->render_header(headers());
    (void)hako::format::render_list(text, rows(), headers());
    return 0;
}
