// SCMP_ACT_NOTIFY: the seccomp listener goes to the agent (runtime spec,
// "seccomp" / listenerPath), with the state of the container and process.
#include <nlohmann/json.hpp>

#include "runtime/container.hpp"
#include "sys/socket.hpp"

namespace hako::runtime {

Status send_seccomp_listener(const oci::Seccomp& seccomp, pid_t pid, const std::string& state_json,
                             int listener) {
    nlohmann::ordered_json j;
    auto state = nlohmann::ordered_json::parse(state_json);
    j["ociVersion"] = state.value("ociVersion", "1.0.2");
    j["fds"] = {"seccompFd"};
    j["pid"] = pid;
    if (!seccomp.listener_metadata.empty()) j["metadata"] = seccomp.listener_metadata;
    j["state"] = std::move(state);
    const std::string field = "linux.seccomp.listenerPath `" + seccomp.listener_path + "`";
    auto sock = HAKO_TRY_CTX(sys::connect_unix(seccomp.listener_path), field + ": failed to connect with seccomp agent");
    HAKO_TRY_CTX(sys::send_fd(sock.get(), listener, j.dump()), field);
    return {};
}

}  // namespace hako::runtime
