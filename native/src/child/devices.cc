// Init's device nodes and symlinks, created under the rootfs before pivot_root. Their parents
// are opened inside the rootfs (open_parent_in_root), and the last component is made relative
// to that fd, never followed: a symlinked /dev in an image cannot send a node to the host.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child/steps.h"
#include "sys/fs_util.h"

namespace berth {

namespace {

int make_device(int dir, const char* name, const DeviceStep& d) {
  if (mknodat(dir, name, d.mode, d.dev) != 0) {
    // An image may ship its own /dev entries (or symlinks there); ours replace them.
    if (errno != EEXIST || unlinkat(dir, name, 0) != 0 || mknodat(dir, name, d.mode, d.dev) != 0)
      return errno;
  }
  if (fchownat(dir, name, d.uid, d.gid, AT_SYMLINK_NOFOLLOW) != 0) return errno;
  // After mknod: mknod(2) applies the umask, the spec's mode must hold exactly.
  return fchmodat(dir, name, d.mode & 07777, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
}

int make_symlink(int dir, const char* name, const SymlinkStep& s) {
  if (symlinkat(s.target, dir, name) == 0) return 0;
  if (errno != EEXIST) return errno;
  struct stat st;
  // Replace an existing symlink, never a file or directory the image put there.
  if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
  if (!S_ISLNK(st.st_mode)) return EEXIST;
  if (unlinkat(dir, name, 0) != 0 || symlinkat(s.target, dir, name) != 0) return errno;
  return 0;
}

}  // namespace

int create_device(const DeviceStep& d, int root_fd) {
  int dir;
  char name[NAME_MAX + 1];
  if (int err = open_parent_in_root(root_fd, d.path, &dir, name)) return err;
  int err = make_device(dir, name, d);
  close(dir);
  return err;
}

int create_symlink(const SymlinkStep& s, int root_fd) {
  int dir;
  char name[NAME_MAX + 1];
  if (int err = open_parent_in_root(root_fd, s.path, &dir, name)) return err;
  int err = make_symlink(dir, name, s);
  close(dir);
  return err;
}

}  // namespace berth
