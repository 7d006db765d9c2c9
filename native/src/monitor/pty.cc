// Pseudo-terminals for a tty container and a tty exec: posix_openpt(3) on the host's /dev/ptmx,
// so no libutil; the slave is opened before the child exists and handed to it as a plain fd.
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "monitor/monitor.h"
#include "sys/unique_fd.h"

namespace berth {

int set_winsize(int fd, uint16_t rows, uint16_t cols) {
  struct winsize ws = {};
  ws.ws_row = rows;
  ws.ws_col = cols;
  return ioctl(fd, TIOCSWINSZ, &ws) == 0 ? 0 : errno;
}

int open_pty(uint16_t rows, uint16_t cols, int* master, int* slave) {
  unique_fd m(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!m.ok()) return errno;
  if (grantpt(m.get()) != 0 || unlockpt(m.get()) != 0) return errno;
  char name[128];
  if (ptsname_r(m.get(), name, sizeof name) != 0) return errno;
  // O_NOCTTY: the monitor must never acquire it; the child takes it with TIOCSCTTY.
  unique_fd s(open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!s.ok()) return errno;
  // The size is in place before the program can ask for it.
  if (int err = set_winsize(m.get(), rows, cols)) return err;
  if (fcntl(m.get(), F_SETFL, fcntl(m.get(), F_GETFL) | O_NONBLOCK) != 0) return errno;
  *master = m.release();
  *slave = s.release();
  return 0;
}

}  // namespace berth
