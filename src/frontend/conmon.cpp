// A detached container's monitor (hako's conmon): the init's parent for the
// container's whole life. It logs the container's output (k8s-file or
// json-file, with timestamps), serves attach clients, runs healthchecks and
// restarts the container as its restart policy says, then cleans up.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <thread>

#include "common/log.hpp"
#include "common/strings.hpp"
#include "frontend/attach.hpp"
#include "frontend/container_log.hpp"
#include "frontend/engine.hpp"
#include "frontend/spec_internal.hpp"
#include "runtime/container.hpp"
#include "sys/syscalls.hpp"

namespace hako::frontend {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// The listening socket clients attach on: <dir>/attach.sock.
UniqueFd listen_attach(const std::string& dir) {
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    UniqueFd d(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!s || !d) return {};
    std::string path = "/proc/self/fd/" + std::to_string(d.get()) + "/attach.sock";
    ::unlink(path.c_str());
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) return {};
    memcpy(a.sun_path, path.c_str(), path.size() + 1);
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || ::listen(s.get(), 8) < 0) return {};
    return s;
}

struct Client {
    UniqueFd fd;
    std::string in;
};

// One run of the container: its stdio, its pid, what the poll loop watches.
struct Running {
    pid_t pid = 0;
    UniqueFd pidfd;
    UniqueFd master;          // tty
    UniqueFd out, err;        // pipes (no tty)
    UniqueFd in;              // stdin pipe (-i, no tty)
    std::string pending_out, pending_err;
};

// A healthcheck in progress: a child of ours running `exec` in the container.
struct Probe {
    pid_t child = 0;
    UniqueFd output;
    UniqueFd pidfd;
    std::string text, start, pid_file;
    Clock::time_point deadline;
};

}  // namespace

