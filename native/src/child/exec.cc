// The last steps of init and of an exec'd process: mark every fd above 2 close-on-exec, then
// execve args[0], searching the container's PATH the way execvp(3) does; and the signal reset.
#include <errno.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child/steps.h"

namespace berth {

int close_extra_fds() {
  // Raw syscall: glibc's close_range() wrapper needs 2.34 and the flag needs Linux 5.11.
  return syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0 ? 0 : errno;
}

void reset_signals() {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, nullptr);  // EINVAL for KILL/STOP: fine
}

int exec_program(const char* const* candidates, size_t n, bool searched_path, char* const* argv,
                 char* const* envp) {
  // Like execvp: EACCES from any candidate wins over ENOENT; errors meaning "not here"
  // move on to the next directory; anything else (ENOEXEC, E2BIG, ...) is final.
  bool saw_eacces = false;
  int err = ENOENT;
  for (size_t i = 0; i < n; i++) {
    execve(candidates[i], argv, envp);
    err = errno;
    switch (err) {
      case EACCES: saw_eacces = true; break;
      case ENOENT: case ENOTDIR: case ESTALE: case ENODEV: case ETIMEDOUT: case ELOOP:
      case ENAMETOOLONG: break;
      default: return err;
    }
  }
  if (saw_eacces) return EACCES;
  return searched_path ? ENOENT : err;
}

}  // namespace berth
