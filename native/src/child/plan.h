// InitPlan: everything init needs, decoded and allocated by the monitor before clone(),
// so the child only makes syscalls. Also the fixed-size error record and the step table.
#pragma once

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sys/mount_op.h"

namespace berth {

struct MountStep {
  MountOp op;          // op.target is a container path, opened inside the rootfs
  bool is_file;        // create an empty file (not a directory) when the target is missing
};

struct DeviceStep {
  const char* path;    // container path, its parent opened inside the rootfs
  mode_t mode;         // S_IFCHR/S_IFBLK/S_IFIFO | permission bits
  dev_t dev;
  uid_t uid;
  gid_t gid;
};

struct SymlinkStep {
  const char* target;  // what the link points at, as written in the container
  const char* path;    // container path, its parent opened inside the rootfs
};

// One sysctl: its file as a container path ("/proc/sys/net/ipv4/ip_forward") and the bytes
// written to it in one write(2).
struct SysctlStep {
  const char* path;
  const char* value;
  size_t value_len;
};

// The spec's "security" (native/README.md, "Security (issue 7)"). The path steps are init's
// alone; capabilities, no_new_privs and seccomp apply to init and to every exec'd process.
struct SecurityPlan {
  uint64_t capabilities;   // bit n set: capability n stays in the bounding set
  int cap_last_cap;        // /proc/sys/kernel/cap_last_cap, read by the monitor before clone
  bool no_new_privileges;
  struct sock_fprog seccomp;  // len 0: no filter
  const SysctlStep* sysctls;
  size_t n_sysctls;
  const char* const* masked_paths;    // container paths
  size_t n_masked;
  const char* const* readonly_paths;  // container paths
  size_t n_readonly;
  bool readonly_rootfs;
};

// The container's end of its veth (eth0), given an address, brought up and made the way to the
// default route by init. Addresses in network byte order.
struct InterfacePlan {
  uint32_t address;
  uint32_t netmask;
  uint32_t gateway;
};

// The fixed steps, in the order init runs them (native/README.md). Per-item steps
// (mount, mknod, symlink, then sysctl, mask, readonly) sit between kBindRootfs and kPivotRoot.
// kReadonlyRootfs to kSeccomp only run with a "security" in the spec.
enum class Step : int {
  kWaitGo, kMakeRootPrivate, kBindRootfs,
  kPivotRoot, kUmountOldRoot, kSethostname, kSetdomainname, kLoopbackUp, kInterface, kSetsid, kStdio,
  kMkdirCwd, kChdir, kReadonlyRootfs, kCapabilities, kNoNewPrivileges, kSeccomp,
  kSetgroups, kSetgid, kSetuid, kCloseFds, kExec,
};

struct InitPlan {
  const char* rootfs;
  const MountStep* mounts;
  size_t n_mounts;
  const DeviceStep* devices;
  size_t n_devices;
  const SymlinkStep* symlinks;
  size_t n_symlinks;
  const SecurityPlan* security;  // null: no "security" in the spec, nothing is restricted
  const InterfacePlan* iface;    // null: no eth0 to configure
  const char* hostname;    // "" = leave the new UTS namespace's copy as is
  const char* domainname;
  const char* cwd;         // container path
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  size_t n_groups;
  char* const* argv;
  char* const* envp;
  const char* const* exec_candidates;  // args[0], or PATH dirs joined with it
  size_t n_candidates;
  bool searched_path;  // args[0] had no '/': report ENOENT, not the last dir's errno
  int sync_fd;    // read end: one byte means "go"
  int error_fd;   // write end, CLOEXEC: EOF without a record means execve succeeded
  int stdin_fd;   // read end of the stdin pipe or the pty slave; -1: the container's /dev/null
  int stdout_fd;  // write ends of the log pipes, or the pty slave
  int stderr_fd;
  int tty_fd;     // pty slave made the controlling terminal in the setsid step; -1: none

  size_t n_sysctls() const { return security ? security->n_sysctls : 0; }
  size_t n_masked() const { return security ? security->n_masked : 0; }
  size_t n_readonly() const { return security ? security->n_readonly : 0; }
  // How many per-item steps the table holds between kBindRootfs and kPivotRoot.
  size_t n_items() const {
    return n_mounts + n_devices + n_symlinks + n_sysctls() + n_masked() + n_readonly();
  }

  // Index of a step in the flat step table the monitor builds (step_names()).
  int index(Step s) const {
    int i = static_cast<int>(s);
    return i <= static_cast<int>(Step::kBindRootfs) ? i : i + static_cast<int>(n_items());
  }
  int mount_index(size_t i) const { return item_index(i); }
  int mknod_index(size_t i) const { return item_index(n_mounts + i); }
  int symlink_index(size_t i) const { return item_index(n_mounts + n_devices + i); }
  int sysctl_index(size_t i) const { return item_index(n_mounts + n_devices + n_symlinks + i); }
  int mask_index(size_t i) const { return sysctl_index(n_sysctls() + i); }
  int readonly_index(size_t i) const { return mask_index(n_masked() + i); }

 private:
  int item_index(size_t i) const { return static_cast<int>(Step::kBindRootfs) + 1 + static_cast<int>(i); }
};

// What init writes on error_fd before _exit(127). Fixed size so one read gets it whole.
struct StepError {
  int32_t step;   // index into the step table
  int32_t error;  // errno
};

// clone() entry point: runs the steps; returns only by execve or _exit.
int init_main(void* plan);

// The steps of an exec'd process (native/README.md, "Exec"); values index exec_step_names().
// New steps go at the end, so the numbers of the others never change.
enum class ExecStep : int {
  kDumpable, kSetns, kChdir, kSetsid, kStdio, kSetgroups, kSetgid, kSetuid, kCloseFds, kExec, kCgroup,
  kCapabilities, kNoNewPrivileges, kSeccomp,
};
const char* exec_step_name(int step);

// An exec'd process's plan, built by the monitor before fork(); the child only makes syscalls.
struct ExecPlan {
  int pidfd;       // init's pidfd: the namespaces to join
  const char* cwd;
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  size_t n_groups;
  char* const* argv;
  char* const* envp;
  const char* const* exec_candidates;
  size_t n_candidates;
  bool searched_path;
  int stdin_fd;    // -1: the container's /dev/null
  int stdout_fd;
  int stderr_fd;
  int tty_fd;      // own pty slave, or -1
  int error_fd;    // CLOEXEC write end for the StepError record
  const int* cgroup_fds;  // the container's cgroup.procs files, opened write-only (CLOEXEC)
  size_t n_cgroup_fds;
  const SecurityPlan* security;  // the container's (init's plan), or null
};

// Runs in the fork()ed child, already in init's pid namespace; returns only by execve or _exit.
[[noreturn]] void exec_child_main(const ExecPlan& plan);

}  // namespace berth
