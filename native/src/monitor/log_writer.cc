// LogWriter: line splitting, the 16 KiB cut on a UTF-8 boundary, the JSON line format
// {"log":...,"stream":...,"time":...,"seq":N} and rotation (native/README.md, "Rotation").
#include "monitor/log_writer.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monitor/exit_file.h"
#include "monitor/json_escape.h"
#include "sys/fs_util.h"

namespace berth {

namespace {

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
}

void LogWriter::feed(Stream s, const char* data, size_t len) {
  std::string& buf = pending_[static_cast<int>(s)];
  clock_gettime(CLOCK_MONOTONIC, &fed_at_[static_cast<int>(s)]);
  buf.append(data, len);
  size_t pos = 0;
  for (;;) {
    size_t avail = buf.size() - pos;
    size_t window = avail < kMaxLine ? avail : kMaxLine;
    const void* nl = memchr(buf.data() + pos, '\n', window);
    size_t n;
    if (nl) {
      n = static_cast<const char*>(nl) - (buf.data() + pos) + 1;
    } else if (avail >= kMaxLine) {
      // Cut before a character the next piece completes, so it is not turned into U+FFFDs.
      n = utf8_cut(buf.data() + pos, kMaxLine);
      if (n == 0) n = kMaxLine;
    } else {
      break;
    }
    emit(s, buf.data() + pos, n);
    pos += n;
  }
  if (spec_.partial_ms == 0 && pos < buf.size()) {
    // Keep an unfinished UTF-8 character back for the bytes that complete it.
    size_t n = utf8_cut(buf.data() + pos, buf.size() - pos);
    if (n > 0) emit(s, buf.data() + pos, n);
    pos += n;
  }
  buf.erase(0, pos);
}

void LogWriter::finish(Stream s) {
  std::string& buf = pending_[static_cast<int>(s)];
  if (!buf.empty()) emit(s, buf.data(), buf.size());
  buf.clear();
}

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
    emit(static_cast<Stream>(i), buf.data(), n);
    buf.erase(0, n);
  }
  return next;
}

int LogWriter::sync() { return fsync(fd_) == 0 ? 0 : -1; }

void LogWriter::rotate() {
  size_ = 0;
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

void LogWriter::emit(Stream s, const char* data, size_t len) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  std::string line;
  line.reserve(len + 112);
  line.append("{\"log\":");
  append_json_string(&line, data, len);
  // "log" replaced invalid UTF-8 with U+FFFD, as Docker does; the exact bytes ride along so that
  // a reader catching up from the log (attach after a drop, logs) gets binary output unchanged.
  if (!is_valid_utf8(data, len)) {
    line.append(",\"bin\":\"");
    append_base64(&line, data, len);
    line.push_back('"');
  }
  line.append(s == Stream::kStdout ? ",\"stream\":\"stdout\",\"time\":\"" : ",\"stream\":\"stderr\",\"time\":\"");
  line.append(rfc3339_nano(now));
  line.append("\",\"seq\":");
  line.append(std::to_string(seq_));
  line.append("}\n");
  // Rotate before the entry that would pass the limit; an entry alone above it still goes in.
  if (spec_.max_size_bytes > 0 && size_ > 0 && size_ + line.size() > spec_.max_size_bytes) rotate();
  // One write per line: O_APPEND keeps each line whole for concurrent readers. A failed
  // write (ENOSPC) loses this line but must never stall the container, so it is not retried.
  if (write_all(fd_, line.data(), line.size()) == 0) size_ += line.size();
  Entry e{s, seq_++, static_cast<uint64_t>(now.tv_sec) * 1000000000ULL + static_cast<uint64_t>(now.tv_nsec),
          data, len};
  if (sink_) sink_(e);
}

}  // namespace berth
