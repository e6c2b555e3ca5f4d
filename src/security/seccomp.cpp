// Seccomp: the spec's filter compiled with libseccomp into BPF in the parent
// (before clone); the child just loads the program.
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <set>
#include <string>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "common/digest.hpp"
#include "security/security.hpp"
#include "sys/fd.hpp"
#include "sys/syscalls.hpp"

namespace hako::security {
namespace {

constexpr unsigned kNewListener = 1U << 3;        // SECCOMP_FILTER_FLAG_NEW_LISTENER
constexpr unsigned kWaitKillableRecv = 1U << 5;   // SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV

struct CtxDeleter {
    void operator()(void* c) const { seccomp_release(c); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

Result<uint32_t> action_of(const std::string& name, std::optional<uint32_t> errno_ret,
                           const std::string& field) {
    uint32_t e = errno_ret.value_or(EPERM);
    if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
    if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
    if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
    if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(e);
    if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(e);
    if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
    if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
    if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
    return error(field + ": unknown seccomp action \"" + name + "\"");
}

Result<scmp_compare> op_of(const std::string& op, const std::string& field) {
    if (op == "SCMP_CMP_NE") return SCMP_CMP_NE;
    if (op == "SCMP_CMP_LT") return SCMP_CMP_LT;
    if (op == "SCMP_CMP_LE") return SCMP_CMP_LE;
    if (op == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
    if (op == "SCMP_CMP_GE") return SCMP_CMP_GE;
    if (op == "SCMP_CMP_GT") return SCMP_CMP_GT;
    if (op == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
    return error(field + ": unknown seccomp operator \"" + op + "\"");
}

std::string arch_name(std::string a) {
    if (a.rfind("SCMP_ARCH_", 0) == 0) a = a.substr(10);
    std::transform(a.begin(), a.end(), a.begin(), [](unsigned char c) { return std::tolower(c); });
    return a;
}

}  // namespace

SeccompSupport seccomp_support() {
    SeccompSupport s;
    s.actions = {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                 "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"};
    s.operators = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
                   "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"};
    for (const char* a : {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
                          "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
                          "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64",
                          "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"})
        if (seccomp_arch_resolve_name(arch_name(a).c_str()) != 0) s.archs.emplace_back(a);
    s.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC",
               "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
    return s;
}

namespace {

const std::string kBase = "linux.seccomp";

// The load flags the spec asks for (the filter itself is in the BPF).
Result<unsigned> filter_flags(const oci::Seccomp& spec) {
    unsigned flags = 0;
    for (size_t i = 0; i < spec.flags.size(); ++i) {
        const auto& f = spec.flags[i];
        if (f == "SECCOMP_FILTER_FLAG_TSYNC") flags |= SECCOMP_FILTER_FLAG_TSYNC;
        else if (f == "SECCOMP_FILTER_FLAG_LOG") flags |= SECCOMP_FILTER_FLAG_LOG;
        else if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
        else if (f == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") flags |= kWaitKillableRecv;
        else return error(kBase + ".flags[" + std::to_string(i) + "]: unsupported flag \"" + f + "\"");
    }
    return flags;
}

bool uses_notify(const oci::Seccomp& spec) {
    if (spec.default_action == "SCMP_ACT_NOTIFY") return true;
    for (const auto& sc : spec.syscalls)
        if (sc.action == "SCMP_ACT_NOTIFY") return true;
    return false;
}

// runc's and crun's "ENOSYS stub", before libseccomp's program: on each of
// the filter's architectures, a syscall numbered above every syscall the
// profile names (one newer than the profile) returns ENOSYS instead of the
// default action's errno, so that glibc falls back (clone3 -> clone,
// faccessat2 -> faccessat) rather than failing with EPERM. Not for a
// default that allows. x32's numbers (x86_64 with bit 30) go straight on.
std::vector<sock_filter> enosys_stub(const oci::Seccomp& spec, uint32_t def) {
    if (def == SCMP_ACT_ALLOW || def == SCMP_ACT_LOG) return {};
    std::vector<uint32_t> archs{seccomp_arch_native()};
    for (const auto& a : spec.architectures)
        if (uint32_t t = seccomp_arch_resolve_name(arch_name(a).c_str());
            t != 0 && std::find(archs.begin(), archs.end(), t) == archs.end())
            archs.push_back(t);
    struct Limit {
        uint32_t arch;
        uint32_t max;
    };
    std::vector<Limit> limits;
    for (uint32_t arch : archs) {
        int max = -1;
        for (const auto& rule : spec.syscalls)
            for (const auto& name : rule.names) max = std::max(max, seccomp_syscall_resolve_name_arch(arch, name.c_str()));
        if (max >= 0) limits.push_back({arch, static_cast<uint32_t>(max)});
    }
    if (limits.empty()) return {};
    constexpr uint32_t kX32Bit = 0x40000000;
    // Layout: ld arch; one jeq per arch; ja main; then per arch a block
    // (ld nr; [x86_64: jge x32 -> main]; jgt max -> enosys, else main);
    // enosys: ret; main: libseccomp's program.
    std::vector<size_t> block_len;
    for (const auto& l : limits) block_len.push_back(l.arch == SCMP_ARCH_X86_64 ? 3 : 2);
    std::vector<sock_filter> out;
    out.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
    size_t jeq_start = out.size();
    size_t blocks_start = jeq_start + limits.size() + 1;
    size_t total_blocks = 0;
    for (size_t n : block_len) total_blocks += n;
    const size_t enosys = blocks_start + total_blocks, main = enosys + 1;
    size_t block_at = blocks_start;
    for (size_t i = 0; i < limits.size(); ++i) {
        size_t here = out.size();
        out.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, limits[i].arch, static_cast<uint8_t>(block_at - here - 1), 0));
        block_at += block_len[i];
    }
    out.push_back(BPF_STMT(BPF_JMP | BPF_JA, static_cast<uint32_t>(main - out.size() - 1)));
    for (const auto& l : limits) {
        out.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
        if (l.arch == SCMP_ARCH_X86_64) {
            size_t here = out.size();
            out.push_back(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, kX32Bit, static_cast<uint8_t>(main - here - 1), 0));
        }
        size_t here = out.size();
        out.push_back(BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, l.max, static_cast<uint8_t>(enosys - here - 1),
                               static_cast<uint8_t>(main - here - 1)));
    }
    out.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)));
    return out;
}

