// The exit file berthd's recovery trusts: written atomically so a crash never leaves half of it.
#include "monitor/exit_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "sys/fs_util.h"
#include "sys/unique_fd.h"

namespace berth {

std::string rfc3339_nano(const struct timespec& ts) {
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
  return buf;
}

std::string now_rfc3339_nano() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return rfc3339_nano(ts);
}

int write_exit_file(const std::string& dir, int exit_code, int signal, const std::string& finished_at, bool durable) {
  unique_fd dir_fd(open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.ok()) return errno;
  std::string body = "{\"exitCode\":" + std::to_string(exit_code) +
                     ",\"signal\":" + std::to_string(signal) + ",\"finishedAt\":\"" +
                     finished_at + "\"}\n";
  {
    unique_fd fd(openat(dir_fd.get(), "exit.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.ok()) return errno;
    if (int err = write_all(fd.get(), body.data(), body.size())) return err;
    if (durable && fsync(fd.get()) != 0) return errno;
  }
  if (renameat(dir_fd.get(), "exit.tmp", dir_fd.get(), "exit") != 0) return errno;
  if (!durable) return 0;
  // The rename itself is only durable once the directory is synced.
  return fsync(dir_fd.get()) == 0 ? 0 : errno;
}

}  // namespace berth
