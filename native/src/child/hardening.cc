// Init's path steps of the spec's "security", after its mounts, devices and symlinks: sysctls,
// masked paths, read-only paths (before pivot_root), and the read-only rootfs (after it). Every
// path is opened inside the rootfs (openat2 RESOLVE_IN_ROOT) and mounted onto through
// /proc/self/fd/<fd>, never joined to the rootfs textually (see mounts.cc).
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "child/steps.h"
#include "sys/fs_util.h"

namespace berth {

namespace {

// MS_* flags of the mount under fd that a MS_BIND|MS_REMOUNT must repeat: without them the
// remount would try to clear them, which a locked mount refuses with EPERM (runc reads them too).
int mount_flags(int fd, unsigned long* out) {
  struct statvfs sv;
  if (fstatvfs(fd, &sv) != 0) return errno;
  static const struct {
    unsigned long st, ms;
  } kMap[] = {
      {ST_RDONLY, MS_RDONLY},         {ST_NOSUID, MS_NOSUID},     {ST_NODEV, MS_NODEV},
      {ST_NOEXEC, MS_NOEXEC},         {ST_NOATIME, MS_NOATIME},   {ST_NODIRATIME, MS_NODIRATIME},
      {ST_RELATIME, MS_RELATIME},     {ST_SYNCHRONOUS, MS_SYNCHRONOUS},
  };
  *out = 0;
  for (const auto& m : kMap)
    if (sv.f_flag & m.st) *out |= m.ms;
  return 0;
}

// The container's /dev/null opened without following it, and only if it is the real null device:
// a container (or one sharing its /dev) may have swapped it for a symlink or another node, and
// binding that over a masked path would expose whatever it names (CVE-2025-31133).
int open_null_device(int root_fd, int* out) {
  int fd;
  if (int err = open_existing_in_root(root_fd, "/dev/null", O_PATH | O_NOFOLLOW, &fd)) return err;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return err;
  }
  // 1:3 is the null device (Documentation/admin-guide/devices.txt), what runc and Docker mask with.
  if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3) {
    close(fd);
    return ENODEV;
  }
  *out = fd;
  return 0;
}

// Binds the null device over target (a /proc/self/fd path), opening and checking the container's
// /dev/null on first use; *null_fd keeps it for the masks after this one.
int bind_null_device(int root_fd, int* null_fd, const char* target) {
  if (*null_fd < 0)
    if (int err = open_null_device(root_fd, null_fd)) return err;
  // From the verified fd, never from a path: nothing can be swapped in between.
  char at[32];
  return mount(proc_fd_path(*null_fd, at), target, nullptr, MS_BIND, nullptr) == 0 ? 0 : errno;
}

// `after` (the path opened again after a bind onto itself) must name the new mount on top of what
// `before` names: the same inode (dev/ino) under another mount id. Anything else means the path
// changed in between, and we stop (EXDEV, as mounts.cc's reopen_mounted).
int same_file_new_mount(int before, int after) {
  struct statx a, b;
  if (statx(before, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, &a) != 0 ||
      statx(after, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, &b) != 0)
    return errno;
  bool same = a.stx_dev_major == b.stx_dev_major && a.stx_dev_minor == b.stx_dev_minor &&
              a.stx_ino == b.stx_ino;
  return same && a.stx_mnt_id != b.stx_mnt_id ? 0 : EXDEV;
}

// Bind of fd's file onto itself, then the remount of the new mount read-only.
int bind_readonly(int root_fd, const char* path, int fd) {
  char at[32];
  const char* self = proc_fd_path(fd, at);
  if (mount(self, self, nullptr, MS_BIND | MS_REC, nullptr) != 0) return errno;
  // fd names the dentry below the new mount, where a remount fails (EINVAL): open it again.
  int top;
  if (int err = open_existing_in_root(root_fd, path, O_PATH, &top)) return err;
  unsigned long flags = 0;
  int err = same_file_new_mount(fd, top);
  if (!err) err = mount_flags(top, &flags);
  // nosuid, nodev and noexec as runc adds them; the flags found are kept (locked ones included).
  flags |= MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  char top_at[32];
  if (!err && mount(nullptr, proc_fd_path(top, top_at), nullptr, flags, nullptr) != 0) err = errno;
  close(top);
  return err;
}

}  // namespace

int write_sysctl(const SysctlStep& s, int root_fd) {
  // The rootfs's /proc is the container's procfs: net.* is that of our net namespace, kernel.shm*
  // that of our ipc namespace. The last component is never followed.
  int fd;
  if (int err = open_existing_in_root(root_fd, s.path, O_WRONLY | O_NOFOLLOW | O_NOCTTY, &fd))
    return err;
  // One write with the whole value: a sysctl parses each write(2) on its own.
  ssize_t n = write(fd, s.value, s.value_len);
  int err = n < 0 ? errno : static_cast<size_t>(n) != s.value_len ? EIO : 0;
  close(fd);
  return err;
}

int mask_path(const char* path, int root_fd, int* null_fd) {
  int fd;
  // The last component is not followed: a symlink there is covered itself.
  int err = open_existing_in_root(root_fd, path, O_PATH | O_NOFOLLOW, &fd);
  if (err) return err == ENOENT ? 0 : err;  // nothing to hide (Docker skips it too)
  struct stat st;
  char at[32];
  const char* target = proc_fd_path(fd, at);
  if (fstat(fd, &st) != 0) {
    err = errno;
  } else if (S_ISDIR(st.st_mode)) {
    // An empty read-only tmpfs hides the directory's entries.
    const unsigned long flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (mount("tmpfs", target, "tmpfs", flags, "size=4k,mode=755") != 0) err = errno;
  } else {
    err = bind_null_device(root_fd, null_fd, target);
  }
  close(fd);
  return err;
}

int make_readonly(const char* path, int root_fd) {
  int fd;
  // Followed inside the rootfs: what a symlink here names is what must become read-only.
  int err = open_existing_in_root(root_fd, path, O_PATH, &fd);
  if (err) return err == ENOENT ? 0 : err;
  err = bind_readonly(root_fd, path, fd);
  close(fd);
  return err;
}

int remount_root_readonly() {
  int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  unsigned long flags = 0;
  int err = mount_flags(fd, &flags);
  close(fd);
  if (err) return err;
  // Only the rootfs's own mount: /dev, /proc, /dev/shm and volumes are mounts of their own.
  flags |= MS_BIND | MS_REMOUNT | MS_RDONLY;
  return mount(nullptr, "/", nullptr, flags, nullptr) == 0 ? 0 : errno;
}

}  // namespace berth
