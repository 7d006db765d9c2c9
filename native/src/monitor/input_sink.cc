// InputSink: non-blocking writes with an EAGAIN queue (see input_sink.h).
#include "monitor/input_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

namespace berth {

void InputSink::reset(int fd, bool tty) {
  close_now();
  fd_ = fd;
  tty_ = tty;
  closing_ = false;
  if (fd_ >= 0) fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

void InputSink::push(const char* data, size_t len) {
  if (!open() || len == 0) return;
  buf_.append(data, len);
  on_writable();
}

void InputSink::close_input() {
  if (!open()) return;
  if (tty_) {
    // A pty cannot be half-closed; ^D at the start of a line is EOF for a canonical-mode reader.
    push("\x04", 1);
    return;
  }
  closing_ = true;
  on_writable();
}

void InputSink::on_writable() {
  while (fd_ >= 0 && pending() > 0) {
    ssize_t n = write(fd_, buf_.data() + off_, pending());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) {
      close_now();  // EPIPE/EIO: nobody reads any more; what is queued can never arrive
      return;
    }
    off_ += static_cast<size_t>(n);
  }
  // Compact only now and then, so a big queue is not moved for every small write.
  if (off_ == buf_.size()) {
    buf_.clear();
    off_ = 0;
  } else if (off_ > (1 << 16) && off_ * 2 > buf_.size()) {
    buf_.erase(0, off_);
    off_ = 0;
  }
  if (closing_ && pending() == 0) close_now();
}

void InputSink::close_now() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  buf_.clear();
  off_ = 0;
}

}  // namespace berth
