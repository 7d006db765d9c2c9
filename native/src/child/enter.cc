// An exec'd process between fork() (already inside init's pid namespace) and execve(): join
// the container's other namespaces, then the same session/stdio/credential steps as init.
#include <errno.h>
#include <sched.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "child/steps.h"
#include "sys/fs_util.h"

namespace berth {

namespace {

[[noreturn]] void fail(const ExecPlan& p, ExecStep step, int err) {
  StepError rec{static_cast<int32_t>(step), err};
  write_all(p.error_fd, &rec, sizeof rec);
  _exit(127);
}

// The container's capabilities, no_new_privs and seccomp filter, as init got them.
void limit_privileges(const ExecPlan& p) {
  const SecurityPlan& s = *p.security;
  int err;
  if ((err = limit_capabilities(s))) fail(p, ExecStep::kCapabilities, err);
  if (s.no_new_privileges && (err = set_no_new_privs())) fail(p, ExecStep::kNoNewPrivileges, err);
  if ((err = install_seccomp(s))) fail(p, ExecStep::kSeccomp, err);
}

}  // namespace

const char* exec_step_name(int step) {
  static const char* const kNames[] = {"dumpable", "setns",     "chdir",        "setsid",
                                       "stdio",    "setgroups", "setgid",       "setuid",
                                       "close fds", "exec",     "cgroup",       "capabilities",
                                       "no new privileges",     "seccomp"};
  return step >= 0 && step < static_cast<int>(sizeof kNames / sizeof kNames[0]) ? kNames[step]
                                                                                : "unknown step";
}

void exec_child_main(const ExecPlan& p) {
  reset_signals();
  int err;
  // First: until execve nobody in the container may ptrace us or open /proc/<pid>/exe and
  // fds of a process that still holds the monitor's memory (runc's nsexec does the same).
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) fail(p, ExecStep::kDumpable, errno);
  // Into the container's cgroup while still in the host's mount namespace, before anything runs:
  // "0" is the writer itself, so whatever it starts later is born inside too.
  for (size_t i = 0; i < p.n_cgroup_fds; i++)
    if (write(p.cgroup_fds[i], "0", 1) != 1) fail(p, ExecStep::kCgroup, errno);
  // One call for all four (pidfd setns, Linux 5.8); the mount namespace also resets root and
  // cwd to the container's root, so nothing of the host stays reachable.
  if (setns(p.pidfd, CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWNS) != 0)
    fail(p, ExecStep::kSetns, errno);
  close(p.pidfd);
  if (chdir(p.cwd) != 0) fail(p, ExecStep::kChdir, errno);
  // Own session: job control in an exec'd shell must not reach init's; with a tty its own pty.
  if ((err = new_session(p.tty_fd))) fail(p, ExecStep::kSetsid, err);
  // After joining the mount namespace: /dev/null is the container's node.
  if ((err = setup_stdio(p.stdin_fd, p.stdout_fd, p.stderr_fd))) fail(p, ExecStep::kStdio, err);
  // As in init: still root with every capability, before the credentials change.
  if (p.security) limit_privileges(p);
  if ((err = set_groups(p.groups, p.n_groups))) fail(p, ExecStep::kSetgroups, err);
  if ((err = set_gid(p.gid))) fail(p, ExecStep::kSetgid, err);
  if ((err = set_uid(p.uid))) fail(p, ExecStep::kSetuid, err);
  // The monitor's fds (other clients, the log, init's pidfd) must not reach the program.
  if ((err = close_extra_fds())) fail(p, ExecStep::kCloseFds, err);
  err = exec_program(p.exec_candidates, p.n_candidates, p.searched_path, p.argv, p.envp);
  fail(p, ExecStep::kExec, err);
}

}  // namespace berth
