// daemonize(): detach from berthd so the monitor (and the container) outlive it, and become
// the subreaper for anything init's descendants leave behind outside the pid namespace.
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "monitor/monitor.h"

namespace berth {

void daemonize() {
  pid_t pid = fork();
  if (pid < 0) _exit(1);
  // The parent exits at once: berthd reaps it, and the monitor is reparented away from berthd.
  if (pid > 0) _exit(0);
  setsid();
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  prctl(PR_SET_NAME, "berth-monitor", 0, 0, 0);
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

}  // namespace berth
