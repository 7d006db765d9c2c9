// js_set_xattr: lsetxattr(2), for the overlay opaque-directory marker (trusted.overlay.opaque) that
// image layers carry as ".wh..wh..opq"; Node has no xattr API.
#include <errno.h>
#include <sys/xattr.h>

#include "js/entry_points.h"
#include "js/errors.h"

namespace berth {

Napi::Value js_set_xattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string usage = "setXattr(path, name, value)";
  if (info.Length() < 3) throw_usage(env, usage, "path, name and value are required");
  std::string path = get_string(info[0], "path", usage);
  std::string name = get_string(info[1], "name", usage);
  std::string value = get_string(info[2], "value", usage);
  if (name.empty()) throw_usage(env, usage, "name must not be empty");
  // lsetxattr: never follow a symlink planted where the caller expected a directory.
  if (lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) != 0)
    throw_system_error(env, errno, "lsetxattr", path.c_str());
  return env.Undefined();
}

}  // namespace berth
