// Init's mount steps: root propagation, the rootfs bind, the spec's mounts, and
// pivot_root(".", ".") followed by a lazy unmount of the old root (pivot_root(2), NOTES).
// Every mount target is opened inside the rootfs (open_in_root: openat2 RESOLVE_IN_ROOT) and
// mounted onto through /proc/self/fd/<fd>, as runc does, so a symlink in an image, or one a
// container sharing a volume swaps in, can never point a mount at the host (CVE-2021-30465).
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child/steps.h"
#include "sys/fs_util.h"

namespace berth {

namespace {

// The new mount's root, opened again through the same container path: the fd we mounted onto
// names the dentry below the mount, where a remount would fail (EINVAL). A bind must find its
// own source there; anything else means the path changed in between, and we stop.
int reopen_mounted(int root_fd, const MountStep& m, int* out) {
  int fd;
  if (int err = open_in_root(root_fd, m.op.target, m.is_file, &fd)) return err;
  if (m.op.flags & MS_BIND) {
    struct stat want, got;
    if (stat(m.op.source, &want) != 0 || fstat(fd, &got) != 0) {
      int err = errno;
      close(fd);
      return err;
    }
    if (want.st_dev != got.st_dev || want.st_ino != got.st_ino) {
      close(fd);
      return EXDEV;
    }
  }
  *out = fd;
  return 0;
}

}  // namespace

int make_root_private() {
  return mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 ? 0 : errno;
}

int bind_rootfs(const char* rootfs, int* root_fd) {
  if (mount(rootfs, rootfs, nullptr, MS_BIND | MS_REC, nullptr) != 0) return errno;
  // Opened after the bind, so the fd is the new mount: every later step resolves under it.
  *root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return *root_fd >= 0 ? 0 : errno;
}

int apply_mount_step(const MountStep& m, int root_fd) {
  int fd;
  if (int err = open_in_root(root_fd, m.op.target, m.is_file, &fd)) return err;
  char at[32];
  MountOp first = m.op;
  first.target = proc_fd_path(fd, at);
  const char* syscall;
  int err = mount_first(first, &syscall);
  close(fd);
  if (err || !needs_finish(m.op)) return err;
  if ((err = reopen_mounted(root_fd, m, &fd))) return err;
  err = mount_finish(m.op, proc_fd_path(fd, at), &syscall);
  close(fd);
  return err;
}

int do_pivot_root(const char* rootfs) {
  if (chdir(rootfs) != 0) return errno;
  // new_root == put_old: the old root ends up stacked on "." and needs no directory in the image.
  return sys_pivot_root(".", ".") == 0 ? 0 : errno;
}

int umount_old_root() {
  if (umount2(".", MNT_DETACH) != 0) return errno;
  return chdir("/") == 0 ? 0 : errno;
}

}  // namespace berth
