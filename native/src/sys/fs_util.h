// Small allocation-free helpers usable in the child: EINTR-safe read/write, mkdir -p,
// raw syscall wrappers glibc 2.36 lacks (pivot_root, openat2), and path resolution confined
// to a root directory (open_in_root).
#pragma once

#include <sys/types.h>

namespace berth {

// Writes all of buf; returns 0 or an errno.
int write_all(int fd, const void* buf, size_t len);
// Reads up to len bytes, retrying on EINTR and short reads; returns bytes read or -errno.
ssize_t read_full(int fd, void* buf, size_t len);
// mkdir -p with `mode` for every created component; returns 0 or an errno.
int mkdir_p(const char* path, mode_t mode);
// Creates an empty file (and its parents) when nothing exists at path; returns 0 or an errno.
int ensure_file(const char* path);
int sys_pivot_root(const char* new_root, const char* put_old);
// openat2(2) with only flags and resolve set; returns an fd or -1 with errno.
int sys_openat2(int dirfd, const char* path, int flags, unsigned long long resolve);

// Opens `path` (a container path) under the directory root_fd with O_PATH|O_CLOEXEC as if
// root_fd were "/": symlinks and ".." never lead out (RESOLVE_IN_ROOT), and magic links
// (/proc/self/root, ...) are refused (RESOLVE_NO_MAGICLINKS). Missing components are created
// relative to the fd of their resolved parent: directories 0755, the last one an empty 0644
// file when is_file. A dangling symlink is followed, inside the root, to where it points and
// that is created. Returns 0 with *out set, or an errno.
int open_in_root(int root_fd, const char* path, bool is_file, int* out);
// Opens `path`, which must exist, under root_fd as open_in_root resolves it (RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS), with `flags` | O_CLOEXEC: nothing is created. EAGAIN (a rename raced
// the lookup) is retried. Returns 0 with *out set, or an errno (ENOENT when it is missing).
int open_existing_in_root(int root_fd, const char* path, int flags, int* out);
// The parent of `path` into dir (PATH_MAX bytes) and its last component into name (NAME_MAX + 1
// bytes), trailing slashes dropped; "" for a path without a slash. Returns 0 or an errno.
int split_parent(const char* path, char* dir, char* name);
// "/proc/self/fd/<fd>" into buf (at least 32 bytes): a path for mount(2) naming what fd names.
const char* proc_fd_path(int fd, char* buf);

}  // namespace berth
