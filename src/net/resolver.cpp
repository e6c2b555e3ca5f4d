// The resolver's loop: local answers, forwarding with retries, TCP (see
// resolver.hpp).
#include "net/resolver.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>

#include "common/strings.hpp"
#include "sys/fd.hpp"
#include "sys/syscalls.hpp"

namespace hako::net {

using Clock = std::chrono::steady_clock;

Names parse_names(const std::string& text) {
    Names n;
    for (auto line : split(text, '\n')) {
        auto w = split(line, ' ');
        if (w.size() < 2) continue;
        if (w[0] == "upstream") {
            auto client = IpAddr::parse(w[1]);
            if (!client) continue;
            auto& ups = n.upstream[*client];
            for (size_t i = 2; i < w.size(); ++i)
                if (auto s = IpAddr::parse(w[i])) ups.push_back(*s);
            continue;
        }
        auto ip = IpAddr::parse(w[0]);
        if (!ip) continue;
        for (size_t i = 1; i < w.size(); ++i) {
            std::string name(w[i]);
            for (auto& c : name) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
            auto& v = n.by_name[name];
            if (std::find(v.begin(), v.end(), *ip) == v.end()) v.push_back(*ip);
            n.by_addr.emplace(*ip, name);  // the first name: the container's
        }
    }
    return n;
}

bool answer_locally(const Names& names, const dns::Query& q, std::vector<dns::Answer>& out) {
    if (q.klass != dns::kClassIn) return false;
    if (q.type == dns::kTypePtr) {
        auto a = dns::ptr_address(q.name);
        if (!a) return false;
        auto it = names.by_addr.find(*a);
        if (it == names.by_addr.end()) return false;
        out.push_back({dns::kTypePtr, {}, it->second});
        return true;
    }
    auto it = names.by_name.find(q.name);
    if (it == names.by_name.end()) return false;
    for (const auto& a : it->second)
        if ((q.type == dns::kTypeA && !a.v6) || (q.type == dns::kTypeAaaa && a.v6))
            out.push_back({q.type, a, {}});
    return true;  // ours: other types (and a missing family) get an empty answer
}

namespace {

constexpr uint32_t kTtl = 30;
constexpr auto kTry = std::chrono::milliseconds(1500);

struct Peer : SockAddr {
    [[nodiscard]] IpAddr ip() const { return ip_of(ss); }
    static Peer of(const IpAddr& a, uint16_t port) { return {sockaddr_of(a, port)}; }
};

struct Pending {
    uint16_t orig_id = 0;
    int udp_fd = -1;  // the listening socket to answer on, with `client`
    Peer client;
    int tcp_fd = -1;  // or a TCP connection's
    std::vector<uint8_t> query;  // with our id
    std::vector<IpAddr> servers;
    size_t tried = 0;
    Clock::time_point deadline;
};

struct TcpConn {
    UniqueFd fd;
    std::vector<uint8_t> in;
    Clock::time_point deadline;
    bool waiting = false;  // a forwarded query is out
};

class Server {
public:
    explicit Server(const ResolverConfig& cfg) : cfg_(cfg), rng_(std::random_device{}()) {
        up4_.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        up6_.reset(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        for (int fd : cfg_.udp_fds) set_nonblock(fd);
        for (int fd : cfg_.tcp_fds) set_nonblock(fd);
        refresh(true);
    }

    [[noreturn]] void loop() {
        std::vector<pollfd> pfds;
        for (;;) {
            pfds.clear();
            for (int fd : cfg_.udp_fds) pfds.push_back({fd, POLLIN, 0});
            for (int fd : cfg_.tcp_fds) pfds.push_back({fd, POLLIN, 0});
            pfds.push_back({up4_.get(), POLLIN, 0});
            pfds.push_back({up6_.get(), POLLIN, 0});
            for (const auto& c : tcp_) pfds.push_back({c.fd.get(), POLLIN, 0});
            int n = ::poll(pfds.data(), pfds.size(), 500);
            if (n < 0 && errno != EINTR) _exit(1);
            refresh(false);
            size_t i = 0;
            for (int fd : cfg_.udp_fds)
                if (pfds[i++].revents & POLLIN) read_udp(fd);
            for (int fd : cfg_.tcp_fds)
                if (pfds[i++].revents & POLLIN) accept_tcp(fd);
            if (pfds[i++].revents & POLLIN) read_upstream(up4_.get());
            if (pfds[i++].revents & POLLIN) read_upstream(up6_.get());
            std::vector<int> ready;
            for (; i < pfds.size(); ++i)
                if (pfds[i].revents) ready.push_back(pfds[i].fd);
            for (int fd : ready) read_tcp(fd);
            expire();
        }
    }

private:
    static void set_nonblock(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

    // Names anew when the file changed; gone for 3 s: our network is gone.
    void refresh(bool first) {
        struct stat st {};
        if (::stat(cfg_.names_file.c_str(), &st) < 0) {
            if (first || Clock::now() - last_seen_ > std::chrono::seconds(3)) _exit(0);
            return;
        }
        last_seen_ = Clock::now();
        if (!first && st.st_ino == st_.st_ino && st.st_mtim.tv_sec == st_.st_mtim.tv_sec &&
            st.st_mtim.tv_nsec == st_.st_mtim.tv_nsec && st.st_size == st_.st_size)
            return;
        auto text = sys::read_file(cfg_.names_file);
        if (!text) return;
        st_ = st;
        names_ = parse_names(*text);
    }

    std::vector<IpAddr> servers_for(const IpAddr& client) {
        auto it = names_.upstream.find(client);
        if (it != names_.upstream.end() && !it->second.empty()) return it->second;
        struct stat st {};
        if (::stat("/etc/resolv.conf", &st) == 0 &&
            (st.st_mtim.tv_sec != resolv_st_.st_mtim.tv_sec || st.st_ino != resolv_st_.st_ino || !resolv_read_)) {
            resolv_st_ = st;
            resolv_read_ = true;
            host_servers_ = dns::host_resolv().servers;
        }
        return host_servers_;
    }

    // A query from `client`: answered here, or sent upstream.
    void handle(std::span<const uint8_t> msg, const IpAddr& client, int udp_fd, const Peer& peer, int tcp_fd) {
        auto q = dns::parse_query(msg);
        if (!q) return;
        std::vector<dns::Answer> answers;
        if (answer_locally(names_, *q, answers)) {
            reply(dns::make_reply(*q, msg, dns::kNoError, answers, kTtl), udp_fd, peer, tcp_fd);
            return;
        }
        auto servers = servers_for(client);
        if (servers.empty()) {
            reply(dns::make_reply(*q, msg, dns::kServFail, {}, 0), udp_fd, peer, tcp_fd);
            return;
        }
        uint16_t id = 0;
        do id = static_cast<uint16_t>(rng_()); while (pending_.count(id));
        Pending p;
        p.orig_id = q->id;
        p.udp_fd = udp_fd;
        p.client = peer;
        p.tcp_fd = tcp_fd;
        p.query.assign(msg.begin(), msg.end());
        dns::set_id(p.query, id);
        p.servers = std::move(servers);
        if (!send_next(p)) {
            reply(dns::make_reply(*q, msg, dns::kServFail, {}, 0), udp_fd, peer, tcp_fd);
            return;
        }
        pending_.emplace(id, std::move(p));
    }

    bool send_next(Pending& p) {
        while (p.tried < p.servers.size()) {
            const auto& s = p.servers[p.tried++];
            auto to = Peer::of(s, 53);
            int fd = s.v6 ? up6_.get() : up4_.get();
            if (::sendto(fd, p.query.data(), p.query.size(), 0, to.get(), to.len) >= 0) {
                p.deadline = Clock::now() + kTry;
                return true;
            }
        }
        return false;
    }

    void reply(const std::vector<uint8_t>& msg, int udp_fd, const Peer& peer, int tcp_fd) {
        if (tcp_fd < 0) {
            (void)::sendto(udp_fd, msg.data(), msg.size(), 0, peer.get(), peer.len);
            return;
        }
        std::vector<uint8_t> framed{static_cast<uint8_t>(msg.size() >> 8), static_cast<uint8_t>(msg.size())};
        framed.insert(framed.end(), msg.begin(), msg.end());
        (void)!::write(tcp_fd, framed.data(), framed.size());
        std::erase_if(tcp_, [&](const TcpConn& c) { return c.fd.get() == tcp_fd; });
    }

    // Each datagram waiting on `fd` (64 at most), with its sender.
    template <class F>
    static void each_datagram(int fd, F f) {
        uint8_t buf[4096];
        for (int i = 0; i < 64; ++i) {
            Peer from;
            from.len = sizeof from.ss;
            ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, from.get(), &from.len);
            if (n <= 0) return;
            f(std::span<uint8_t>{buf, static_cast<size_t>(n)}, from);
        }
    }

    void read_udp(int fd) {
        each_datagram(fd, [&](std::span<uint8_t> msg, const Peer& from) { handle(msg, from.ip(), fd, from, -1); });
    }

    void read_upstream(int fd) {
        each_datagram(fd, [&](std::span<uint8_t> msg, const Peer& from) {
            auto id = dns::reply_id(msg);
            if (!id) return;
            auto it = pending_.find(*id);
            if (it == pending_.end() || it->second.tried == 0 || it->second.servers[it->second.tried - 1] != from.ip())
                return;
            dns::set_id(msg, it->second.orig_id);
            reply({msg.begin(), msg.end()}, it->second.udp_fd, it->second.client, it->second.tcp_fd);
            pending_.erase(it);
        });
    }

    void expire() {
        auto now = Clock::now();
        for (auto it = pending_.begin(); it != pending_.end();) {
            if (it->second.deadline > now) {
                ++it;
                continue;
            }
            if (send_next(it->second)) {
                ++it;
                continue;
            }
            auto& p = it->second;
            auto q = dns::parse_query(p.query);
            if (q) {
                auto out = dns::make_reply(*q, p.query, dns::kServFail, {}, 0);
                dns::set_id(out, p.orig_id);
                reply(out, p.udp_fd, p.client, p.tcp_fd);
            }
            it = pending_.erase(it);
        }
        std::erase_if(tcp_, [&](const TcpConn& c) { return !c.waiting && c.deadline < now; });
    }

    void accept_tcp(int fd) {
        for (int i = 0; i < 16 && tcp_.size() < 64; ++i) {
            int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (c < 0) return;
            tcp_.push_back({UniqueFd(c), {}, Clock::now() + std::chrono::seconds(5), false});
        }
    }

    void read_tcp(int fd) {
        auto it = std::find_if(tcp_.begin(), tcp_.end(), [&](const TcpConn& c) { return c.fd.get() == fd; });
        if (it == tcp_.end()) return;
        uint8_t buf[4096];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) {
            if (!it->waiting) tcp_.erase(it);
            return;
        }
        it->in.insert(it->in.end(), buf, buf + n);
        if (it->in.size() < 2) return;
        size_t len = static_cast<size_t>((it->in[0] << 8) | it->in[1]);
        if (it->in.size() < 2 + len || it->waiting) return;
        it->waiting = true;
        Peer peer;
        peer.len = sizeof peer.ss;
        ::getpeername(fd, peer.get(), &peer.len);
        std::vector<uint8_t> msg(it->in.begin() + 2, it->in.begin() + 2 + static_cast<long>(len));
        handle(msg, peer.ip(), -1, peer, fd);
    }

    const ResolverConfig& cfg_;
    std::mt19937 rng_;
    UniqueFd up4_, up6_;
    Names names_;
    struct stat st_ {};
    Clock::time_point last_seen_ = Clock::now();
    struct stat resolv_st_ {};
    bool resolv_read_ = false;
    std::vector<IpAddr> host_servers_;
    std::map<uint16_t, Pending> pending_;
    std::vector<TcpConn> tcp_;
};

}  // namespace

void run_resolver(const ResolverConfig& cfg) {
    Server s(cfg);
    s.loop();
}

}  // namespace hako::net