// libseccomp: the spec's rules into a BPF program.
Result<std::vector<sock_filter>> compile_bpf(const oci::Seccomp& spec) {
    const std::string& base = kBase;
    uint32_t def = HAKO_TRY(action_of(spec.default_action, spec.default_errno_ret,
                                      base + ".defaultAction"));
    Ctx ctx(seccomp_init(def));
    if (!ctx) return error(base + ": seccomp_init failed");
    // We set no_new_privs ourselves when the spec asks for it.
    seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
    // A binary tree of syscall numbers rather than a list: a large profile
    // (Podman's ~440 names) costs each of the container's syscalls a few
    // comparisons, not hundreds.
    seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
    for (size_t i = 0; i < spec.architectures.size(); ++i) {
        uint32_t arch = seccomp_arch_resolve_name(arch_name(spec.architectures[i]).c_str());
        if (arch == 0)
            return error(base + ".architectures[" + std::to_string(i) + "]: unknown architecture \"" +
                         spec.architectures[i] + "\"");
        int r = seccomp_arch_add(ctx.get(), arch);
        if (r < 0 && r != -EEXIST)
            return sys_error(base + ".architectures[" + std::to_string(i) + "]: add", -r);
    }
    for (size_t i = 0; i < spec.syscalls.size(); ++i) {
        const auto& rule = spec.syscalls[i];
        std::string field = base + ".syscalls[" + std::to_string(i) + "]";
        uint32_t act = HAKO_TRY(action_of(rule.action, rule.errno_ret, field + ".action"));
        if (act == def) continue;  // libseccomp refuses rules equal to the default
        std::vector<scmp_arg_cmp> cmps;
        std::set<uint32_t> seen;
        bool repeated = false;
        for (size_t j = 0; j < rule.args.size(); ++j) {
            const auto& a = rule.args[j];
            auto op = HAKO_TRY(op_of(a.op, field + ".args[" + std::to_string(j) + "].op"));
            if (a.index > 5)
                return error(field + ".args[" + std::to_string(j) + "].index: must be 0..5");
            if (!seen.insert(a.index).second) repeated = true;
            cmps.push_back(scmp_arg_cmp{a.index, op, a.value, a.value_two});
        }
        for (const auto& name : rule.names) {
            int nr = seccomp_syscall_resolve_name(name.c_str());
            if (nr == __NR_SCMP_ERROR) continue;  // unknown here: ignored, as runc does
            int r;
            if (!repeated) {
                r = seccomp_rule_add_array(ctx.get(), act, nr, static_cast<unsigned>(cmps.size()),
                                           cmps.data());
            } else {
                // libseccomp ANDs conditions and refuses one argument twice:
                // like runc, one rule per condition (they are ORed).
                r = 0;
                for (const auto& c : cmps) {
                    r = seccomp_rule_add_array(ctx.get(), act, nr, 1, &c);
                    if (r < 0) break;
                }
            }
            if (r < 0) return sys_error(field + ": add rule for \"" + name + "\"", -r);
        }
    }
    // Export the BPF program through a memfd.
    UniqueFd mfd(memfd_create("hako-seccomp", MFD_CLOEXEC));
    if (!mfd) return sys_error("memfd_create");
    int r = seccomp_export_bpf(ctx.get(), mfd.get());
    if (r < 0) return sys_error(base + ": export BPF", -r);
    off_t size = lseek(mfd.get(), 0, SEEK_END);
    if (size < 0 || size % sizeof(sock_filter) != 0) return error(base + ": bad BPF size");
    std::vector<sock_filter> filter(static_cast<size_t>(size) / sizeof(sock_filter));
    if (pread(mfd.get(), filter.data(), static_cast<size_t>(size), 0) != size)
        return sys_error(base + ": read BPF");
    auto stub = enosys_stub(spec, def);
    if (stub.empty()) return filter;
    stub.insert(stub.end(), filter.begin(), filter.end());
    if (stub.size() > BPF_MAXINSNS) return error(base + ": the filter has more than 4096 instructions");
    return stub;
}

