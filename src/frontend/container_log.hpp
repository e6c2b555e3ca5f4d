// A container's log, as its monitor (or a foreground run) writes it: a
// line per line of output with its time and stream, in podman's k8s-file
// format ("<RFC 3339 nano> stdout F text") or docker's json-file
// ({"log","stream","time"}), rotated at --log-opt max-size.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "frontend/engine.hpp"
#include "sys/fd.hpp"

namespace hako::frontend {

class LogWriter {
public:
    // `o`: the container's --log-driver and --log-opt (none: nothing written).
    LogWriter(std::string path, const RunOptions& o);
    // Bytes of `stream` ("stdout"/"stderr"): whole lines logged, the rest
    // kept in `pending` for the next (a partial line longer than 16 KiB, or
    // any with `flush`, goes as a partial "P" line).
    void write(const char* stream, std::string& pending, std::string_view data, bool flush = false);

private:
    void open();
    void line(const char* stream, std::string_view text, bool partial);
    void rotate();
    std::string path_, driver_;
    UniqueFd fd_;
    uint64_t size_ = 0, max_size_ = 0;
    int max_file_ = 1;
};

// A foreground, non-terminal run's stdout and stderr, through pipes: what
// the container writes goes to ours and to its log, copied by a relay
// process. start() swaps fds 1 and 2 for the pipes (the runtime's init
// inherits them); finish() puts ours back and waits for the relay to drain
// (a process that keeps the pipe open past the container: a second at most).
class ForegroundLog {
public:
    ForegroundLog(std::string path, const RunOptions& o) : log_(std::move(path), o) {}
    ~ForegroundLog() { finish(); }
    Status start();
    void finish();

private:
    void relay();
    LogWriter log_;
    UniqueFd saved_out_, saved_err_, out_, err_;
    std::string pending_out_, pending_err_;
    pid_t relay_pid_ = -1;
    bool started_ = false;
};

}  // namespace hako::frontend
