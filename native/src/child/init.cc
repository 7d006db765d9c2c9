// Container init between clone() and execve(): the ordered steps of native/README.md.
// Runs in new pid/mount/uts/ipc/net namespaces; no allocation, no exceptions, only syscalls.
#include <errno.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child/steps.h"
#include "sys/fs_util.h"

namespace berth {

namespace {

[[noreturn]] void fail(const InitPlan& p, int step, int err) {
  StepError rec{step, err};
  // Nothing more to do if this write fails: the monitor then sees exit 127 without a record.
  write_all(p.error_fd, &rec, sizeof rec);
  _exit(127);
}

// The spec's sysctls, masked and read-only paths, in that order: the sysctls write to /proc/sys
// before a read-only path can cover it. All resolve inside root_fd, like the mounts.
void apply_security_paths(const InitPlan& p, int root_fd) {
  const SecurityPlan& s = *p.security;
  int err;
  for (size_t i = 0; i < s.n_sysctls; i++)
    if ((err = write_sysctl(s.sysctls[i], root_fd))) fail(p, p.sysctl_index(i), err);
  int null_fd = -1;
  for (size_t i = 0; i < s.n_masked; i++)
    if ((err = mask_path(s.masked_paths[i], root_fd, &null_fd))) fail(p, p.mask_index(i), err);
  if (null_fd >= 0) close(null_fd);
  for (size_t i = 0; i < s.n_readonly; i++)
    if ((err = make_readonly(s.readonly_paths[i], root_fd))) fail(p, p.readonly_index(i), err);
}

// Still root with every capability in the effective set, so each of these may run; the filter
// then also judges setgroups, setgid, setuid, close_range and execve (as with runc).
void limit_privileges(const InitPlan& p) {
  const SecurityPlan& s = *p.security;
  int err;
  if ((err = limit_capabilities(s))) fail(p, p.index(Step::kCapabilities), err);
  if (s.no_new_privileges && (err = set_no_new_privs())) fail(p, p.index(Step::kNoNewPrivileges), err);
  if ((err = install_seccomp(s))) fail(p, p.index(Step::kSeccomp), err);
}

}  // namespace

int init_main(void* arg) {
  const InitPlan& p = *static_cast<const InitPlan*>(arg);
  reset_signals();
  prctl(PR_SET_NAME, "berth:init", 0, 0, 0);
  // Known umask for the directories and files init creates, and what the program inherits (runc: 022).
  umask(022);
  int err;

  // The filesystem and the names first, while berthd moves us into the cgroup (they do not need each
  // other: nothing of the program runs before go). Started after go, these steps made the start about
  // a millisecond longer (bench/README.md).
  // Private first, so none of the mounts below propagates back to the host.
  if ((err = make_root_private())) fail(p, p.index(Step::kMakeRootPrivate), err);
  // pivot_root needs the new root to be a mount point.
  int root_fd;
  if ((err = bind_rootfs(p.rootfs, &root_fd))) fail(p, p.index(Step::kBindRootfs), err);
  // Each target resolves inside root_fd: symlinks in the image stay in the image.
  for (size_t i = 0; i < p.n_mounts; i++)
    if ((err = apply_mount_step(p.mounts[i], root_fd))) fail(p, p.mount_index(i), err);
  // Devices and symlinks after the mounts: they usually live on the /dev tmpfs mounted above. The
  // nodes with the umask at 0, so they get the spec's mode as mknod(2) makes them.
  ParentDir dir;
  umask(0);
  for (size_t i = 0; i < p.n_devices; i++)
    if ((err = create_device(p.devices[i], root_fd, &dir))) fail(p, p.mknod_index(i), err);
  umask(022);
  for (size_t i = 0; i < p.n_symlinks; i++)
    if ((err = create_symlink(p.symlinks[i], root_fd, &dir))) fail(p, p.symlink_index(i), err);
  if (dir.fd >= 0) close(dir.fd);
  // Last before pivot_root: they cover what the mounts, devices and symlinks above put there.
  if (p.security) apply_security_paths(p, root_fd);
  close(root_fd);
  if ((err = do_pivot_root(p.rootfs))) fail(p, p.index(Step::kPivotRoot), err);
  if ((err = umount_old_root())) fail(p, p.index(Step::kUmountOldRoot), err);
  if ((err = set_hostname(p.hostname))) fail(p, p.index(Step::kSethostname), err);
  if ((err = set_domainname(p.domainname))) fail(p, p.index(Step::kSetdomainname), err);
  if ((err = loopback_up())) fail(p, p.index(Step::kLoopbackUp), err);

  // Wait until berthd has put us in the cgroup and wired the network (the monitor has made eth0 by
  // then): the program must not run before.
  char go;
  ssize_t n = read_full(p.sync_fd, &go, 1);
  if (n != 1) fail(p, p.index(Step::kWaitGo), n < 0 ? static_cast<int>(-n) : ECANCELED);
  close(p.sync_fd);

  if (p.iface && (err = configure_interface(*p.iface))) fail(p, p.index(Step::kInterface), err);
  // A session of its own, so a job-control shell inside does not touch the monitor's.
  // With a tty, the slave becomes its controlling terminal here (the session leader's first).
  if ((err = new_session(p.tty_fd))) fail(p, p.index(Step::kSetsid), err);
  // After pivot_root: /dev/null is the container's own node, not the host's.
  if ((err = setup_stdio(p.stdin_fd, p.stdout_fd, p.stderr_fd))) fail(p, p.index(Step::kStdio), err);
  // cwd is created and entered as root, before dropping privileges (runc does the same).
  if ((err = make_cwd(p.cwd))) fail(p, p.index(Step::kMkdirCwd), err);
  if ((err = enter_cwd(p.cwd))) fail(p, p.index(Step::kChdir), err);
  // After the cwd is made: a missing one can still be created in a read-only rootfs.
  if (p.security && p.security->readonly_rootfs && (err = remount_root_readonly()))
    fail(p, p.index(Step::kReadonlyRootfs), err);
  // Before the credentials change: dropping from the bounding set and installing a filter
  // without no_new_privs both need capabilities that setuid to a non-zero uid takes away.
  if (p.security) limit_privileges(p);
  // Groups, then gid, then uid: after setuid we could no longer change the other two.
  if ((err = set_groups(p.groups, p.n_groups))) fail(p, p.index(Step::kSetgroups), err);
  if ((err = set_gid(p.gid))) fail(p, p.index(Step::kSetgid), err);
  if ((err = set_uid(p.uid))) fail(p, p.index(Step::kSetuid), err);
  // CLOEXEC rather than close: the error pipe must stay open until execve succeeds.
  if ((err = close_extra_fds())) fail(p, p.index(Step::kCloseFds), err);
  err = exec_program(p.exec_candidates, p.n_candidates, p.searched_path, p.argv, p.envp);
  fail(p, p.index(Step::kExec), err);
}

}  // namespace berth
