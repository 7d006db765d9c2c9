// Init's device nodes and symlinks, created under the rootfs before pivot_root.
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child/steps.h"
#include "sys/fs_util.h"

namespace berth {

namespace {

int make_parent(const char* path) {
  char dir[PATH_MAX];
  size_t len = strlen(path);
  if (len >= sizeof dir) return ENAMETOOLONG;
  memcpy(dir, path, len + 1);
  char* slash = strrchr(dir, '/');
  if (!slash || slash == dir) return 0;
  *slash = '\0';
  return mkdir_p(dir, 0755);
}

}  // namespace

int create_device(const DeviceStep& d) {
  if (int err = make_parent(d.path)) return err;
  if (mknod(d.path, d.mode, d.dev) != 0) {
    // An image may ship its own /dev entries; ours replace them.
    if (errno != EEXIST || unlink(d.path) != 0 || mknod(d.path, d.mode, d.dev) != 0) return errno;
  }
  if (chown(d.path, d.uid, d.gid) != 0) return errno;
  // After mknod: mknod(2) applies the umask, the spec's mode must hold exactly.
  return chmod(d.path, d.mode & 07777) == 0 ? 0 : errno;
}

int create_symlink(const SymlinkStep& s) {
  if (int err = make_parent(s.path)) return err;
  if (symlink(s.target, s.path) == 0) return 0;
  if (errno != EEXIST) return errno;
  struct stat st;
  // Replace an existing symlink, never a file or directory the image put there.
  if (lstat(s.path, &st) != 0) return errno;
  if (!S_ISLNK(st.st_mode)) return EEXIST;
  if (unlink(s.path) != 0 || symlink(s.target, s.path) != 0) return errno;
  return 0;
}

}  // namespace berth