// The cache key: everything the BPF depends on: the rules (in a canonical
// text), this code's version, libseccomp's version and the kernel's
// seccomp API level (libseccomp picks actions by it).
std::string cache_key(const oci::Seccomp& spec) {
    std::string t = "hako-seccomp-3\n";  // (bump when compile_bpf changes)
    const scmp_version* v = seccomp_version();
    t += std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro) +
         " api " + std::to_string(seccomp_api_get()) + "\n";
    auto opt = [](const std::optional<uint32_t>& e) { return e ? std::to_string(*e) : "-"; };
    t += spec.default_action + " " + opt(spec.default_errno_ret) + "\n";
    for (const auto& a : spec.architectures) t += "arch " + a + "\n";
    for (const auto& sc : spec.syscalls) {
        t += "rule " + sc.action + " " + opt(sc.errno_ret);
        for (const auto& n : sc.names) t += " " + n;
        for (const auto& a : sc.args)
            t += " [" + std::to_string(a.index) + " " + a.op + " " + std::to_string(a.value) + " " +
                 std::to_string(a.value_two) + "]";
        t += "\n";
    }
    return sha256_hex(t);
}

// Bounded: past kMaxCached profiles the cache starts over (a host runs a
// handful of profiles; a miss costs one compile).
void prune_cache(const std::string& dir) {
    constexpr size_t kMaxCached = 64;
    DIR* d = opendir(dir.c_str());
    if (!d) return;
    std::vector<std::string> names;
    while (dirent* e = readdir(d))
        if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    closedir(d);
    if (names.size() < kMaxCached) return;
    for (const auto& n : names) unlink((dir + "/" + n).c_str());
}

}  // namespace

Result<SeccompProgram> compile_seccomp(const oci::Seccomp& spec, const std::string& cache_dir) {
    SeccompProgram prog;
    prog.flags = HAKO_TRY(filter_flags(spec));
    prog.notify = uses_notify(spec);
    if (prog.notify) prog.flags |= kNewListener;
    std::string key;
    if (!cache_dir.empty()) {
        key = cache_key(spec);
        auto cached = sys::read_file(cache_dir + "/" + key);
        if (cached && !cached->empty() && cached->size() % sizeof(sock_filter) == 0) {
            prog.filter.resize(cached->size() / sizeof(sock_filter));
            std::memcpy(prog.filter.data(), cached->data(), cached->size());
            return prog;
        }
    }
    prog.filter = HAKO_TRY(compile_bpf(spec));
    if (!cache_dir.empty()) {
        // Best effort: a cache that can't be written costs only the next compile.
        if (sys::mkdir_all(cache_dir, 0700)) {
            prune_cache(cache_dir);
            (void)sys::write_file_atomic(AT_FDCWD, cache_dir + "/" + key,
                                         std::string_view(reinterpret_cast<const char*>(prog.filter.data()),
                                                          prog.filter.size() * sizeof(sock_filter)));
        }
    }
    return prog;
}

Result<UniqueFd> load_seccomp(const SeccompProgram& prog) {
    sock_fprog fprog{static_cast<unsigned short>(prog.filter.size()),
                     const_cast<sock_filter*>(prog.filter.data())};
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, prog.flags, &fprog);
    if (r < 0) return sys_error("load the seccomp filter (linux.seccomp)");
    // With SECCOMP_FILTER_FLAG_NEW_LISTENER the result is the listener fd.
    return UniqueFd(prog.notify ? static_cast<int>(r) : -1);
}

}  // namespace hako::security
