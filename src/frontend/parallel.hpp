// Jobs 0..n-1 on up to `max_parallel` threads (the caller's among them):
// the first failure stops the rest (each job may poll `stop`) and is what
// is returned, with `name(i)` as its context; cancellations it causes are not.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"

namespace hako::frontend {

inline Status run_parallel(size_t n, int max_parallel, const std::function<Status(size_t i, const std::atomic<bool>& stop)>& job,
                           const std::function<std::string(size_t i)>& name) {
    std::atomic<size_t> next{0};
    std::atomic<bool> stop{false};
    std::optional<Error> first;
    std::mutex mu;
    auto worker = [&] {
        for (size_t i; !stop.load() && (i = next++) < n;) {
            auto st = job(i, stop);
            if (st) continue;
            std::lock_guard lock(mu);
            if (!first) first = std::move(st).error().context(name(i));
            stop = true;
        }
    };
    std::vector<std::thread> pool;
    size_t threads = std::min<size_t>(n, static_cast<size_t>(std::max(1, max_parallel)));
    for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    if (first) return std::unexpected(std::move(*first));
    return {};
}

}  // namespace hako::frontend
