// A pull's (or push's) progress on a terminal, docker-style: one line per
// layer ("a1b2c3d4e5f6: Downloading  12.3MB/45.6MB  8.1MB/s"), redrawn in
// place at most ten times a second. Silent when stderr is not a terminal
// or when quiet. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace hako::frontend {

class ProgressBoard {
public:
    explicit ProgressBoard(bool quiet);
    ~ProgressBoard();
    // A line for `id` (a digest), `total` bytes expected (0: unknown); returns its index.
    size_t add(const std::string& id, uint64_t total, const std::string& status = "Waiting");
    void bytes(size_t line, uint64_t n);  // n more bytes
    void status(size_t line, const std::string& s);
    // A line printed above the board ("Trying to pull …").
    void note(const std::string& text);
    [[nodiscard]] bool active() const { return on_; }

private:
    struct Line {
        std::string id, status;
        uint64_t total = 0, done = 0;
        std::chrono::steady_clock::time_point start;
    };
    void draw(bool force);
    bool on_;
    std::mutex mu_;
    std::vector<Line> lines_;
    size_t drawn_ = 0;  // lines on screen
    std::chrono::steady_clock::time_point last_{};
};

std::string human_bytes(uint64_t b);

}  // namespace hako::frontend
