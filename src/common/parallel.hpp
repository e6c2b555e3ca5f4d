// A loop's iterations on a few threads: for loops of many small, independent
// file reads (listing 1,000 containers reads a few files apiece).
#pragma once

#include <algorithm>
#include <cstddef>
#include <system_error>
#include <thread>
#include <vector>

namespace hako {

// fn(i) for every i in [0, n): split over up to 4 threads (one per CPU, this
// one included) once n reaches `at_least`, else all here. A thread that
// cannot be made (a pids limit) leaves its share to this one. fn must not
// throw, and must only touch what iteration i owns.
template <class F>
void parallel_for(std::size_t n, F&& fn, std::size_t at_least = 64) {
    unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
    if (n < at_least || threads < 2) {
        for (std::size_t i = 0; i < n; ++i) fn(i);
        return;
    }
    std::size_t chunk = (n + threads - 1) / threads;
    std::vector<std::thread> pool;
    std::vector<std::pair<std::size_t, std::size_t>> left;  // shares no thread took: run here
    for (unsigned t = 1; t < threads; ++t) {
        std::size_t from = t * chunk, to = std::min(n, from + chunk);
        if (from >= to) break;
        try {
            pool.emplace_back([&fn, from, to] {
                for (std::size_t i = from; i < to; ++i) fn(i);
            });
        } catch (const std::system_error&) {
            left.emplace_back(from, to);
        }
    }
    for (std::size_t i = 0; i < std::min(n, chunk); ++i) fn(i);
    for (auto [from, to] : left)
        for (std::size_t i = from; i < to; ++i) fn(i);
    for (auto& t : pool) t.join();
}

}  // namespace hako
