// Attaching to a detached container: its monitor holds the container's
// terminal (or stdio pipes) and serves clients on <dir>/attach.sock. Both
// ways the stream is frames: a type byte, a 32-bit little-endian length,
// the bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "sys/fd.hpp"

namespace hako::frontend {

enum class Frame : uint8_t {
    Stdin = 0,   // client -> monitor: bytes for the container's stdin / terminal
    Stdout = 1,  // monitor -> client
    Stderr = 2,
    Resize = 3,  // client -> monitor: rows, cols (u16 each)
    Exit = 4,    // monitor -> client: the exit code, decimal; then the monitor closes
    CloseStdin = 5,  // client -> monitor: stdin is at its end
};

// Append one frame to `out`.
void put_frame(std::string& out, Frame type, std::string_view data);
// Take whole frames from the front of `buf` (what is left of a partial one
// stays). Returns false on a malformed length.
struct FrameIn {
    Frame type;
    std::string data;
};
bool take_frames(std::string& buf, std::vector<FrameIn>& out);

// "ctrl-p,ctrl-q" -> "\x10\x11"; docker's --detach-keys syntax (a letter,
// or ctrl-a..ctrl-z, ctrl-@, ctrl-[, ctrl-\\, ctrl-], ctrl-^, ctrl-_).
Result<std::string> parse_detach_keys(const std::string& spec);

struct AttachOptions {
    bool stdin = true;       // send our stdin (attach --no-stdin: false)
    bool tty = false;        // the container has a terminal: ours goes raw
    std::string detach_keys; // parsed; empty: none
    bool sig_proxy = true;   // forward our signals to the container
    std::string id;          // (for sig-proxy)
};
// Connect to the monitor of the container in `dir` and relay until the
// container exits (its exit code) or the detach keys are typed (-1).
// `kill`: sends a signal to the container (sig-proxy).
Result<int> attach_to(const std::string& dir, const AttachOptions& o, const std::function<void(int)>& kill);
// The same on a connection made already (connect_attach).
Result<int> attach_on(UniqueFd sock, const AttachOptions& o, const std::function<void(int)>& kill);
Result<UniqueFd> connect_attach(const std::string& dir);

}  // namespace hako::frontend
