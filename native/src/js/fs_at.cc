// js_open_at, js_mknod_at, js_get_xattr: the fd-relative file operations Node lacks, for reading and
// writing a container's rootfs without ever leaving it (docker cp, export, diff; CVE-2018-15664).
// Everything else is done by Node on "/proc/self/fd/<dirFd>/<name>" paths: one name below a directory
// fd, whose final component the caller never follows.
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmath>
#include <vector>

#include "js/entry_points.h"
#include "js/errors.h"
#include "sys/fs_util.h"
#include "sys/unique_fd.h"

namespace berth {

namespace {

const std::string kOpenAtUsage =
    "openAt(dirFd, path, { resolve: 'in-root' | 'beneath', directory?, followLast?, read? }) -> fd";
const std::string kMknodAtUsage = "mknodAt(dirFd, name, { type: 'c'|'b'|'p', major, minor, mode })";
const std::string kGetXattrUsage = "getXattr(path, name) -> Buffer | null";

// openat2 fails with EAGAIN under RESOLVE_IN_ROOT when a rename raced the lookup (the kernel's
// way of staying safe); a container renaming in a loop can make that happen a few times in a row.
constexpr int kOpenAttempts = 64;

int get_fd(const Napi::Value& v, const std::string& usage) {
  if (!v.IsNumber()) throw_usage(v.Env(), usage, "dirFd must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d < 0 || d > 2147483647.0 || std::floor(d) != d)
    throw_usage(v.Env(), usage, "dirFd must be an open file descriptor (an integer >= 0)");
  return static_cast<int>(d);
}

bool get_flag(const Napi::Object& o, const char* key, const std::string& usage) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return false;
  if (!v.IsBoolean()) throw_usage(o.Env(), usage, std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

// A single path component: a "/" or ".." would let mknodat reach outside dirFd.
bool is_single_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
}

}  // namespace

// openat2(2): resolve "in-root" treats dirFd as "/" (symlinks and ".." stay below it,
// RESOLVE_IN_ROOT); "beneath" refuses any symlink or escape (RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS).
// Magic links (/proc/self/root...) are refused by both. Without `read` the fd is O_PATH. Always
// O_CLOEXEC; O_NOFOLLOW unless followLast. The fd is the caller's to close.
Napi::Value js_open_at(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[2].IsObject())
    throw_usage(env, kOpenAtUsage, "expected a dirFd, a path and an options object");
  int dir_fd = get_fd(info[0], kOpenAtUsage);
  std::string path = get_string(info[1], "path", kOpenAtUsage);
  Napi::Object o = info[2].As<Napi::Object>();
  std::string resolve_word = get_string(o.Get("resolve"), "resolve", kOpenAtUsage);
  unsigned long long resolve = RESOLVE_NO_MAGICLINKS;
  if (resolve_word == "in-root") resolve |= RESOLVE_IN_ROOT;
  else if (resolve_word == "beneath") resolve |= RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
  else throw_usage(env, kOpenAtUsage, "resolve must be 'in-root' or 'beneath'");
  int flags = O_CLOEXEC;
  // O_NONBLOCK: a fifo swapped in for a file must not hang the daemon in open(2).
  flags |= get_flag(o, "read", kOpenAtUsage) ? (O_RDONLY | O_NONBLOCK) : O_PATH;
  if (get_flag(o, "directory", kOpenAtUsage)) flags |= O_DIRECTORY;
  if (!get_flag(o, "followLast", kOpenAtUsage)) flags |= O_NOFOLLOW;
  // An empty path names dirFd itself, which openat2 spells ".".
  const char* p = path.empty() ? "." : path.c_str();
  int fd = -1;
  for (int attempt = 0; attempt < kOpenAttempts; attempt++) {
    fd = sys_openat2(dir_fd, p, flags, resolve);
    if (fd >= 0 || (errno != EAGAIN && errno != EINTR)) break;
  }
  if (fd < 0) throw_system_error(env, errno, "openat2", p);
  return Napi::Number::New(env, fd);
}

// mknodat(2) of one name below dirFd, then the exact mode (mknod applies the umask): chmod(2)
// through "/proc/self/fd/<n>" of an O_PATH|O_NOFOLLOW fd on the new node, as glibc's
// fchmodat(AT_SYMLINK_NOFOLLOW) does, so a symlink swapped in meanwhile is never followed.
Napi::Value js_mknod_at(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[2].IsObject())
    throw_usage(env, kMknodAtUsage, "expected a dirFd, a name and an object");
  int dir_fd = get_fd(info[0], kMknodAtUsage);
  std::string name = get_string(info[1], "name", kMknodAtUsage);
  if (!is_single_name(name)) throw_usage(env, kMknodAtUsage, "name must be one path component");
  Napi::Object o = info[2].As<Napi::Object>();
  std::string type = get_string(o.Get("type"), "type", kMknodAtUsage);
  mode_t kind = type == "c" ? S_IFCHR : type == "b" ? S_IFBLK : type == "p" ? S_IFIFO : 0;
  if (!kind) throw_usage(env, kMknodAtUsage, "type must be 'c', 'b' or 'p'");
  uint32_t major_n = get_uint32(o, "major", kMknodAtUsage);
  uint32_t minor_n = get_uint32(o, "minor", kMknodAtUsage);
  uint32_t mode = get_uint32(o, "mode", kMknodAtUsage);
  if (mode > 07777) throw_usage(env, kMknodAtUsage, "mode holds permission bits only (<= 0o7777)");
  dev_t dev = makedev(major_n, minor_n);
  if (mknodat(dir_fd, name.c_str(), kind | (mode & 0777), dev) != 0)
    throw_system_error(env, errno, "mknodat", name.c_str());
  unique_fd node(openat(dir_fd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!node.ok()) throw_system_error(env, errno, "openat", name.c_str());
  struct stat st;
  if (fstat(node.get(), &st) != 0) throw_system_error(env, errno, "fstat", name.c_str());
  // Replaced between the two calls: leave whatever is there alone.
  if ((st.st_mode & S_IFMT) != kind || (kind != S_IFIFO && st.st_rdev != dev))
    throw_system_error(env, EEXIST, "mknodat", name.c_str());
  char proc_path[32];
  snprintf(proc_path, sizeof proc_path, "/proc/self/fd/%d", node.get());
  if (chmod(proc_path, mode) != 0) throw_system_error(env, errno, "chmod", name.c_str());
  return env.Undefined();
}

// lgetxattr(2): the value as a Buffer, or null when the file has no such attribute (ENODATA).
Napi::Value js_get_xattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2) throw_usage(env, kGetXattrUsage, "path and name are required");
  std::string path = get_string(info[0], "path", kGetXattrUsage);
  std::string name = get_string(info[1], "name", kGetXattrUsage);
  if (name.empty()) throw_usage(env, kGetXattrUsage, "name must not be empty");
  std::vector<char> buf(256);
  for (;;) {
    ssize_t n = lgetxattr(path.c_str(), name.c_str(), buf.data(), buf.size());
    if (n >= 0) return Napi::Buffer<char>::Copy(env, buf.data(), static_cast<size_t>(n));
    if (errno == ENODATA) return env.Null();
    if (errno != ERANGE) throw_system_error(env, errno, "lgetxattr", path.c_str());
    // Grew since we asked: ask for the size and try again.
    ssize_t size = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (size < 0) {
      if (errno == ENODATA) return env.Null();
      throw_system_error(env, errno, "lgetxattr", path.c_str());
    }
    buf.resize(static_cast<size_t>(size) + 1);
  }
}

}  // namespace berth
