// Allocation-free file helpers for the child and the monitor (see fs_util.h).
#include "sys/fs_util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

namespace berth {

namespace {

constexpr unsigned long long kInRoot = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
// Symlinks followed by hand while creating missing components (the kernel's own limit is 40).
constexpr int kMaxLinks = 40;
// open_in_root_once's result when it rewrote the path through a dangling symlink: try again.
constexpr int kRewritten = -1;

int open_beneath(int root_fd, const char* path) {
  return sys_openat2(root_fd, *path ? path : "/", O_PATH | O_CLOEXEC, kInRoot);
}

// Creates the first missing component of path (NUL-terminated, in a PATH_MAX buffer), or
// rewrites path through the dangling symlink found there. 0: something was created, the caller
// opens path again; kRewritten: path now goes through the link's target; else an errno.
int create_first_missing(int root_fd, char* path, bool is_file) {
  size_t len = strlen(path);
  int parent = open_beneath(root_fd, "/");
  if (parent < 0) return errno;
  size_t start = 0;
  while (start < len) {
    while (start < len && path[start] == '/') start++;
    size_t end = start;
    while (end < len && path[end] != '/') end++;
    if (end == start) break;
    char saved = path[end];
    path[end] = '\0';
    int fd = open_beneath(root_fd, path);
    int open_errno = errno;
    char name[NAME_MAX + 1];
    size_t name_len = end - start;
    if (name_len <= NAME_MAX) memcpy(name, path + start, name_len + 1);
    path[end] = saved;
    if (fd >= 0) {
      close(parent);
      parent = fd;
      start = end;
      continue;
    }
    if (open_errno != ENOENT) return close(parent), open_errno;
    if (name_len > NAME_MAX) return close(parent), ENAMETOOLONG;
    size_t rest = end;
    while (rest < len && path[rest] == '/') rest++;
    const bool last = rest == len;
    int made;
    if (last && is_file) {
      made = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0644);
      if (made >= 0) close(made);
    } else {
      made = mkdirat(parent, name, 0755);
    }
    if (made >= 0) return close(parent), 0;
    if (errno != EEXIST) return close(parent), errno;
    // It exists but does not open: a symlink to something missing. Go on at its target, still
    // inside the root: an absolute target from the root, a relative one from its directory.
    char link[PATH_MAX];
    ssize_t n = readlinkat(parent, name, link, sizeof link - 1);
    int link_errno = errno;
    close(parent);
    if (n < 0) return link_errno == EINVAL ? EEXIST : link_errno;
    link[n] = '\0';
    char next[PATH_MAX];
    size_t prefix = link[0] == '/' ? 0 : start;
    size_t tail = len - end;
    if (prefix + static_cast<size_t>(n) + tail >= sizeof next) return ENAMETOOLONG;
    memcpy(next, path, prefix);
    memcpy(next + prefix, link, static_cast<size_t>(n));
    memcpy(next + prefix + n, path + end, tail + 1);
    memcpy(path, next, prefix + n + tail + 1);
    return kRewritten;
  }
  close(parent);
  return ENOENT;  // every component opened, yet the whole path did not: it changed under us
}

}  // namespace

int write_all(int fd, const void* buf, size_t len) {
  const char* p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return 0;
}

ssize_t read_full(int fd, void* buf, size_t len) {
  char* p = static_cast<char*>(buf);
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, p + got, len - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

int mkdir_p(const char* path, mode_t mode) {
  char buf[PATH_MAX];
  size_t len = strlen(path);
  if (len == 0 || len >= sizeof buf) return len ? ENAMETOOLONG : ENOENT;
  memcpy(buf, path, len + 1);
  // Create each prefix in turn; EEXIST is fine as long as the final path is a directory.
  for (size_t i = 1; i <= len; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char saved = buf[i];
    buf[i] = '\0';
    if (mkdir(buf, mode) != 0 && errno != EEXIST) return errno;
    buf[i] = saved;
  }
  struct stat st;
  if (stat(path, &st) != 0) return errno;
  return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

int ensure_file(const char* path) {
  struct stat st;
  if (stat(path, &st) == 0) return 0;
  if (errno != ENOENT) return errno;
  char dir[PATH_MAX];
  size_t len = strlen(path);
  if (len >= sizeof dir) return ENAMETOOLONG;
  memcpy(dir, path, len + 1);
  if (char* slash = strrchr(dir, '/'); slash && slash != dir) {
    *slash = '\0';
    if (int err = mkdir_p(dir, 0755)) return err;
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

int sys_pivot_root(const char* new_root, const char* put_old) {
  return static_cast<int>(syscall(SYS_pivot_root, new_root, put_old));
}

int sys_openat2(int dirfd, const char* path, int flags, unsigned long long resolve) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = static_cast<unsigned long long>(flags);
  how.resolve = resolve;
  return static_cast<int>(syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

int open_in_root(int root_fd, const char* path, bool is_file, int* out) {
  char buf[PATH_MAX];
  size_t len = strlen(path);
  if (len >= sizeof buf) return ENAMETOOLONG;
  memcpy(buf, path, len + 1);
  // Each round either opens the path, creates one missing component, or follows one link.
  for (int links = 0, rounds = 0; rounds < PATH_MAX; rounds++) {
    int fd = open_beneath(root_fd, buf);
    if (fd >= 0) {
      *out = fd;
      return 0;
    }
    if (errno != ENOENT) return errno;
    int err = create_first_missing(root_fd, buf, is_file);
    if (err == kRewritten) {
      if (++links > kMaxLinks) return ELOOP;
      continue;
    }
    if (err) return err;
  }
  return ELOOP;
}

int open_existing_in_root(int root_fd, const char* path, int flags, int* out) {
  // The kernel gives EAGAIN rather than risk a wrong answer when a rename ran during the walk.
  for (int tries = 0; tries < 64; tries++) {
    int fd = sys_openat2(root_fd, *path ? path : "/", flags | O_CLOEXEC, kInRoot);
    if (fd >= 0) {
      *out = fd;
      return 0;
    }
    if (errno != EAGAIN) return errno;
  }
  return EAGAIN;
}

int split_parent(const char* path, char* dir, char* name) {
  size_t len = strlen(path);
  while (len > 1 && path[len - 1] == '/') len--;
  if (len >= PATH_MAX) return ENAMETOOLONG;
  memcpy(dir, path, len);
  dir[len] = '\0';
  char* slash = strrchr(dir, '/');
  const char* base = slash ? slash + 1 : dir;
  size_t base_len = strlen(base);
  if (base_len == 0 || base_len > NAME_MAX || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
    return EINVAL;
  memcpy(name, base, base_len + 1);
  if (slash) *slash = '\0';
  else dir[0] = '\0';
  return 0;
}

const char* proc_fd_path(int fd, char* buf) {
  static const char kPrefix[] = "/proc/self/fd/";
  memcpy(buf, kPrefix, sizeof kPrefix - 1);
  char digits[16];
  int n = 0;
  unsigned v = static_cast<unsigned>(fd);
  do digits[n++] = static_cast<char>('0' + v % 10); while ((v /= 10) != 0);
  char* p = buf + sizeof kPrefix - 1;
  while (n > 0) *p++ = digits[--n];
  *p = '\0';
  return buf;
}

}  // namespace berth
