// LogWriter: line splitting, the 16 KiB cut on a UTF-8 boundary, and the JSON line format
// {"log":...,"stream":...,"time":...} of Docker's json-file driver.
#include "monitor/log_writer.h"

#include <string.h>
#include <unistd.h>

#include "monitor/exit_file.h"
#include "monitor/json_escape.h"
#include "sys/fs_util.h"

namespace berth {

void LogWriter::feed(Stream s, const char* data, size_t len) {
  std::string& buf = pending_[static_cast<int>(s)];
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
  buf.erase(0, pos);
}

void LogWriter::finish(Stream s) {
  std::string& buf = pending_[static_cast<int>(s)];
  if (!buf.empty()) emit(s, buf.data(), buf.size());
  buf.clear();
}

int LogWriter::sync() { return fsync(fd_) == 0 ? 0 : -1; }

void LogWriter::emit(Stream s, const char* data, size_t len) {
  std::string line;
  line.reserve(len + 96);
  line.append("{\"log\":");
  append_json_string(&line, data, len);
  line.append(s == Stream::kStdout ? ",\"stream\":\"stdout\",\"time\":\"" : ",\"stream\":\"stderr\",\"time\":\"");
  line.append(now_rfc3339_nano());
  line.append("\"}\n");
  // One write per line: O_APPEND keeps each line whole for concurrent readers. A failed
  // write (ENOSPC) loses this line but must never stall the container, so it is not retried.
  write_all(fd_, line.data(), line.size());
}

}  // namespace berth
