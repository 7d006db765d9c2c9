// Small allocation-free helpers usable in the child: EINTR-safe read/write, mkdir -p,
// and raw syscall wrappers glibc 2.36 lacks (pivot_root).
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

}  // namespace berth
