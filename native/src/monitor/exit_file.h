// Timestamps (RFC 3339, nanoseconds, UTC) and the atomic `exit` file.
#pragma once

#include <time.h>

#include <string>

namespace berth {

// "2026-11-30T00:00:00.123456789Z": always 9 fraction digits, like Docker's json-file.
std::string rfc3339_nano(const struct timespec& ts);
std::string now_rfc3339_nano();

// Writes `exit` in dir ("" the cwd) via exit.tmp, fsync, rename, fsync of the directory; without
// `durable`, the same without the two fsyncs. Returns 0 or an errno. The directory is opened only
// here: an fd of it held from the start would be init's too (a clone), a way out of its root.
int write_exit_file(const std::string& dir, int exit_code, int signal, const std::string& finished_at, bool durable);

}  // namespace berth
