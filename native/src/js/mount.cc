// js_mount, js_unmount, js_mknod: synchronous, quick syscalls run on the caller's thread.
#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "js/entry_points.h"
#include "js/errors.h"
#include "sys/mount_op.h"

namespace berth {

namespace {
const std::string kMountUsage = "mount({ source, target, fstype, flags: string[], data })";
const std::string kUnmountUsage = "unmount(target, { detach?: boolean })";
const std::string kMknodUsage = "mknod(path, { type: 'c'|'b'|'p', major, minor, mode })";
}  // namespace

Napi::Value js_mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw_usage(env, kMountUsage, "expected an object");
  Napi::Object o = info[0].As<Napi::Object>();
  std::string source = get_optional_string(o, "source", kMountUsage);
  std::string target = get_string(o.Get("target"), "target", kMountUsage);
  std::string fstype = get_optional_string(o, "fstype", kMountUsage);
  std::string data = get_optional_string(o, "data", kMountUsage);
  std::vector<std::string> words;
  Napi::Value fv = o.Get("flags");
  if (!fv.IsUndefined() && !fv.IsNull()) {
    if (!fv.IsArray()) throw_usage(env, kMountUsage, "flags must be an array of strings");
    Napi::Array arr = fv.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++)
      words.push_back(get_string(arr.Get(i), "flags[]", kMountUsage));
  }
  MountOp op;
  const std::string* bad = nullptr;
  if (!parse_mount_flags(words, &op, &bad))
    throw_usage(env, kMountUsage, "unknown mount flag '" + *bad + "'");
  op.source = source.c_str();
  op.target = target.c_str();
  op.fstype = fstype.c_str();
  op.data = data.c_str();
  const char* syscall = "mount";
  if (int err = apply_mount(op, &syscall)) throw_system_error(env, err, syscall, target.c_str());
  return env.Undefined();
}

Napi::Value js_unmount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) throw_usage(env, kUnmountUsage, "target is required");
  std::string target = get_string(info[0], "target", kUnmountUsage);
  int flags = 0;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    if (!info[1].IsObject()) throw_usage(env, kUnmountUsage, "options must be an object");
    Napi::Value detach = info[1].As<Napi::Object>().Get("detach");
    if (!detach.IsUndefined() && !detach.IsBoolean())
      throw_usage(env, kUnmountUsage, "detach must be a boolean");
    if (detach.IsBoolean() && detach.As<Napi::Boolean>().Value()) flags |= MNT_DETACH;
  }
  if (umount2(target.c_str(), flags) != 0)
    throw_system_error(env, errno, "umount2", target.c_str());
  return env.Undefined();
}

Napi::Value js_mknod(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[1].IsObject())
    throw_usage(env, kMknodUsage, "expected a path and an object");
  std::string path = get_string(info[0], "path", kMknodUsage);
  Napi::Object o = info[1].As<Napi::Object>();
  std::string type = get_string(o.Get("type"), "type", kMknodUsage);
  mode_t kind = type == "c" ? S_IFCHR : type == "b" ? S_IFBLK : type == "p" ? S_IFIFO : 0;
  if (!kind) throw_usage(env, kMknodUsage, "type must be 'c', 'b' or 'p'");
  uint32_t major_n = get_uint32(o, "major", kMknodUsage);
  uint32_t minor_n = get_uint32(o, "minor", kMknodUsage);
  uint32_t mode = get_uint32(o, "mode", kMknodUsage);
  if (mode > 07777) throw_usage(env, kMknodUsage, "mode holds permission bits only (<= 0o7777)");
  if (mknod(path.c_str(), kind | mode, makedev(major_n, minor_n)) != 0)
    throw_system_error(env, errno, "mknod", path.c_str());
  // mknod(2) applies the daemon's umask; the caller asked for this exact mode.
  if (chmod(path.c_str(), mode) != 0) throw_system_error(env, errno, "chmod", path.c_str());
  return env.Undefined();
}

}  // namespace berth
