// The progress board (see progress.hpp).
#include "frontend/progress.hpp"

#include <unistd.h>

#include <fmt/format.h>

namespace hako::frontend {

std::string human_bytes(uint64_t b) {
    if (b >= 1000000000) return fmt::format("{:.2f}GB", double(b) / 1e9);
    if (b >= 1000000) return fmt::format("{:.2f}MB", double(b) / 1e6);
    if (b >= 1000) return fmt::format("{:.1f}kB", double(b) / 1e3);
    return fmt::format("{}B", b);
}

ProgressBoard::ProgressBoard(bool quiet) : on_(!quiet && isatty(2)) {}

ProgressBoard::~ProgressBoard() {
    std::lock_guard lock(mu_);
    if (on_) draw(true);
}

size_t ProgressBoard::add(const std::string& id, uint64_t total, const std::string& st) {
    std::lock_guard lock(mu_);
    lines_.push_back({id, st, total, 0, std::chrono::steady_clock::now()});
    if (on_) draw(true);
    return lines_.size() - 1;
}

void ProgressBoard::bytes(size_t line, uint64_t n) {
    if (!on_) return;
    std::lock_guard lock(mu_);
    if (lines_[line].done == 0) lines_[line].start = std::chrono::steady_clock::now();
    lines_[line].done += n;
    draw(false);
}

void ProgressBoard::status(size_t line, const std::string& s) {
    if (!on_) return;
    std::lock_guard lock(mu_);
    lines_[line].status = s;
    draw(true);
}

void ProgressBoard::note(const std::string& text) {
    if (!on_) return;
    std::lock_guard lock(mu_);
    std::string out;
    if (drawn_ > 0) out += fmt::format("\033[{}A\r\033[J", drawn_);
    out += text + "\n";
    (void)!::write(2, out.data(), out.size());
    drawn_ = 0;
    draw(true);
}

void ProgressBoard::draw(bool force) {
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    std::string out;
    if (drawn_ > 0) out += fmt::format("\033[{}A", drawn_);
    for (const auto& l : lines_) {
        std::string id = l.id.rfind("sha256:", 0) == 0 ? l.id.substr(7, 12) : l.id.substr(0, 12);
        std::string detail;
        if (l.status == "Downloading" || l.status == "Uploading") {
            double s = std::chrono::duration<double>(now - l.start).count();
            detail = fmt::format("  {}/{}  {}/s", human_bytes(l.done), l.total ? human_bytes(l.total) : "?",
                                 human_bytes(s > 0.05 ? uint64_t(double(l.done) / s) : 0));
        }
        out += fmt::format("\r\033[K{}: {}{}\n", id, l.status, detail);
    }
    drawn_ = lines_.size();
    (void)!::write(2, out.data(), out.size());
}

}  // namespace hako::frontend
