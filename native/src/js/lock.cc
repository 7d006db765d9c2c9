// js_lock_file: the daemon's single-instance lock, an exclusive non-blocking flock(2).
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "js/entry_points.h"
#include "js/errors.h"
#include "sys/unique_fd.h"

namespace berth {

Napi::Value js_lock_file(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string usage = "lockFile(path) -> fd";
  if (info.Length() < 1) throw_usage(env, usage, "path is required");
  std::string path = get_string(info[0], "path", usage);
  // CLOEXEC so containers and the monitor never inherit (and so never hold) the lock.
  unique_fd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600));
  if (!fd.ok()) throw_system_error(env, errno, "open", path.c_str());
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    // EAGAIN and EWOULDBLOCK are one number; the contract names it EWOULDBLOCK for flock.
    throw_system_error(env, err, "flock", path.c_str(), err == EWOULDBLOCK ? "EWOULDBLOCK" : nullptr);
  }
  return Napi::Number::New(env, fd.release());
}

}  // namespace berth
