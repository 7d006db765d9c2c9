// Init's device nodes and symlinks, created under the rootfs before pivot_root. Their parents
// are opened inside the rootfs (open_in_root), and the last component is made relative to that
// fd, never followed: a symlinked /dev in an image cannot send a node to the host.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child/steps.h"
#include "sys/fs_util.h"

namespace berth {

namespace {

// Called with the umask at 0 (init_main), so mknod(2) gives the spec's mode as it is; the check after
// the chown catches what still differs (a default ACL on the directory, bits a chown clears). The
// chmod with AT_SYMLINK_NOFOLLOW goes through glibc's O_PATH, fstat and /proc/self/fd path: four
// calls, for each of the default devices, before this check made it rare.
int make_device(int dir, const char* name, const DeviceStep& d) {
  if (mknodat(dir, name, d.mode, d.dev) != 0) {
    // An image may ship its own /dev entries (or symlinks there); ours replace them.
    if (errno != EEXIST || unlinkat(dir, name, 0) != 0 || mknodat(dir, name, d.mode, d.dev) != 0)
      return errno;
  }
  if (fchownat(dir, name, d.uid, d.gid, AT_SYMLINK_NOFOLLOW) != 0) return errno;
  struct stat st;
  if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
  if ((st.st_mode & 07777) == (d.mode & 07777)) return 0;
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

// The parent of `path` from the cache when it is the one opened last, else opened inside the root
// (directories created) and kept in its place; name gets the last component.
int parent_dir(int root_fd, const char* path, ParentDir* cache, char* name, int* dir) {
  char parent[PATH_MAX];
  if (int err = split_parent(path, parent, name)) return err;
  if (cache->fd < 0 || strcmp(cache->path, parent) != 0) {
    int fd;
    if (int err = open_in_root(root_fd, parent, false, &fd)) return err;
    if (cache->fd >= 0) close(cache->fd);
    cache->fd = fd;
    memcpy(cache->path, parent, strlen(parent) + 1);
  }
  *dir = cache->fd;
  return 0;
}

}  // namespace

int create_device(const DeviceStep& d, int root_fd, ParentDir* cache) {
  int dir;
  char name[NAME_MAX + 1];
  if (int err = parent_dir(root_fd, d.path, cache, name, &dir)) return err;
  return make_device(dir, name, d);
}

int create_symlink(const SymlinkStep& s, int root_fd, ParentDir* cache) {
  int dir;
  char name[NAME_MAX + 1];
  if (int err = parent_dir(root_fd, s.path, cache, name, &dir)) return err;
  return make_symlink(dir, name, s);
}

}  // namespace berth
