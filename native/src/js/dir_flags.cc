// js_spread_subdirectories: marks a directory FS_TOPDIR_FL ("chattr +T"), so that ext4's Orlov allocator
// places each new subdirectory in a block group of its own choosing instead of its parent's.
//
// Why berthd wants it: on ext4 without a journal (this project's test and bench hosts), every inode allocation
// skips, one by one, each inode of its block group freed in the last 60 s (300 s more while that inode's table
// block is dirty), reading each one's inode table block to check (recently_deleted). A container makes and
// frees about a dozen inodes (its directory and files, its overlay's directories, overlayfs' probes at mount),
// all in the group of `containers` or `overlay`: under load that scan was 45% of berthd's pool threads' CPU
// (bench/README.md). Spread over the groups, each scan meets few recently freed inodes.
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

#include "js/entry_points.h"
#include "js/errors.h"
#include "sys/unique_fd.h"

namespace berth {

Napi::Value js_spread_subdirectories(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string usage = "spreadSubdirectories(path) -> boolean";
  if (info.Length() < 1) throw_usage(env, usage, "path is required");
  std::string path = get_string(info[0], "path", usage);
  unique_fd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.ok()) throw_system_error(env, errno, "open", path.c_str());
  int flags = 0;
  // A filesystem without inode flags (tmpfs, overlay) or without this one: nothing to spread.
  if (ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) != 0) {
    if (errno == ENOTTY || errno == EOPNOTSUPP || errno == EINVAL) return Napi::Boolean::New(env, false);
    throw_system_error(env, errno, "ioctl FS_IOC_GETFLAGS", path.c_str());
  }
  if (flags & FS_TOPDIR_FL) return Napi::Boolean::New(env, true);
  flags |= FS_TOPDIR_FL;
  if (ioctl(fd.get(), FS_IOC_SETFLAGS, &flags) != 0) {
    if (errno == ENOTTY || errno == EOPNOTSUPP || errno == EINVAL) return Napi::Boolean::New(env, false);
    throw_system_error(env, errno, "ioctl FS_IOC_SETFLAGS", path.c_str());
  }
  return Napi::Boolean::New(env, true);
}

}  // namespace berth
