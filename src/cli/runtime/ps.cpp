// ps [--format table|json] ID [PS_ARGS...]: the container's processes. json
// prints the pids; table runs ps(1) (default `-ef`) and keeps the header and
// the rows of the container's pids, as runc does.
#include <stdio.h>
#include <sys/wait.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/runtime/commands.hpp"
#include "common/strings.hpp"

namespace hako::cli {
namespace {

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

Result<std::string> run_ps(const std::vector<std::string>& args) {
    std::string cmd = "ps";
    for (const auto& a : args) cmd += " " + shell_quote(a);
    FILE* f = popen(cmd.c_str(), "r");
    if (!f) return sys_error("run `" + cmd + "`");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    int status = pclose(f);
    if (status != 0) return error("`" + cmd + "` failed (status " + std::to_string(WEXITSTATUS(status)) + ")");
    return out;
}

int print_table(const std::vector<pid_t>& pids, std::vector<std::string> args) {
    if (args.empty()) args = {"-ef"};
    auto out = run_ps(args);
    if (!out) return fail(out.error());
    std::istringstream in(*out);
    std::string header;
    std::getline(in, header);
    auto cols = split(header, ' ');
    auto it = std::find(cols.begin(), cols.end(), "PID");
    if (it == cols.end()) return fail(Error{0, "ps: no PID column in `" + header + "`"});
    size_t col = static_cast<size_t>(it - cols.begin());
    std::cout << header << "\n";
    for (std::string line; std::getline(in, line);) {
        auto fields = split(line, ' ');
        if (fields.size() <= col) continue;
        pid_t p = atoi(std::string(fields[col]).c_str());
        if (std::find(pids.begin(), pids.end(), p) != pids.end()) std::cout << line << "\n";
    }
    return 0;
}

}  // namespace

void add_ps(CLI::App& app, Globals& g, Action& action) {
    auto* sub = app.add_subcommand("ps", "list the processes of a container");
    auto format = std::make_shared<std::string>("table");
    sub->add_option("-f,--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
    auto id = std::make_shared<std::string>();
    sub->add_option("id", *id, "container id")->required();
    sub->prefix_command();  // what follows the id is ps's (`ps ID -ef`)
    sub->callback([&g, &action, sub, format, id] {
        action = [&g, sub, format, id] {
            std::vector<std::string> rest = sub->remaining();
            const std::string& name = *id;
            if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
            auto pids = runtime::pids(g.store(), name);
            if (!pids) return fail(pids.error());
            std::sort(pids->begin(), pids->end());
            if (*format == "json") {
                std::cout << nlohmann::json(*pids).dump() << "\n";
                return 0;
            }
            return print_table(*pids, rest);
        };
    });
}

}  // namespace hako::cli
