// The privilege steps of init and of an exec'd process, run as root before the credentials
// change: capabilities (bounding, ambient, inheritable), no_new_privs and the seccomp filter.
// Raw capget/capset and seccomp syscalls: no libcap, no libseccomp, no allocation.
#include <errno.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child/steps.h"

namespace berth {

namespace {

// Sets the inheritable set to empty and leaves permitted and effective as they are: setuid to a
// non-zero uid clears those later, and execve as root refills them from the bounding set.
int clear_inheritable() {
  struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &head, data) != 0) return errno;
  for (auto& d : data) d.inheritable = 0;
  return syscall(SYS_capset, &head, data) == 0 ? 0 : errno;
}

}  // namespace

int limit_capabilities(const SecurityPlan& s) {
  // The bounding set caps what any later execve can grant, root's included (capabilities(7)).
  for (int cap = 0; cap <= s.cap_last_cap; cap++) {
    if (s.capabilities & (uint64_t{1} << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) return errno;
  }
  // Ambient capabilities would survive execve even for a non-root uid.
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return errno;
  return clear_inheritable();
}

int set_no_new_privs() { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 ? 0 : errno; }

int install_seccomp(const SecurityPlan& s) {
  if (s.seccomp.len == 0) return 0;
  // Still root with CAP_SYS_ADMIN, so no_new_privs is not required (seccomp(2)). No TSYNC: the
  // child has one thread.
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &s.seccomp) == 0 ? 0 : errno;
}

}  // namespace berth
