// parallel_for: every index exactly once, whether the loop runs here or is
// split over threads.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "common/parallel.hpp"

namespace {

TEST(ParallelFor, EveryIndexOnceAtAnySize) {
    for (size_t n : {0, 1, 63, 64, 65, 1000, 1001}) {
        SCOPED_TRACE(n);
        std::vector<std::atomic<int>> seen(n);
        hako::parallel_for(n, [&](size_t i) { seen[i].fetch_add(1); });
        for (size_t i = 0; i < n; ++i) ASSERT_EQ(seen[i].load(), 1) << "index " << i;
    }
}

TEST(ParallelFor, ManyOnThreadsFewHere) {
    std::mutex mu;
    std::set<std::thread::id> few, many;
    hako::parallel_for(10, [&](size_t) {
        std::lock_guard lock(mu);
        few.insert(std::this_thread::get_id());
    });
    EXPECT_EQ(few, std::set<std::thread::id>{std::this_thread::get_id()});
    hako::parallel_for(1000, [&](size_t) {
        std::this_thread::sleep_for(std::chrono::microseconds(2));  // (every thread gets to start)
        std::lock_guard lock(mu);
        many.insert(std::this_thread::get_id());
    });
    if (std::thread::hardware_concurrency() > 1) {
        EXPECT_GT(many.size(), 1u);
    }
    EXPECT_TRUE(many.count(std::this_thread::get_id())) << "the caller takes a share too";
}

// Shares are taken as the threads go: one index that takes long (a cold
// file, a preempted thread) does not hold back the indices after it.
TEST(ParallelFor, ASlowIndexDoesNotHoldUpTheRest) {
    if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one CPU";
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    std::vector<clock::time_point> done(1000);
    hako::parallel_for(done.size(), [&](size_t i) {
        if (i == 1) std::this_thread::sleep_for(std::chrono::milliseconds(300));
        done[i] = clock::now();
    });
    EXPECT_GE(done[1] - t0, std::chrono::milliseconds(300));
    size_t late = 0;
    for (size_t i = 8; i < done.size(); ++i) late += done[i] - t0 >= std::chrono::milliseconds(300);
    EXPECT_EQ(late, 0u) << "indices past the slow one's share waited for it";
}

}  // namespace
