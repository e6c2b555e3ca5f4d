// Device rules: the effective list (spec rules, runc's defaults,
// linux.devices), written to the v1 devices controller or compiled into a
// cgroup v2 BPF_CGROUP_DEVICE program (v2 has no devices files).
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>

#include "cgroup/cgroup.hpp"
#include "cgroup/devices_detail.hpp"
#include "common/strings.hpp"
#include "common/log.hpp"
#include "sys/syscalls.hpp"

namespace hako::cgroup {
namespace devices_detail {
namespace {

bool has(const std::string& s, char c) { return s.find(c) != std::string::npos; }

// --- BPF instructions (the kernel's BPF_* insn macros are not uapi) -------

constexpr bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}
constexpr bpf_insn ldx_w(uint8_t dst, uint8_t src, int16_t off) {
    return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}
constexpr bpf_insn alu32_imm(uint8_t op, uint8_t dst, int32_t imm) {
    return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
constexpr bpf_insn mov64_imm(uint8_t dst, int32_t imm) {
    return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
constexpr bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

// Forward jumps to labels, patched into offsets at the end. The verifier
// rejects unreachable instructions, so the caller emits none, and a label
// can tell whether anything jumps to it.
class Assembler {
public:
    int label() {
        at_.push_back(-1);
        used_.push_back(false);
        return static_cast<int>(at_.size()) - 1;
    }
    void bind(int l) { at_[l] = static_cast<long>(code_.size()); }
    [[nodiscard]] bool used(int l) const { return used_[l]; }
    void emit(bpf_insn i) { code_.push_back(i); }
    // if (reg OP imm) goto l; OP = BPF_JNE, BPF_JSET...; BPF_JA: always.
    void jump(uint8_t op, uint8_t reg, int32_t imm, int l) {
        fixups_.push_back({code_.size(), l});
        used_[l] = true;
        emit(insn(BPF_JMP | op | BPF_K, reg, 0, 0, imm));
    }
    void jump(int l) { jump(BPF_JA, 0, 0, l); }

    Result<std::vector<bpf_insn>> finish() && {
        for (auto [pc, l] : fixups_) {
            long off = at_[l] - static_cast<long>(pc) - 1;
            if (at_[l] < 0 || off < 0 || off > std::numeric_limits<int16_t>::max())
                return error("device cgroup eBPF program: too many rules");
            code_[pc].off = static_cast<int16_t>(off);
        }
        return std::move(code_);
    }

private:
    std::vector<bpf_insn> code_;
    std::vector<long> at_;
    std::vector<bool> used_;
    std::vector<std::pair<size_t, int>> fixups_;
};

// Registers of the program (r1 is the context, struct bpf_cgroup_dev_ctx).
constexpr uint8_t kCtx = BPF_REG_1, kType = BPF_REG_2, kAccess = BPF_REG_3, kMajor = BPF_REG_4,
                  kMinor = BPF_REG_5;

// What the program can express: the program compares a u32 register with
// a sign-extended 32-bit immediate, so numbers past INT32_MAX (no device
// has one) cannot be written.
Status check_rule(const oci::DeviceCgroupRule& r, size_t idx) {
    if (r.type != "a" && r.type != "b" && r.type != "c")
        return error(fmt::format("device rule {}: unknown type \"{}\"", idx, r.type));
    if (r.access.find_first_not_of("rwm") != std::string::npos)
        return error(fmt::format("device rule {}: invalid access \"{}\"", idx, r.access));
    for (const auto& v : {r.major, r.minor})
        if (v && (*v < 0 || *v > std::numeric_limits<int32_t>::max()))
            return error(fmt::format("device rule {}: device number {} out of range", idx, *v));
    return {};
}

}  // namespace

oci::DeviceCgroupRule normalized(const oci::DeviceCgroupRule& r) {
    oci::DeviceCgroupRule n = r;
    if (n.type.empty()) n.type = "a";
    if (n.access.empty()) n.access = "rwm";
    if (n.major && *n.major == -1) n.major.reset();
    if (n.minor && *n.minor == -1) n.minor.reset();
    if (n.type == "a") {
        n.access = "rwm";
        n.major.reset();
        n.minor.reset();
    }
    return n;
}

std::string rule_line(const oci::DeviceCgroupRule& rule) {
    auto r = normalized(rule);
    auto num = [](const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "*"; };
    return fmt::format("{} {}:{} {}", r.type, num(r.major), num(r.minor), r.access);
}

Status write_v1_rules(const std::string& dir, const std::vector<oci::DeviceCgroupRule>& rules,
                      const WriteFn& write) {
    for (size_t i = 0; i < rules.size(); ++i) {
        const std::string file = rules[i].allow ? "devices.allow" : "devices.deny";
        const std::string line = rule_line(rules[i]);
        log::debug("cgroup: {}/{} = {}", dir, file, line);
        HAKO_TRY_CTX(write(dir + "/" + file, line), fmt::format("device rule {} \"{}\"", i, line));
    }
    return {};
}

// The program: load the context into r2..r5, then one section per access
// bit (mknod, read, write). A section is skipped when the bit is not
// requested; otherwise it walks the rules whose access has the bit, last
// rule first: the first whose type and numbers match decides that bit
// (allow: on to the next section; deny: return 0). No match: return 0.
// Every requested bit allowed: return 1.
//
// Deciding per bit is the v1 kernel's behaviour: allow rules for the same
// device add up ("c 1:3 r" then "c 1:3 w" allow rw), and a deny rule
// removes just its bits, so it refuses any request that includes one of
// them ("c 1:3 w" denied refuses an rw open). An "a" rule matches every
// device and bit, so the rules before it are never reached. A request
// with none of the bits (access(2) with X_OK on a node) is allowed: it
// neither reads, writes nor makes a node.
Result<std::vector<bpf_insn>> device_filter(const std::vector<oci::DeviceCgroupRule>& in) {
    std::vector<oci::DeviceCgroupRule> rules;
    for (const auto& r : in) {
        rules.push_back(normalized(r));
        HAKO_TRY(check_rule(rules.back(), rules.size() - 1));
    }

    Assembler a;
    a.emit(ldx_w(kType, kCtx, offsetof(bpf_cgroup_dev_ctx, access_type)));
    a.emit(alu32_imm(BPF_AND, kType, 0xffff));
    a.emit(ldx_w(kAccess, kCtx, offsetof(bpf_cgroup_dev_ctx, access_type)));
    a.emit(alu32_imm(BPF_RSH, kAccess, 16));
    a.emit(ldx_w(kMajor, kCtx, offsetof(bpf_cgroup_dev_ctx, major)));
    a.emit(ldx_w(kMinor, kCtx, offsetof(bpf_cgroup_dev_ctx, minor)));

    const int deny = a.label();
    constexpr std::array<std::pair<char, int32_t>, 3> kBits{{
        {'m', BPF_DEVCG_ACC_MKNOD}, {'r', BPF_DEVCG_ACC_READ}, {'w', BPF_DEVCG_ACC_WRITE}}};
    for (auto [letter, bit] : kBits) {
        const int next_bit = a.label(), check = a.label();
        a.jump(BPF_JSET, kAccess, bit, check);  // requested: check it
        a.jump(next_bit);
        a.bind(check);
        bool decided = false;  // an "a" rule ended the walk
        for (size_t i = rules.size(); i-- > 0;) {
            const auto& r = rules[i];
            if (!has(r.access, letter)) continue;
            if (r.type == "a") {
                // allow: fall through into next_bit, bound right after the walk
                if (!r.allow) a.jump(deny);
                decided = true;
                break;
            }
            const int next_rule = a.label();
            const int32_t type = r.type == "b" ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
            a.jump(BPF_JNE, kType, type, next_rule);
            if (r.major) a.jump(BPF_JNE, kMajor, static_cast<int32_t>(*r.major), next_rule);
            if (r.minor) a.jump(BPF_JNE, kMinor, static_cast<int32_t>(*r.minor), next_rule);
            a.jump(r.allow ? next_bit : deny);
            a.bind(next_rule);
        }
        if (!decided) a.jump(deny);
        a.bind(next_bit);
    }
    a.emit(mov64_imm(BPF_REG_0, 1));
    a.emit(exit_insn());
    if (a.used(deny)) {
        a.bind(deny);
        a.emit(mov64_imm(BPF_REG_0, 0));
        a.emit(exit_insn());
    }
    return std::move(a).finish();
}

namespace {

int bpf(bpf_cmd cmd, bpf_attr& attr) {
    int r;
    do {
        r = static_cast<int>(::syscall(__NR_bpf, cmd, &attr, sizeof(attr)));
    } while (r < 0 && errno == EINTR);
    return r;
}

// The verifier's last lines (the reason is at the end), on one line.
std::string verifier_tail(const std::string& log) {
    std::string_view text(log.c_str());  // up to the NUL the kernel wrote
    std::vector<std::string_view> lines;
    for (auto l : split(text, '\n')) {
        while (!l.empty() && (l.back() == ' ' || l.back() == '\t')) l.remove_suffix(1);
        if (!l.empty() && !l.starts_with("processed ")) lines.push_back(l);  // not the stats
    }
    std::string out;
    for (size_t i = lines.size() > 4 ? lines.size() - 4 : 0; i < lines.size(); ++i)
        out += (out.empty() ? "" : "; ") + std::string(lines[i]);
    return out;
}

Result<UniqueFd> load(const std::vector<bpf_insn>& prog) {
    static const char kLicense[] = "Apache";  // as runc's
    bpf_attr attr{};
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = reinterpret_cast<uintptr_t>(prog.data());
    attr.insn_cnt = static_cast<uint32_t>(prog.size());
    attr.license = reinterpret_cast<uintptr_t>(kLicense);
    std::strncpy(attr.prog_name, "hako_devices", sizeof(attr.prog_name) - 1);
    int fd = bpf(BPF_PROG_LOAD, attr);
    if (fd >= 0) return UniqueFd(fd);
    const int e = errno;
    // Again with the verifier's log, only now: with a log the kernel would
    // fail a good program whose log outgrew the buffer.
    std::string log(64 * 1024, '\0');
    attr.log_level = 1;
    attr.log_buf = reinterpret_cast<uintptr_t>(log.data());
    attr.log_size = static_cast<uint32_t>(log.size());
    fd = bpf(BPF_PROG_LOAD, attr);
    if (fd >= 0) return UniqueFd(fd);
    std::string tail = verifier_tail(log);
    return sys_error("load the device cgroup eBPF program" +
                         (tail.empty() ? std::string() : " (verifier: " + tail + ")"),
                     e);
}

}  // namespace

Result<std::vector<uint32_t>> attached_device_programs(int dirfd) {
    std::vector<uint32_t> ids(16);
    for (;;) {
        bpf_attr attr{};
        attr.query.target_fd = static_cast<uint32_t>(dirfd);
        attr.query.attach_type = BPF_CGROUP_DEVICE;
        attr.query.prog_ids = reinterpret_cast<uintptr_t>(ids.data());
        attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
        if (bpf(BPF_PROG_QUERY, attr) == 0) {
            ids.resize(attr.query.prog_cnt);
            return ids;
        }
        // ENOSPC: more than fit; prog_cnt is now the count.
        if (errno != ENOSPC || attr.query.prog_cnt <= ids.size())
            return sys_error("query the device cgroup eBPF programs");
        ids.resize(attr.query.prog_cnt);
    }
}

}  // namespace devices_detail

namespace dd = devices_detail;

std::vector<oci::DeviceCgroupRule> effective_device_rules(const oci::Resources& r,
                                                          const std::vector<oci::Device>& devices) {
    if (r.devices.empty()) return {};
    std::vector<oci::DeviceCgroupRule> out = r.devices;
    auto allow = [&](const char* type, std::optional<int64_t> major, std::optional<int64_t> minor,
                     const char* access) { out.push_back({true, type, major, minor, access}); };
    // runc's AllowedDevices: mknod of any node (the rootfs makes its own
    // nodes), then the devices every container has.
    allow("c", {}, {}, "m");
    allow("b", {}, {}, "m");
    allow("c", 1, 3, "rwm");    // null
    allow("c", 1, 5, "rwm");    // zero
    allow("c", 1, 7, "rwm");    // full
    allow("c", 5, 0, "rwm");    // tty
    allow("c", 1, 8, "rwm");    // random
    allow("c", 1, 9, "rwm");    // urandom
    allow("c", 5, 2, "rwm");    // ptmx
    allow("c", 136, {}, "rwm");  // pts/*
    allow("c", 5, 1, "rwm");    // console
    for (const auto& d : devices) {
        if (d.type == 'p') continue;  // fifos are not devices to the cgroup
        allow(d.type == 'b' ? "b" : "c", d.major, d.minor, "rwm");
    }
    return out;
}

Status apply_devices_v1(const std::string& dir, const std::vector<oci::DeviceCgroupRule>& rules) {
    if (rules.empty()) return {};
    if (dir.empty()) return error("linux.resources.devices: the host has no devices cgroup controller");
    return dd::write_v1_rules(dir, rules, [](const std::string& path, std::string_view line) {
        return sys::write_file(path, line);
    });
}

// Load, attach beside the previous program, then detach the previous one:
// in between both run (the stricter of the two), never neither. Every
// program on the leaf is hako's, from create or an earlier update.
Status apply_devices_v2(const std::string& dir, const std::vector<oci::DeviceCgroupRule>& rules) {
    if (rules.empty()) return {};
    log::Step step("device cgroup eBPF program");
    auto code = HAKO_TRY_CTX(dd::device_filter(rules), "linux.resources.devices");
    log::debug("cgroup: {}: device program of {} instructions for {} rules", dir, code.size(),
               rules.size());
    auto prog = HAKO_TRY(dd::load(code));
    UniqueFd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dirfd) return sys_error("open cgroup `" + dir + "`");
    auto old = HAKO_TRY_CTX(dd::attached_device_programs(dirfd.get()), dir);

    bpf_attr attr{};
    attr.target_fd = static_cast<uint32_t>(dirfd.get());
    attr.attach_bpf_fd = static_cast<uint32_t>(prog.get());
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (dd::bpf(BPF_PROG_ATTACH, attr) < 0)
        return sys_error("attach the device cgroup eBPF program to `" + dir + "`");

    for (uint32_t id : old) {
        bpf_attr get{};
        get.prog_id = id;
        UniqueFd fd(dd::bpf(BPF_PROG_GET_FD_BY_ID, get));
        if (!fd) {
            if (errno == ENOENT) continue;  // gone meanwhile
            return sys_error(fmt::format("detach the previous device program {} from `{}`", id, dir));
        }
        bpf_attr det{};
        det.target_fd = static_cast<uint32_t>(dirfd.get());
        det.attach_bpf_fd = static_cast<uint32_t>(fd.get());
        det.attach_type = BPF_CGROUP_DEVICE;
        if (dd::bpf(BPF_PROG_DETACH, det) < 0 && errno != ENOENT)
            return sys_error(fmt::format("detach the previous device program {} from `{}`", id, dir));
        log::debug("cgroup: {}: detached the previous device program {}", dir, id);
    }
    return {};
}

}  // namespace hako::cgroup
