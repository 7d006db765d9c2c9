// One mount(8)-style operation decoded from flag words, and the allocation-free code that
// applies it. Shared by the addon's mount() and init's "mount <target>" steps.
#pragma once

#include <string>
#include <vector>

namespace berth {

struct MountOp {
  const char* source = nullptr;  // null or "" means none
  const char* target = nullptr;
  const char* fstype = nullptr;
  const char* data = nullptr;
  unsigned long flags = 0;        // MS_* for the first mount(2) call (MS_BIND, MS_RDONLY, ...)
  unsigned long propagation = 0;  // MS_PRIVATE/MS_SLAVE (+MS_REC), applied by a separate call
  bool bind_remount = false;      // bind + ro/nosuid/...: the kernel ignores those on the bind itself
};

// Fills op->flags/propagation/bind_remount from mount(8) words. On an unknown word returns
// false and points *bad at it.
bool parse_mount_flags(const std::vector<std::string>& words, MountOp* op, const std::string** bad);

// Applies op: mount, then the read-only (etc.) remount of a bind, then propagation.
// Returns 0 or an errno; *syscall names the call that failed. No allocation.
int apply_mount(const MountOp& op, const char** syscall);
// apply_mount in two halves, for callers that must name the new mount by another path than
// op.target (a path through /proc/self/fd names the dentry below a mount, not the mount):
// mount_first makes the mount at op.target, mount_finish remounts and sets propagation at
// `mounted`, a path that reaches the new mount.
int mount_first(const MountOp& op, const char** syscall);
int mount_finish(const MountOp& op, const char* mounted, const char** syscall);
// Whether mount_finish has anything to do for op.
inline bool needs_finish(const MountOp& op) { return op.bind_remount || op.propagation != 0; }

}  // namespace berth
