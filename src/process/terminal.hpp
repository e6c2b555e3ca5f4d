// Terminals (process.terminal): the container's process gets a new pty from
// the container's own devpts; its master goes out over a unix socket with
// SCM_RIGHTS (--console-socket, as runc does: conmon and containerd's shim
// take it from there), or to the runtime itself, which relays a foreground
// run/exec to the caller's terminal.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <string>

#include "common/error.hpp"
#include "oci/spec.hpp"
#include "sys/fd.hpp"

namespace hako::proc {

// In the container, once its /dev is in place: open a pty (/dev/ptmx),
// size it (process.consoleSize), send the master over `console_sock`, and
// make the slave our controlling terminal and stdin, stdout and stderr.
// The slave is owned by the process's uid and by `tty_gid` (pty_group);
// with `console` (the container's init) it is bound onto /dev/console too.
Status setup_terminal(int console_sock, const oci::Process& p, gid_t tty_gid, bool console);
// The group of the process's pty, as runc picks it: the gid= option of the
// spec's devpts mount on /dev/pts (the tty group) when the container can
// see that gid (no user namespace, or its gidMappings map it), else the
// process's own gid.
gid_t pty_group(const oci::Spec& spec, const oci::Process& p);

// Where a terminal's master goes: `theirs` is the socket the container's
// process sends it over: connected to `socket_path` (--console-socket), or,
// without one, a socketpair whose other end, `ours`, receives it (a
// foreground run/exec relays it). No terminal: both invalid.
struct Console {
    UniqueFd theirs, ours;
};
Result<Console> open_console(const std::string& socket_path, bool terminal);
// Receive the pty master sent over a console socket.
Result<UniqueFd> receive_master(int sock);

// Wait for `pid` (our child) in the foreground: the signals in `forward`
// (blocked by the caller) go to it. With a pty master (>= 0), relay our
// stdin to it and it to our stdout meanwhile; our terminal (when stdin is
// one) is raw and its size follows SIGWINCH. Returns the exit code (128+N
// for signal N).
int relay_and_wait(pid_t pid, int master, const sigset_t& forward);

}  // namespace hako::proc
