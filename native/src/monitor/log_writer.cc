// LogWriter: line splitting, the 16 KiB cut on a UTF-8 boundary, the JSON line format
// {"log":...,"stream":...,"time":...,"seq":N} and rotation (native/README.md, "Rotation").
#include "monitor/log_writer.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>

#include "monitor/exit_file.h"
#include "monitor/json_escape.h"
#include "sys/fs_util.h"

namespace berth {

namespace {

// Copies text (without its NUL) to p; returns the end.
char* copy(char* p, const char* text) {
  size_t n = strlen(text);
  memcpy(p, text, n);
  return p + n;
}

long ms_since(const struct timespec& then) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - then.tv_sec) * 1000 + (now.tv_nsec - then.tv_nsec) / 1000000;
}

}  // namespace

LogWriter::LogWriter(int fd, std::string path, const LogSpec& spec, EntrySink sink)
    : fd_(fd), path_(std::move(path)), spec_(spec), sink_(std::move(sink)), seq_(spec.first_seq) {
  // The log may hold a previous run's lines (a restart appends); they count toward the limit.
  struct stat st;
  if (fstat(fd_, &st) == 0) size_ = static_cast<uint64_t>(st.st_size);
  written_behind_ = size_;
}

void LogWriter::stamp() {
  clock_gettime(CLOCK_REALTIME, &now_);
  now_text_ = rfc3339_nano(now_);
}

void LogWriter::feed(Stream s, const char* data, size_t len) {
  std::string& buf = pending_[static_cast<int>(s)];
  clock_gettime(CLOCK_MONOTONIC, &fed_at_[static_cast<int>(s)]);
  stamp();
  // Entries are cut from the read itself when nothing waits before it (the usual case at full speed);
  // only a partial line left over is kept, and joined with the next read.
  const char* p = data;
  size_t size = len;
  if (!buf.empty()) {
    buf.append(data, len);
    p = buf.data();
    size = buf.size();
  }
  size_t pos = 0;
  for (;;) {
    size_t avail = size - pos;
    size_t window = avail < kMaxLine ? avail : kMaxLine;
    const void* nl = memchr(p + pos, '\n', window);
    size_t n;
    if (nl) {
      n = static_cast<const char*>(nl) - (p + pos) + 1;
    } else if (avail >= kMaxLine) {
      // Cut before a character the next piece completes, so it is not turned into U+FFFDs.
      n = utf8_cut(p + pos, kMaxLine);
      if (n == 0) n = kMaxLine;
    } else {
      break;
    }
    emit(s, p + pos, n);
    pos += n;
  }
  if (spec_.partial_ms == 0 && pos < size) {
    // Keep an unfinished UTF-8 character back for the bytes that complete it.
    size_t n = utf8_cut(p + pos, size - pos);
    if (n > 0) emit(s, p + pos, n);
    pos += n;
  }
  write_batch();
  if (p == data) {
    buf.assign(data + pos, len - pos);
  } else {
    buf.erase(0, pos);
  }
}

void LogWriter::finish(Stream s) {
  std::string& buf = pending_[static_cast<int>(s)];
  stamp();
  if (!buf.empty()) emit(s, buf.data(), buf.size());
  write_batch();
  buf.clear();
}

// Called at every loop round: the clock is read and formatted only for an entry it emits.
int LogWriter::flush_stale() {
  int next = -1;
  for (int i = 0; i < 2; i++) {
    std::string& buf = pending_[i];
    if (buf.empty()) continue;
    long age = ms_since(fed_at_[i]);
    if (age < spec_.partial_ms) {
      int left = static_cast<int>(spec_.partial_ms - age);
      next = next < 0 || left < next ? left : next;
      continue;
    }
    // Keep an unfinished UTF-8 character back for the bytes that complete it.
    size_t n = utf8_cut(buf.data(), buf.size());
    if (n == 0) continue;
    stamp();
    emit(static_cast<Stream>(i), buf.data(), n);
    write_batch();
    buf.erase(0, n);
  }
  return next;
}

int LogWriter::sync() { return fsync(fd_) == 0 ? 0 : -1; }

void LogWriter::rotate() {
  size_ = 0;
  written_behind_ = 0;
  for (Range& r : behind_) r = {};
  if (spec_.max_files <= 1) {
    if (ftruncate(fd_, 0) != 0) return;  // keep appending: losing the limit beats losing output
    return;
  }
  auto old = [this](uint32_t n) { return path_ + "." + std::to_string(n); };
  // Only the run of existing old files moves (maxFiles may be large): find its end, then shift
  // oldest first, so each rename lands on a free name or on the file being dropped.
  uint32_t top = 1;
  while (top < spec_.max_files - 1 && access(old(top).c_str(), F_OK) == 0) top++;
  for (uint32_t n = top; n >= 2; n--) rename(old(n - 1).c_str(), old(n).c_str());
  rename(path_.c_str(), old(1).c_str());
  int fd = open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return;  // nowhere new to write: keep the old file rather than stall the container
  // Same fd number: whoever holds fd_ (the exit path's fsync) keeps seeing the current log.
  dup3(fd, fd_, O_CLOEXEC);
  close(fd);
}