[[noreturn]] void Engine::monitor(const std::string& id, int report_fd, bool wait_for_client) {
    UniqueFd report(report_fd);
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    signal(SIGPIPE, SIG_IGN);
    auto tell = [&report](const std::string& msg) {
        if (report) (void)!::write(report.get(), msg.data(), msg.size());
        report.reset();
    };
    auto store = runtime_store();
    std::vector<Client> clients;
    UniqueFd listener = listen_attach(dir(id));
    std::optional<NetPlan> first_plan;
    std::vector<UniqueFd> held;  // published ports, held for the container's life
    int code = 255;
    auto backoff = std::chrono::milliseconds(100);
    auto broadcast = [&clients](Frame type, std::string_view data) {
        std::string f;
        put_frame(f, type, data);
        for (auto& c : clients)
            if (c.fd && !sys::write_all(c.fd.get(), f.data(), f.size())) c.fd.reset();
        std::erase_if(clients, [](const Client& c) { return !c.fd; });
    };
    for (int attempt = 0;; ++attempt) {
        auto prep = prepare(id);
        Record rec = prep ? prep->rec : Record{};
        Status ok = prep ? Status{} : Status(std::unexpected(prep.error()));
        if (ok && attempt == 0) {
            auto a = nets_.attach(prep->plan, id, rec.name, prep->hostname);
            if (!a) ok = std::unexpected(a.error());
            else held = std::move(a->held);
        }
        if (ok && attempt == 0 && wait_for_client && listener) {
            // the client that started us attaches before anything is output
            (void)!::write(report.get(), "L", 1);
            pollfd p{listener.get(), POLLIN, 0};
            if (::poll(&p, 1, 10000) > 0)
                if (UniqueFd c(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC)); c) clients.push_back({std::move(c), {}});
        }
        Running run;
        LogWriter log(log_path(id), rec.options);
        if (ok) {
            int pout[2] = {-1, -1}, perr[2] = {-1, -1}, pin[2] = {-1, -1};
            UniqueFd child_out, child_err, child_in;
            if (!prep->tty) {
                if (pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0) ok = sys_error("pipe");
                run.out.reset(pout[0]);
                child_out.reset(pout[1]);
                run.err.reset(perr[0]);
                child_err.reset(perr[1]);
                if (rec.options.interactive && pipe2(pin, O_CLOEXEC) == 0) {
                    child_in.reset(pin[0]);
                    run.in.reset(pin[1]);
                }
            }
            // The init inherits 0, 1, 2 from us while the runtime creates it.
            UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
            UniqueFd save0(fcntl(0, F_DUPFD_CLOEXEC, 3)), save1(fcntl(1, F_DUPFD_CLOEXEC, 3)), save2(fcntl(2, F_DUPFD_CLOEXEC, 3));
            dup2(child_in ? child_in.get() : null.get(), 0);
            dup2(child_out ? child_out.get() : null.get(), 1);
            dup2(child_err ? child_err.get() : null.get(), 2);
            runtime::CreateOptions co;
            co.id = id;
            co.bundle = dir(id) + "/bundle";
            Result<runtime::ContainerState> created =
                ok ? runtime::create(store, co, prep->tty ? &run.master : nullptr) : std::unexpected(ok.error());
            dup2(save0.get(), 0);
            dup2(save1.get(), 1);
            dup2(save2.get(), 2);
            Status started = created ? runtime::start(store, id) : Status(std::unexpected(created.error()));
            if (started) {
                run.pid = created->pid;
                if (auto p = runtime::open_init(*created)) run.pidfd = std::move(*p);
            }
            ok = started;
        }
        if (!ok) {
            (void)update(id, [&](Record& r) {
                r.error = ok.error().what();
                r.restarting = false;
            });
            if (attempt == 0) {  // "<errno> <message>": the error itself, rebuilt on the other side
                tell(std::to_string(ok.error().err) + " " + ok.error().msg);
                held.clear();
                (void)runtime::remove(store, id, true);
                (void)nets_.detach(id);
                umount2((dir(id) + "/rootfs").c_str(), MNT_DETACH);
                _exit(1);
            }
            code = 127;
            log::warn("container {}: restart failed: {}", id.substr(0, 12), ok.error().what());
            break;
        }
        auto started_at = Clock::now();
        (void)update(id, [&](Record& r) {
            r.started = now_rfc3339();
            r.restarting = false;
            r.error.clear();
            r.exit_code.reset();
            r.monitor = ProcRef::of(getpid());
        });
        tell("0");
        event("container", "start", id, {{"name", rec.name}, {"image", rec.image}});
        // Healthchecks: the first one `interval` after the start.
        std::optional<image::Healthcheck> hc = rec.health;
        HealthState health;
        if (hc) {
            health.status = "starting";
            (void)sys::write_file_atomic(AT_FDCWD, dir(id) + "/health.json", health_to_json(health).dump());
        }
        auto next_probe = Clock::now() + std::chrono::nanoseconds(hc ? hc->interval : 0);
        std::optional<Probe> probe;
        auto finish_probe = [&](int exit_code) {
            std::string before = health.status;
            std::string end = now_rfc3339();
            HealthLog entry{probe->start, end, exit_code, probe->text.substr(0, 4096)};
            health.log.push_back(entry);
            if (health.log.size() > 5) health.log.erase(health.log.begin());
            bool in_start = Clock::now() - started_at < std::chrono::nanoseconds(hc->start_period);
            if (exit_code == 0) {
                health.status = "healthy";
                health.failing_streak = 0;
            } else if (!in_start || health.status != "starting") {
                if (++health.failing_streak >= hc->retries) health.status = "unhealthy";
            }
            (void)sys::write_file_atomic(AT_FDCWD, dir(id) + "/health.json", health_to_json(health).dump());
            if (health.status != before) event("container", "health_status: " + health.status, id, {{"name", rec.name}});
            probe.reset();
            next_probe = Clock::now() + std::chrono::nanoseconds(hc->interval);
        };
        bool exited = false;
        int status = 0;
        while (!exited) {
            std::vector<pollfd> p;
            p.push_back({run.pidfd ? run.pidfd.get() : -1, POLLIN, 0});
            p.push_back({run.master ? run.master.get() : run.out ? run.out.get() : -1, POLLIN, 0});
            p.push_back({run.err ? run.err.get() : -1, POLLIN, 0});
            p.push_back({listener ? listener.get() : -1, POLLIN, 0});
            p.push_back({probe && probe->output ? probe->output.get() : -1, POLLIN, 0});
            p.push_back({probe && probe->pidfd ? probe->pidfd.get() : -1, POLLIN, 0});
            for (const auto& c : clients) p.push_back({c.fd.get(), POLLIN, 0});
            int timeout = -1;
            auto now = Clock::now();
            if (hc) {
                auto until = probe ? probe->deadline : next_probe;
                timeout = static_cast<int>(std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1));
            }
            if (!run.pidfd) timeout = timeout < 0 ? 100 : std::min(timeout, 100);  // (no pidfd: poll waitpid)
            int n = ::poll(p.data(), p.size(), timeout);
            if (n < 0 && errno != EINTR) break;
            // Output: the log, and every attached client.
            auto relay = [&](int fd, const char* stream, std::string& pending, Frame f) {
                char buf[16384];
                ssize_t r = ::read(fd, buf, sizeof buf);
                if (r <= 0) return false;
                log.write(stream, pending, std::string_view(buf, static_cast<size_t>(r)));
                broadcast(f, std::string_view(buf, static_cast<size_t>(r)));
                return true;
            };
            if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                if (!relay(p[1].fd, "stdout", run.pending_out, Frame::Stdout)) {
                    if (run.master) run.master.reset();
                    else run.out.reset();
                }
            }
            if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
                if (!relay(p[2].fd, "stderr", run.pending_err, Frame::Stderr)) run.err.reset();
            if (p[3].revents & POLLIN) {
                UniqueFd c(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
                if (c) clients.push_back({std::move(c), {}});
            }
            for (size_t i = 6; i < p.size(); ++i) {
                if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                auto& c = clients[i - 6];
                char buf[4096];
                ssize_t r = ::read(c.fd.get(), buf, sizeof buf);
                if (r <= 0) {
                    c.fd.reset();
                    continue;
                }
                c.in.append(buf, static_cast<size_t>(r));
                std::vector<FrameIn> frames;
                if (!take_frames(c.in, frames)) {
                    c.fd.reset();
                    continue;
                }
                for (const auto& f : frames) {
                    int target = run.master ? run.master.get() : run.in ? run.in.get() : -1;
                    if (f.type == Frame::Stdin && target >= 0) {
                        (void)sys::write_all(target, f.data.data(), f.data.size());
                    } else if (f.type == Frame::Resize && run.master && f.data.size() == 4) {
                        auto b = [&](int k) { return static_cast<unsigned short>(static_cast<unsigned char>(f.data[k])); };
                        winsize ws{};
                        ws.ws_row = static_cast<unsigned short>(b(0) | b(1) << 8);
                        ws.ws_col = static_cast<unsigned short>(b(2) | b(3) << 8);
                        ioctl(run.master.get(), TIOCSWINSZ, &ws);
                    } else if (f.type == Frame::CloseStdin) {
                        if (run.in) run.in.reset();
                        else if (run.master) {
                            char eot = 4;  // ^D: the terminal's end of input
                            (void)!::write(run.master.get(), &eot, 1);
                        }
                    }
                }
            }
            std::erase_if(clients, [](const Client& c) { return !c.fd; });
            // Healthchecks
            if (probe && (p[4].revents & (POLLIN | POLLHUP))) {
                char buf[4096];
                ssize_t r = ::read(probe->output.get(), buf, sizeof buf);
                if (r > 0) {
                    if (probe->text.size() < 65536) probe->text.append(buf, static_cast<size_t>(r));
                } else {
                    probe->output.reset();
                }
            }
            if (probe) {
                int st = 0;
                pid_t w = waitpid(probe->child, &st, WNOHANG);
                if (w == probe->child) {
                    // (what a process the probe left behind still writes is not waited for)
                    if (probe->output) {
                        fcntl(probe->output.get(), F_SETFL, O_NONBLOCK);
                        char buf[4096];
                        for (ssize_t r; probe->text.size() < 65536 && (r = ::read(probe->output.get(), buf, sizeof buf)) > 0;)
                            probe->text.append(buf, static_cast<size_t>(r));
                    }
                    finish_probe(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
                } else if (Clock::now() >= probe->deadline) {
                    // The probe's process in the container first, then our child.
                    if (auto pid = sys::read_file(probe->pid_file); pid && atoi(pid->c_str()) > 0) ::kill(atoi(pid->c_str()), SIGKILL);
                    ::kill(probe->child, SIGKILL);
                    waitpid(probe->child, nullptr, 0);
                    probe->text = "Health check exceeded timeout (" + std::to_string(hc->timeout / 1000000) + "ms)";
                    finish_probe(-1);
                }
            } else if (hc && Clock::now() >= next_probe) {
                int pf[2];
                if (pipe2(pf, O_CLOEXEC) == 0) {
                    Probe pr;
                    pr.start = now_rfc3339();
                    pr.output.reset(pf[0]);
                    pr.pid_file = dir(id) + "/health.pid";
                    pr.deadline = Clock::now() + std::chrono::nanoseconds(hc->timeout);
                    (void)::unlink(pr.pid_file.c_str());
                    pid_t c = fork();
                    if (c == 0) {
                        UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
                        dup2(null.get(), 0);
                        dup2(pf[1], 1);
                        dup2(pf[1], 2);
                        runtime::ExecOptions eo;
                        eo.id = id;
                        eo.pid_file = pr.pid_file;
                        if (hc->test[0] == "CMD-SHELL") eo.args = {"/bin/sh", "-c", hc->test[1]};
                        else eo.args.assign(hc->test.begin() + 1, hc->test.end());
                        auto r = runtime::exec(store, eo);
                        if (!r) {
                            std::string m = r.error().what() + "\n";
                            (void)!::write(2, m.data(), m.size());
                        }
                        _exit(r ? *r : 127);
                    }
                    ::close(pf[1]);
                    if (c > 0) {
                        pr.child = c;
                        if (auto pfd = sys::pidfd_open(c)) pr.pidfd = std::move(*pfd);
                        probe = std::move(pr);
                    } else {
                        next_probe = Clock::now() + std::chrono::nanoseconds(hc->interval);
                    }
                }
            }
            // The init?
            if (run.pid > 0 && (!run.pidfd || (p[0].revents & POLLIN))) {
                pid_t w = waitpid(run.pid, &status, WNOHANG);
                if (w == run.pid) exited = true;
                else if (w < 0 && errno == ECHILD) {
                    exited = true;
                    status = 255 << 8;
                }
            }
        }
        // Drain what output is left, then reap the orphans we adopted.
        for (int i = 0; i < 64; ++i) {
            bool more = false;
            for (auto* fd : {&run.master, &run.out, &run.err}) {
                if (!*fd) continue;
                pollfd q{fd->get(), POLLIN, 0};
                if (::poll(&q, 1, 0) <= 0) continue;
                char buf[16384];
                ssize_t r = ::read(fd->get(), buf, sizeof buf);
                if (r <= 0) {
                    fd->reset();
                    continue;
                }
                more = true;
                bool is_err = fd == &run.err;
                log.write(is_err ? "stderr" : "stdout", is_err ? run.pending_err : run.pending_out, std::string_view(buf, size_t(r)));
                broadcast(is_err ? Frame::Stderr : Frame::Stdout, std::string_view(buf, size_t(r)));
            }
            if (!more) break;
        }
        log.write("stdout", run.pending_out, "", true);
        log.write("stderr", run.pending_err, "", true);
        if (probe && probe->child > 0) {
            ::kill(probe->child, SIGKILL);
            waitpid(probe->child, nullptr, 0);
        }
        while (waitpid(-1, nullptr, WNOHANG) > 0) {
        }
        code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
        event("container", "die", id, {{"name", rec.name}, {"image", rec.image}, {"exitCode", std::to_string(code)}});
        // Restart?
        auto now_rec = load(id);
        if (!now_rec) break;  // removed meanwhile (rm -f)
        auto policy = parse_restart(now_rec->options.restart).value_or(RestartPolicy{});
        bool again = !now_rec->stop_requested && policy.name != "no" &&
                     (policy.name != "on-failure" || code != 0) &&
                     (policy.name != "on-failure" || policy.max_retries == 0 || now_rec->restart_count < policy.max_retries);
        if (!again) break;
        // docker's backoff: doubling from 100 ms, reset once a run lasted 10 s
        if (Clock::now() - started_at > std::chrono::seconds(10)) backoff = std::chrono::milliseconds(100);
        (void)update(id, [&](Record& r) {
            r.exit_code = code;
            r.finished = now_rfc3339();
            r.restarting = true;
            r.restart_count++;
        });
        (void)runtime::remove(store, id, true);
        auto until = Clock::now() + backoff;
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::minutes(1));
        bool stopped = false;
        while (Clock::now() < until && !stopped) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            auto r = load(id);
            stopped = !r || r->stop_requested;
        }
        if (stopped) break;
    }
    held.clear();
    (void)finish(id, code);
    // (after the record: an attached `run` that returns finds the exit in inspect)
    broadcast(Frame::Exit, std::to_string(code));
    clients.clear();
    _exit(0);
}

}  // namespace hako::frontend
