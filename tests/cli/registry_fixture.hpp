// The registry tests' fixture: the hako fixture (a network namespace of the
// test's own, so every registry listens on a loopback nobody else sees) plus
// real registries (Debian's docker-registry, distribution 2.8, in plain,
// TLS, htpasswd and token modes: tests/registry/start-registry.sh), a
// scripted mock registry for faults (tests/registry/mock_registry.py), OCI
// layouts made from the busybox fixture (make-layouts.py), and skopeo as
// the reference client. registries.conf, the auth file and docker's config
// are the test's own (empty) ones.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hako_fixture.hpp"

namespace hako::test {

class RegistryTest : public Hako {
protected:
    void SetUp() override;
    void TearDown() override;
    // The layouts (built once per process) and their summary.
    static const std::string& layouts();
    static const json& summary();
    // Start a registry (plain|tls|tls-htpasswd|token) on 127.0.0.1:port; its directory.
    std::string start_registry(const std::string& mode, int port);
    // A cert dir trusting `reg_dir`'s CA for 127.0.0.1:port (and port+1: a token server).
    std::string cert_dir(const std::string& reg_dir, int port);
    // skopeo copy --preserve-digests oci:LAYOUT:latest docker://dest, with extra flags.
    void seed(const std::string& layout, const std::string& dest, std::vector<std::string> flags);
    // The mock on 127.0.0.1:port serving `layout` as `repo`; its JSON-lines log's path.
    std::string start_mock(int port, const std::string& layout, const std::string& repo, const std::string& faults);
    std::vector<json> log_of(const std::string& path);
    std::string conf_path() const { return etc / "registries.conf"; }
    std::string auth_path() const { return etc / "auth.json"; }

private:
    std::vector<std::string> registries_;
    std::vector<std::unique_ptr<Child>> mocks_;
};

}  // namespace hako::test
