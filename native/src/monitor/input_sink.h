// InputSink: bytes on their way into a stdin pipe or pty master, written without blocking and
// queued while the reader is slow; the queue size is what throttles the clients feeding it.
#pragma once

#include <stddef.h>

#include <string>

namespace berth {

class InputSink {
 public:
  // Clients are read only while less than this waits here (native/README.md, "Binary frames").
  static constexpr size_t kMaxPending = 1 << 20;

  // Takes fd (non-blocking); tty: a pty master, which close_input() can only send VEOF to.
  void reset(int fd, bool tty);
  bool open() const { return fd_ >= 0 && !closing_; }
  int fd() const { return fd_; }
  size_t pending() const { return buf_.size() - off_; }
  bool wants_write() const { return fd_ >= 0 && pending() > 0; }
  bool full() const { return pending() >= kMaxPending; }
  void push(const char* data, size_t len);
  // Pipe: closed once what is queued has been written. Tty: a VEOF (^D) is queued.
  void close_input();
  // POLLOUT: writes what is queued; a reader gone (EPIPE/EIO) discards it and closes.
  void on_writable();
  void close_now();

 private:
  int fd_ = -1;
  bool tty_ = false;
  bool closing_ = false;
  std::string buf_;
  size_t off_ = 0;
};

}  // namespace berth
