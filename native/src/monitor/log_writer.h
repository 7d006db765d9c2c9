// The json-file log: init's stdout/stderr bytes -> one Docker-style JSON object per entry, each
// with its sequence number; rotation by size; every entry is also handed on to attached clients.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <functional>
#include <string>

#include "monitor/byte_buffer.h"
#include "monitor/spec.h"

namespace berth {

enum class Stream { kStdout = 0, kStderr = 1 };

// One log entry; data is only valid during the callback, which runs before the line is written
// (the writer batches): a sink queues, and hands entries on once the read is handled.
struct Entry {
  Stream stream;
  uint64_t seq;
  uint64_t time_ns;  // since the epoch, the same instant as the line's "time"
  const char* data;
  size_t len;
};

class LogWriter {
 public:
  // A message's "log" holds at most this many bytes (newline included), as in Docker's copier.
  static constexpr size_t kMaxLine = 16 * 1024;
  // With spec.write_behind, the disk writes of every this many bytes written are started (not waited for).
  static constexpr uint64_t kWriteBehindBytes = 8 << 20;
  using EntrySink = std::function<void(const Entry&)>;

  LogWriter(int fd, std::string path, const LogSpec& spec, EntrySink sink);
  // Buffers data and writes every complete line (and every full 16 KiB piece).
  void feed(Stream s, const char* data, size_t len);
  // EOF on the stream: writes what is left as a last message without "\n".
  void finish(Stream s);
  // Emits partial lines older than spec.partial_ms (so a prompt without "\n" reaches clients); returns ms until the next is due, or -1 for none.
  int flush_stale();
  int sync();
  // The seq the next entry gets: every smaller one is already in the file.
  uint64_t next_seq() const { return seq_; }

 private:
  void stamp();
  void emit(Stream s, const char* data, size_t len);
  void write_batch();
  void write_behind();
  void rotate();

  int fd_;
  std::string path_;
  LogSpec spec_;
  EntrySink sink_;
  uint64_t size_ = 0;
  // Where the writes started behind the log end (write_behind), and the last ranges started, oldest first.
  static constexpr size_t kRangesInFlight = 16;
  uint64_t written_behind_ = 0;
  struct Range {
    uint64_t off = 0, len = 0;
  };
  Range behind_[kRangesInFlight];
  uint64_t seq_;
  std::string pending_[2];
  struct timespec fed_at_[2] = {};
  // Lines not yet written, and the time every entry of the current read gets.
  ByteBuffer batch_;
  struct timespec now_ = {};
  std::string now_text_;
};

}  // namespace berth
