// A loop's iterations on a few threads: for loops of many small, independent
// file reads (listing 1,000 containers reads a few files apiece).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <system_error>
#include <thread>
#include <vector>

namespace hako {

// fn(i) for every i in [0, n): on up to 4 threads (one per CPU, this one
// included) once n reaches `at_least`, else all here. The threads take the
// next 8 indices as they go, so one slowed down (a cold cache, a preempted
// CPU) does not hold the rest up. A thread that cannot be made (a pids
// limit) leaves it to the others. fn must not throw, and must only touch
// what iteration i owns.
template <class F>
void parallel_for(std::size_t n, F&& fn, std::size_t at_least = 64) {
    unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
    if (n < at_least || threads < 2) {
        for (std::size_t i = 0; i < n; ++i) fn(i);
        return;
    }
    constexpr std::size_t kGrain = 8;
    std::atomic<std::size_t> next{0};
    auto work = [&fn, &next, n] {
        for (std::size_t from; (from = next.fetch_add(kGrain, std::memory_order_relaxed)) < n;)
            for (std::size_t i = from, to = std::min(n, from + kGrain); i < to; ++i) fn(i);
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) {
        try {
            pool.emplace_back(work);
        } catch (const std::system_error&) {
            break;
        }
    }
    work();
    for (auto& t : pool) t.join();
}

}  // namespace hako
