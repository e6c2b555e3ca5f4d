#include <fcntl.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "security/security.hpp"

namespace hako::security {
namespace {
bool contains(const std::vector<int>& v, int c) {
    for (int x : v)
        if (x == c) return true;
    return false;
}

// Highest capability the running kernel knows.
int kernel_cap_last() {
    static int last = [] {
        auto r = ::open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
        int v = oci::capability_last();
        if (r >= 0) {
            char buf[16] = {};
            if (::read(r, buf, sizeof buf - 1) > 0) v = atoi(buf);
            ::close(r);
        }
        return v;
    }();
    return last;
}
}  // namespace

Status drop_bounding_set(const std::vector<int>& keep) {
    for (int c = 0; c <= kernel_cap_last(); ++c) {
        if (contains(keep, c)) continue;
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            return sys_error(std::string("drop ") + oci::capability_name(c) +
                             " from the bounding set");
    }
    return {};
}

Status set_keep_caps(bool keep) {
    if (prctl(PR_SET_KEEPCAPS, keep ? 1 : 0, 0, 0, 0) < 0) return sys_error("prctl PR_SET_KEEPCAPS");
    return {};
}

Status apply_capabilities(const oci::Capabilities& caps) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    auto fill = [&](const std::vector<int>& set, auto member) {
        for (int c : set) {
            if (c > kernel_cap_last()) continue;  // unknown to this kernel: nothing to grant
            data[c / 32].*member |= 1u << (c % 32);
        }
    };
    fill(caps.effective, &__user_cap_data_struct::effective);
    fill(caps.permitted, &__user_cap_data_struct::permitted);
    fill(caps.inheritable, &__user_cap_data_struct::inheritable);
    if (syscall(SYS_capset, &hdr, data) < 0)
        return sys_error("capset (process.capabilities effective/permitted/inheritable)");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return sys_error("clear the ambient capabilities");
    for (int c : caps.ambient) {
        if (c > kernel_cap_last()) continue;
        // Like runc: an ambient capability not in permitted+inheritable is
        // skipped (the kernel refuses it), not fatal.
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0 && errno != EPERM)
            return sys_error(std::string("raise ambient ") + oci::capability_name(c) +
                             " (process.capabilities.ambient)");
    }
    return {};
}

Status assume_process_identity(const oci::Process& p) {
    if (p.capabilities) {
        HAKO_TRY(drop_bounding_set(p.capabilities->bounding));
        HAKO_TRY(set_keep_caps(true));
    }
    HAKO_TRY(switch_user(p.user, true));
    if (p.capabilities) {
        HAKO_TRY(set_keep_caps(false));
        HAKO_TRY(apply_capabilities(*p.capabilities));
    }
    return {};
}

}  // namespace hako::security

namespace hako::security {

std::vector<std::string> fit_capabilities(oci::Capabilities& caps) {
    std::vector<std::string> dropped;
    auto held = [](int c) { return prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1; };
    for (auto* set : {&caps.bounding, &caps.effective, &caps.permitted, &caps.inheritable, &caps.ambient})
        std::erase_if(*set, [&](int c) {
            if (held(c)) return false;
            const char* n = oci::capability_name(c);
            std::string name = n ? n : "capability " + std::to_string(c);
            if (std::find(dropped.begin(), dropped.end(), name) == dropped.end()) dropped.push_back(name);
            return true;
        });
    return dropped;
}

}  // namespace hako::security
