// The exit file berthd's recovery trusts: written atomically so a crash never leaves half of it.
#include "monitor/exit_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "sys/fs_util.h"
#include "sys/unique_fd.h"

namespace berth {

namespace {

// The UTC calendar date of a day count since 1970-01-01, by arithmetic on 400-year eras of 146097
// days, each starting on March 1st (so the leap day ends a year). glibc's gmtime_r loads the time zone
// file on its first call, even for UTC: seven syscalls in every monitor, at its first log line or at the
// exit (twelfth round).
void civil_date(long long days, long long* year, int* month, int* day) {
  const long long z = days + 719468;  // days from 0000-03-01
  const long long era = (z >= 0 ? z : z - 146096) / 146097;
  const long long doe = z - era * 146097;                                  // [0, 146096]
  const long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);           // [0, 365], from March 1st
  const long long mp = (5 * doy + 2) / 153;                                // March = 0
  *day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *year = yoe + era * 400 + (*month <= 2 ? 1 : 0);
}

}  // namespace

std::string rfc3339_nano(const struct timespec& ts) {
  long long secs = ts.tv_sec;
  long long days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  long long in_day = secs - days * 86400;
  long long year;
  int month, day;
  civil_date(days, &year, &month, &day);
  char buf[64];
  snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02lld:%02lld:%02lld.%09ldZ", year, month, day, in_day / 3600,
           in_day / 60 % 60, in_day % 60, ts.tv_nsec);
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
