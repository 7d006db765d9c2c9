// Init's mount steps: root propagation, the rootfs bind, the spec's mounts, and
// pivot_root(".", ".") followed by a lazy unmount of the old root (pivot_root(2), NOTES).
#include <errno.h>
#include <sys/mount.h>
#include <unistd.h>

#include "child/steps.h"
#include "sys/fs_util.h"

namespace berth {

int make_root_private() {
  return mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 ? 0 : errno;
}

int bind_rootfs(const char* rootfs) {
  return mount(rootfs, rootfs, nullptr, MS_BIND | MS_REC, nullptr) == 0 ? 0 : errno;
}

int apply_mount_step(const MountStep& m) {
  // TODO(#7): resolve targets with openat2(RESOLVE_IN_ROOT) so a symlink in an untrusted
  // rootfs cannot point a mount outside it; today the rootfs is trusted.
  int err = m.is_file ? ensure_file(m.op.target) : mkdir_p(m.op.target, 0755);
  if (err) return err;
  const char* syscall;
  return apply_mount(m.op, &syscall);
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
