// daemonize(): detach from berthd so the monitor (and the container) outlive it, and become
// the subreaper for anything init's descendants leave behind outside the pid namespace.
// daemonize_zygote(): the same detach for the zygote (zygote.cc), which is nobody's subreaper.
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "monitor/monitor.h"

namespace berth {

namespace {

// The parent exits at once: berthd (or the zygote) reaps it, and the child is reparented away.
void leave_parent() {
  pid_t pid = fork();
  if (pid < 0) _exit(1);
  if (pid > 0) _exit(0);
}

void settle(const char* name, bool subreaper) {
  setsid();
  if (subreaper) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  prctl(PR_SET_NAME, name, 0, 0, 0);
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(null_fd, 2);
    if (null_fd > 2) close(null_fd);
  }
  // Whatever berthd leaked to us must not reach the container; fd 3 is the handshake.
  syscall(SYS_close_range, 4U, ~0U, 0U);
  fcntl(kHandshakeFd, F_SETFD, FD_CLOEXEC);
}

}  // namespace

void daemonize(bool detached) {
  if (!detached) leave_parent();
  settle("berth-monitor", true);
}

void daemonize_zygote() {
  leave_parent();
  settle("berth-zygote", false);
  // Nothing of berthd's working directory stays pinned; monitors enter their own.
  if (chdir("/") != 0) _exit(1);
}

}  // namespace berth
