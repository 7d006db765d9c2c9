// The json-file log: init's stdout/stderr bytes -> one Docker-style JSON object per line.
#pragma once

#include <stddef.h>

#include <string>

namespace berth {

enum class Stream { kStdout = 0, kStderr = 1 };

class LogWriter {
 public:
  // A message's "log" holds at most this many bytes (newline included), as in Docker's copier.
  static constexpr size_t kMaxLine = 16 * 1024;

  explicit LogWriter(int fd) : fd_(fd) {}
  // Buffers data and writes every complete line (and every full 16 KiB piece).
  void feed(Stream s, const char* data, size_t len);
  // EOF on the stream: writes what is left as a last message without "\n".
  void finish(Stream s);
  int sync();

 private:
  void emit(Stream s, const char* data, size_t len);

  int fd_;
  std::string pending_[2];
};

}  // namespace berth
