// mount(8) words -> MS_* flags, and the up-to-three mount(2) calls one operation needs
// (bind; remount to make the bind ro/nosuid/...; propagation change).
#include "sys/mount_op.h"

#include <errno.h>
#include <string.h>
#include <sys/mount.h>

namespace berth {

namespace {

struct Word {
  const char* name;
  unsigned long flag;
  bool propagation;
};

constexpr Word kWords[] = {
    {"ro", MS_RDONLY, false},           {"nosuid", MS_NOSUID, false},
    {"nodev", MS_NODEV, false},         {"noexec", MS_NOEXEC, false},
    {"bind", MS_BIND, false},           {"rec", MS_REC, false},
    {"remount", MS_REMOUNT, false},     {"relatime", MS_RELATIME, false},
    {"private", MS_PRIVATE, true},      {"rprivate", MS_PRIVATE | MS_REC, true},
    {"slave", MS_SLAVE, true},          {"rslave", MS_SLAVE | MS_REC, true},
};

// Flags that a bind mount silently ignores unless applied by a later MS_REMOUNT|MS_BIND.
constexpr unsigned long kRemountable = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME;

const char* or_null(const char* s) { return s && *s ? s : nullptr; }

}  // namespace

bool parse_mount_flags(const std::vector<std::string>& words, MountOp* op, const std::string** bad) {
  op->flags = 0;
  op->propagation = 0;
  for (const std::string& w : words) {
    const Word* found = nullptr;
    for (const Word& k : kWords)
      if (w == k.name) found = &k;
    if (!found) {
      *bad = &w;
      return false;
    }
    (found->propagation ? op->propagation : op->flags) |= found->flag;
  }
  const bool bind = op->flags & MS_BIND;
  op->bind_remount = bind && !(op->flags & MS_REMOUNT) && (op->flags & kRemountable);
  return true;
}

int apply_mount(const MountOp& op, const char** syscall) {
  if (int err = mount_first(op, syscall)) return err;
  return mount_finish(op, op.target, syscall);
}

int mount_first(const MountOp& op, const char** syscall) {
  *syscall = "mount";
  const bool bind = op.flags & MS_BIND;
  const bool only_propagation = op.flags == 0 && op.propagation != 0 && !or_null(op.fstype);
  if (only_propagation) return 0;
  unsigned long first = op.flags;
  // A fresh bind takes only MS_BIND|MS_REC; the rest goes on the remount in mount_finish.
  if (op.bind_remount) first &= MS_BIND | MS_REC;
  if (mount(or_null(op.source), op.target, or_null(op.fstype), first,
            bind ? nullptr : or_null(op.data)) != 0)
    return errno;
  return 0;
}

int mount_finish(const MountOp& op, const char* mounted, const char** syscall) {
  *syscall = "mount";
  if (op.bind_remount) {
    unsigned long again = MS_BIND | MS_REMOUNT | (op.flags & kRemountable);
    if (mount(nullptr, mounted, nullptr, again, nullptr) != 0) return errno;
  }
  if (op.propagation && mount(nullptr, mounted, nullptr, op.propagation, nullptr) != 0)
    return errno;
  return 0;
}

}  // namespace berth
