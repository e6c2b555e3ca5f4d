#include <fcntl.h>
#include <unistd.h>

#include "cli/runtime/commands.hpp"
#include "oci/spec.hpp"

namespace hako::cli {

void add_spec(CLI::App& app, Globals&, Action& action) {
    auto* sub = app.add_subcommand("spec", "write a default config.json into the bundle");
    auto bundle = std::make_shared<std::string>(".");
    auto rootless = std::make_shared<bool>(false);
    sub->add_option("-b,--bundle", *bundle, "where to write config.json");
    sub->add_flag("--rootless", *rootless, "a config for a rootless container");
    sub->callback([&action, bundle, rootless] {
        action = [bundle, rootless] {
            std::string path = *bundle + "/config.json";
            int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (fd < 0) {
                if (errno == EEXIST) return fail(Error{0, "`" + path + "` already exists"});
                return fail(Error{errno, "write `" + path + "`"});
            }
            std::string text = oci::default_spec_json(*rootless);
            bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
            ::close(fd);
            if (!ok) return fail(Error{errno, "write `" + path + "`"});
            return 0;
        };
    });
}

}  // namespace hako::cli
