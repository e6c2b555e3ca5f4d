// The container's log (see container_log.hpp).
#include "frontend/container_log.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/strings.hpp"
#include "frontend/spec_internal.hpp"
#include "sys/syscalls.hpp"

namespace hako::frontend {
namespace {

using json = nlohmann::json;


}  // namespace

LogWriter::LogWriter(std::string path, const RunOptions& o) : path_(std::move(path)) {
        driver_ = o.log_driver.empty() ? "k8s-file" : o.log_driver;
        for (const auto& kv : o.log_opts) {
            auto eq = kv.find('=');
            std::string k = kv.substr(0, eq), v = eq == std::string::npos ? "" : kv.substr(eq + 1);
            if (k == "max-size") {
                if (auto b = parse_bytes(v, "--log-opt max-size")) max_size_ = static_cast<uint64_t>(*b);
            } else if (k == "max-file") {
                max_file_ = std::max(1, atoi(v.c_str()));
            }
        }
        if (driver_ != "none") open();
    }
void LogWriter::write(const char* stream, std::string& pending, std::string_view data, bool flush) {
        pending.append(data);
        size_t start = 0;
        for (;;) {
            size_t nl = pending.find('\n', start);
            if (nl == std::string::npos) break;
            line(stream, std::string_view(pending).substr(start, nl - start), false);
            start = nl + 1;
        }
        pending.erase(0, start);
        if (!pending.empty() && (flush || pending.size() > 16384)) {
            line(stream, pending, true);
            pending.clear();
        }
    }

void LogWriter::open() {
        fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
        struct stat st{};
        size_ = fd_ && fstat(fd_.get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    }
void LogWriter::line(const char* stream, std::string_view text, bool partial) {
        if (!fd_) return;
        std::string out;
        if (driver_ == "json-file") {
            json j{{"log", std::string(text) + (partial ? "" : "\n")}, {"stream", stream}, {"time", now_rfc3339()}};
            out = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
        } else {
            out = now_rfc3339() + " " + stream + (partial ? " P " : " F ") + std::string(text) + "\n";
        }
        if (max_size_ && size_ + out.size() > max_size_ && size_ > 0) rotate();
        if (sys::write_all(fd_.get(), out.data(), out.size())) size_ += out.size();
    }
void LogWriter::rotate() {
        for (int i = max_file_ - 1; i >= 1; --i) {
            std::string from = i == 1 ? path_ : path_ + "." + std::to_string(i - 1);
            (void)::rename(from.c_str(), (path_ + "." + std::to_string(i)).c_str());
        }
        if (max_file_ <= 1) (void)::truncate(path_.c_str(), 0);
        open();
    }


Status ForegroundLog::start() {
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) < 0) return sys_error("pipe");
    UniqueFd out_r(po[0]), out_w(po[1]);
    if (pipe2(pe, O_CLOEXEC) < 0) return sys_error("pipe");
    UniqueFd err_r(pe[0]), err_w(pe[1]);
    saved_out_.reset(fcntl(1, F_DUPFD_CLOEXEC, 3));
    saved_err_.reset(fcntl(2, F_DUPFD_CLOEXEC, 3));
    if (!saved_out_ || !saved_err_) return sys_error("dup stdout");
    // A process, not a thread: the runtime clones the container's init from
    // us, and a clone of a threaded process may inherit a lock held.
    pid_t c = fork();
    if (c < 0) return sys_error("fork the log relay");
    if (c == 0) {
        out_w.reset();
        err_w.reset();
        signal(SIGPIPE, SIG_IGN);  // (our stdout closed: EPIPE, and on logging)
        out_ = std::move(out_r);
        err_ = std::move(err_r);
        relay();
        _exit(0);
    }
    relay_pid_ = c;
    dup2(out_w.get(), 1);
    dup2(err_w.get(), 2);
    started_ = true;
    return {};
}

void ForegroundLog::relay() {
    while (out_ || err_) {
        pollfd p[2] = {{out_ ? out_.get() : -1, POLLIN, 0}, {err_ ? err_.get() : -1, POLLIN, 0}};
        if (::poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        struct Side {
            UniqueFd& fd;
            int to;
            const char* stream;
            std::string& pending;
        } sides[2] = {{out_, saved_out_.get(), "stdout", pending_out_}, {err_, saved_err_.get(), "stderr", pending_err_}};
        for (int i = 0; i < 2; ++i) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[16384];
            ssize_t n = ::read(sides[i].fd.get(), buf, sizeof buf);
            if (n <= 0) {
                sides[i].fd.reset();
                continue;
            }
            (void)sys::write_all(sides[i].to, buf, static_cast<size_t>(n));
            log_.write(sides[i].stream, sides[i].pending, std::string_view(buf, static_cast<size_t>(n)));
        }
    }
    log_.write("stdout", pending_out_, "", true);
    log_.write("stderr", pending_err_, "", true);
}

void ForegroundLog::finish() {
    if (!started_) return;
    started_ = false;
    dup2(saved_out_.get(), 1);  // (our write ends go: EOF once the container's do)
    dup2(saved_err_.get(), 2);
    // The relay ends at EOF; a process that keeps the pipe open past the
    // container is not waited for more than a second.
    // (woken by its exit through a pidfd, not a sleep: no delay on every run)
    if (auto pidfd = sys::pidfd_open(relay_pid_)) {
        pollfd p{pidfd->get(), POLLIN, 0};
        while (::poll(&p, 1, 1000) < 0 && errno == EINTR) {
        }
    }
    if (waitpid(relay_pid_, nullptr, WNOHANG) == relay_pid_) return;
    ::kill(relay_pid_, SIGKILL);
    waitpid(relay_pid_, nullptr, 0);
}

}  // namespace hako::frontend
