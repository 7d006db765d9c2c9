// js_sealed_executable: a sealed, read-only memfd copy of a binary for berthd to execute, so
// /proc/<pid>/exe of the monitor (and of what it forks) can never be written (CVE-2019-5736).
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "js/entry_points.h"
#include "js/errors.h"
#include "sys/fs_util.h"
#include "sys/unique_fd.h"

namespace berth {

namespace {

// sendfile(2) into the memfd; some files (procfs, some FUSE) refuse it, then read/write.
int copy_all(int from, int to, off_t size) {
  off_t done = 0;
  while (done < size) {
    ssize_t n = sendfile(to, from, nullptr, static_cast<size_t>(size - done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EINVAL || errno == ENOSYS) && done == 0) break;
    if (n < 0) return errno;
    if (n == 0) return 0;  // the file shrank under us: what we have is what there is
    done += n;
  }
  if (done > 0 || size == 0) return 0;
  char buf[65536];
  for (;;) {
    ssize_t n = read(from, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return 0;
    if (int err = write_all(to, buf, static_cast<size_t>(n))) return err;
  }
}

}  // namespace

Napi::Value js_sealed_executable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string usage = "sealedExecutable(path) -> fd";
  if (info.Length() < 1) throw_usage(env, usage, "path is required");
  std::string path = get_string(info[0], "path", usage);
  unique_fd src(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src.ok()) throw_system_error(env, errno, "open", path.c_str());
  struct stat st;
  if (fstat(src.get(), &st) != 0) throw_system_error(env, errno, "fstat", path.c_str());
  // CLOEXEC: berthd executes it through /proc/<pid>/fd, which needs no inherited copy.
  unique_fd mem(memfd_create("berth-monitor", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!mem.ok()) throw_system_error(env, errno, "memfd_create", path.c_str());
  if (int err = copy_all(src.get(), mem.get(), st.st_size)) throw_system_error(env, err, "sendfile", path.c_str());
  // The exec bits: a memfd starts 0777 less the umask; make it what the file was, never writable.
  if (fchmod(mem.get(), st.st_mode & 0555) != 0) throw_system_error(env, errno, "fchmod", path.c_str());
  if (fcntl(mem.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0)
    throw_system_error(env, errno, "fcntl", path.c_str());
  return Napi::Number::New(env, mem.release());
}

}  // namespace berth