// A line goes into the batch; the batch is written once per read (write_batch), so a chunk of
// many short lines costs one write. The sink only queues: entries reach clients after the write.
void LogWriter::emit(Stream s, const char* data, size_t len) {
  static const char kStdout[] = ",\"stream\":\"stdout\",\"time\":\"";
  static const char kStderr[] = ",\"stream\":\"stderr\",\"time\":\"";
  size_t start = batch_.size();
  // The worst case: every byte escaped, plus base64, plus the fixed keys, time and seq.
  char* p = batch_.room(16 + 6 * len + (len + 2) / 3 * 4 + 64 + now_text_.size() + 32);
  p = copy(p, "{\"log\":");
  // Text that is not valid UTF-8 gets U+FFFD in "log" for each bad byte, as Docker's json-file
  // does. Binary output gets an empty "log": more than 1 byte in 4 that is a control byte (6 bytes
  // each as \u00XX: a stream of NULs would be written 6 times over), or, when it is not valid
  // UTF-8, from 0x80 up (the replacement would be noise). Either way "bin" carries the exact bytes,
  // so a reader catching up from the log (attach after a drop, logs) gets the output unchanged.
  // Control bytes are counted first: a run of NULs is decided after a quarter of it, unscanned for UTF-8.
  // The usual line, printable ASCII and its newline, is known for text by one scan and is only copied.
  const size_t body = len > 0 && data[len - 1] == '\n' ? len - 1 : len;
  const bool plain = is_plain_ascii(data, body);
  bool valid = plain;
  bool text = plain || count_controls(data, len, len / 4) * 4 <= len;
  if (text && !plain) {
    valid = is_valid_utf8(data, len);
    text = valid || count_non_ascii(data, len) * 4 <= len;
  }
  if (plain) {
    *p++ = '"';
    memcpy(p, data, body);
    p += body;
    if (body < len) p = copy(p, "\\n");
    *p++ = '"';
  } else if (text) {
    p = write_json_string(p, data, len, &valid);
  } else {
    p = copy(p, "\"\"");
  }
  if (!text || !valid) {
    p = copy(p, ",\"bin\":\"");
    p = write_base64(p, data, len);
    *p++ = '"';
  }
  p = copy(p, s == Stream::kStdout ? kStdout : kStderr);
  memcpy(p, now_text_.data(), now_text_.size());
  p += now_text_.size();
  p = copy(p, "\",\"seq\":");
  // Not snprintf: for 60-byte lines its "%llu" was a fifth of the monitor's CPU (bench/README.md, "The ninth round").
  p = std::to_chars(p, p + 20, seq_).ptr;
  p = copy(p, "}\n");
  batch_.commit(p);
  // Rotate before the entry that would pass the limit; an entry alone above it still goes in.
  if (spec_.max_size_bytes > 0 && size_ + start > 0 && size_ + batch_.size() > spec_.max_size_bytes) {
    std::string line(batch_.data() + start, batch_.size() - start);
    batch_.commit(batch_.data() + start);
    write_batch();
    rotate();
    batch_.append(line.data(), line.size());
  }
  uint64_t ns = static_cast<uint64_t>(now_.tv_sec) * 1000000000ULL + static_cast<uint64_t>(now_.tv_nsec);
  Entry e{s, seq_++, ns, data, len};
  if (sink_) sink_(e);
}

// One write for the whole batch: O_APPEND keeps lines whole for concurrent readers. A failed write
// (ENOSPC) loses these lines but must never stall the container, so it is not retried.
void LogWriter::write_batch() {
  if (batch_.empty()) return;
  if (write_all(fd_, batch_.data(), batch_.size()) == 0) size_ += batch_.size();
  batch_.clear();
  if (spec_.write_behind && size_ - written_behind_ >= kWriteBehindBytes) write_behind();
}

namespace {

#ifndef SYS_cachestat
#define SYS_cachestat 451  // Linux 6.5; the same number on every architecture
#endif

// Has the disk written the range (no page of it dirty or under writeback)? Its last page, partly written, is
// left out: the next bytes dirty it again. cachestat(2) only reads the page cache's counts. False where the
// kernel lacks it (before 6.5): there the log is left to the kernel's writeback.
bool written_back(int fd, uint64_t off, uint64_t len) {
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t end = (off + len) / page * page;
  if (end <= off) return true;
  struct { uint64_t off, len; } range = {off, end - off};
  struct { uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted; } stat = {};
  if (syscall(SYS_cachestat, fd, &range, &stat, 0) != 0) return false;
  return stat.nr_dirty == 0 && stat.nr_writeback == 0;
}

}  // namespace

// Starts the disk writes of the log written since the last start, and returns: SYNC_FILE_RANGE_WRITE waits for
// no I/O, so the writes overlap the output where they all waited for the exit's fsync (bench/README.md). At
// most kRangesInFlight ranges of ours are on their way to the disk: one that is slower than the output gets
// nothing more queued by us, and the kernel's own writeback goes on. (The call waits only for a full request
// queue, which 128 MiB fill only on a device that takes small requests into a short queue.)
void LogWriter::write_behind() {
  const Range& oldest = behind_[0];
  if (oldest.len != 0 && !written_back(fd_, oldest.off, oldest.len)) return;
  // After a wait for the disk, the last two ranges' worth only: the rest is the kernel's to write.
  uint64_t off = size_ - written_behind_ > 2 * kWriteBehindBytes ? size_ - 2 * kWriteBehindBytes : written_behind_;
  sync_file_range(fd_, static_cast<off_t>(off), static_cast<off_t>(size_ - off), SYNC_FILE_RANGE_WRITE);
  for (size_t i = 0; i + 1 < kRangesInFlight; i++) behind_[i] = behind_[i + 1];
  behind_[kRangesInFlight - 1] = {off, size_ - off};
  written_behind_ = size_;
}

}  // namespace berth
