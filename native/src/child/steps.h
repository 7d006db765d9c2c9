// Init's step functions, one per named step. Each returns 0 or an errno; none allocates.
#pragma once

#include <limits.h>

#include "child/plan.h"

namespace berth {

// mounts.cc
int make_root_private();
// Binds the rootfs onto itself and opens it: root_fd is what every later path resolves under.
int bind_rootfs(const char* rootfs, int* root_fd);
int apply_mount_step(const MountStep& m, int root_fd);
int do_pivot_root(const char* rootfs);
int umount_old_root();
// devices.cc. The spec's nodes and links mostly share a directory (/dev): the one opened last stays
// open in a ParentDir (fd -1 at first; the caller closes it), so the path is resolved once.
struct ParentDir {
  char path[PATH_MAX];
  int fd = -1;
};
int create_device(const DeviceStep& d, int root_fd, ParentDir* cache);
int create_symlink(const SymlinkStep& s, int root_fd, ParentDir* cache);
// hardening.cc: the spec's "security" paths (init only). A missing mask or read-only path is
// skipped (0). *null_fd is -1 until the first file mask opens the container's /dev/null.
int write_sysctl(const SysctlStep& s, int root_fd);
int mask_path(const char* path, int root_fd, int* null_fd);
int make_readonly(const char* path, int root_fd);
// After pivot_root: the rootfs's own mount read-only.
int remount_root_readonly();
// privileges.cc: run as root, before setgroups/setgid/setuid (init and exec'd processes).
// Drops what the list lacks from the bounding set, clears ambient and inheritable.
int limit_capabilities(const SecurityPlan& s);
int set_no_new_privs();
// Installs s.seccomp, if any.
int install_seccomp(const SecurityPlan& s);
// identity.cc
int set_hostname(const char* name);
int set_domainname(const char* name);
int loopback_up();
// eth0: address and netmask, up, then the default route through the gateway.
int configure_interface(const InterfacePlan& i);
int new_session(int tty_fd);
int setup_stdio(int stdin_fd, int stdout_fd, int stderr_fd);
int make_cwd(const char* cwd);
int enter_cwd(const char* cwd);
int set_groups(const gid_t* groups, size_t n);
int set_gid(gid_t gid);
int set_uid(uid_t uid);
// exec.cc
int close_extra_fds();
int exec_program(const char* const* candidates, size_t n, bool searched_path, char* const* argv,
                 char* const* envp);
// The monitor ignores SIGPIPE and blocks SIGCHLD; a program must start from the defaults.
void reset_signals();

}  // namespace berth
