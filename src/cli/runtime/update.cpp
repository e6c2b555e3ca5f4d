// update [flags] ID, or update --resources FILE|- ID: new cgroup limits for a
// container, with runc's flags (memory sizes take units: 512m, 1g).
#include <unistd.h>

#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/runtime/commands.hpp"
#include "common/strings.hpp"
#include "sys/syscalls.hpp"

namespace hako::cli {
namespace {

Result<int64_t> parse_bytes(const std::string& flag, const std::string& s) {
    if (s == "-1") return -1;
    return parse_size(s, "--" + flag);
}

Result<int64_t> parse_int(const std::string& flag, const std::string& s, bool allow_negative) {
    size_t used = 0;
    int64_t v = 0;
    try {
        v = std::stoll(s, &used);
    } catch (...) {
        used = 0;
    }
    if (used != s.size() || s.empty() || (!allow_negative && v < 0))
        return error("--" + flag + ": invalid number \"" + s + "\"");
    return v;
}

struct Flags {
    std::string resources;
    std::map<std::string, std::string> values;  // flag -> value as given
};

// The flags as a linux.resources object (then parsed like config.json's).
Result<std::string> flags_to_json(const Flags& f) {
    nlohmann::json r = nlohmann::json::object();
    for (const auto& [flag, val] : f.values) {
        if (val.empty()) continue;
        if (flag == "memory" || flag == "memory-swap" || flag == "memory-reservation" ||
            flag == "kernel-memory" || flag == "kernel-memory-tcp") {
            static const std::map<std::string, std::string> key = {
                {"memory", "limit"}, {"memory-swap", "swap"}, {"memory-reservation", "reservation"},
                {"kernel-memory", "kernel"}, {"kernel-memory-tcp", "kernelTCP"}};
            r["memory"][key.at(flag)] = HAKO_TRY(parse_bytes(flag, val));
        } else if (flag == "cpu-share" || flag == "cpu-period" || flag == "cpu-rt-period") {
            static const std::map<std::string, std::string> key = {
                {"cpu-share", "shares"}, {"cpu-period", "period"}, {"cpu-rt-period", "realtimePeriod"}};
            r["cpu"][key.at(flag)] = static_cast<uint64_t>(HAKO_TRY(parse_int(flag, val, false)));
        } else if (flag == "cpu-quota" || flag == "cpu-rt-runtime") {
            r["cpu"][flag == "cpu-quota" ? "quota" : "realtimeRuntime"] = HAKO_TRY(parse_int(flag, val, true));
        } else if (flag == "cpuset-cpus" || flag == "cpuset-mems") {
            r["cpu"][flag == "cpuset-cpus" ? "cpus" : "mems"] = val;
        } else if (flag == "pids-limit") {
            r["pids"]["limit"] = HAKO_TRY(parse_int(flag, val, true));
        } else if (flag == "blkio-weight") {
            r["blockIO"]["weight"] = static_cast<uint64_t>(HAKO_TRY(parse_int(flag, val, false)));
        } else if (flag == "l3-cache-schema" || flag == "mem-bw-schema") {
            return error("--" + flag + ": Intel RDT is not supported");
        }
    }
    return r.dump();
}

Result<std::string> read_resources(const std::string& path) {
    if (path != "-") return HAKO_TRY_CTX(sys::read_file(path), "--resources");
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return text;
}

}  // namespace

void add_update(CLI::App& app, Globals& g, Action& action) {
    auto* sub = app.add_subcommand("update", "update a container's resource limits");
    auto id = std::make_shared<std::string>();
    auto f = std::make_shared<Flags>();
    sub->add_option("-r,--resources", f->resources,
                    "a linux.resources JSON file to apply, or - for standard input");
    static const char* const kFlags[][2] = {
        {"blkio-weight", "block IO weight, 10..1000"},
        {"cpu-period", "CPU CFS period (µs)"},
        {"cpu-quota", "CPU CFS quota (µs) per period, -1 for none"},
        {"cpu-share", "CPU shares (relative weight)"},
        {"cpu-rt-period", "CPU realtime period (µs)"},
        {"cpu-rt-runtime", "CPU realtime runtime (µs)"},
        {"cpuset-cpus", "CPUs to use (0-3, 0,1)"},
        {"cpuset-mems", "memory nodes to use"},
        {"kernel-memory", "kernel memory limit (ignored by current kernels)"},
        {"kernel-memory-tcp", "kernel TCP buffer memory limit"},
        {"memory", "memory limit (bytes, or with a unit: 512m), -1 for none"},
        {"memory-reservation", "memory soft limit"},
        {"memory-swap", "memory plus swap limit, -1 for none"},
        {"pids-limit", "maximum number of processes, -1 for none"},
        {"l3-cache-schema", "Intel RDT L3 cache schema (not supported)"},
        {"mem-bw-schema", "Intel RDT memory bandwidth schema (not supported)"},
    };
    for (const auto& [name, help] : kFlags) sub->add_option(std::string("--") + name, f->values[name], help);
    sub->add_option("--cpu-shares", f->values["cpu-share"], "same as --cpu-share");
    sub->add_option("id", *id, "container id")->required();
    sub->callback([&g, &action, id, f] {
        action = [&g, id, f] {
            auto text = f->resources.empty() ? flags_to_json(*f) : read_resources(f->resources);
            if (!text) return fail(text.error());
            auto res = oci::parse_resources(*text, f->resources.empty() ? "update" : "--resources");
            if (!res) return fail(res.error());
            auto r = runtime::update(g.store(), *id, *res);
            return r ? 0 : fail(r.error());
        };
    });
}

}  // namespace hako::cli
