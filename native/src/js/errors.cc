// Node-style system errors and argument checking for the N-API entry points.
#include "js/errors.h"

#include <string.h>

#include <cmath>

#include "sys/errno_name.h"

namespace berth {

Napi::Error system_error(Napi::Env env, int err, const char* syscall, const char* path,
                         const char* code) {
  if (!code) code = errno_name(err);
  // Node's wording: "ENOENT: no such file or directory, mknod '/x'".
  std::string desc = strerror(err);
  if (!desc.empty()) desc[0] = static_cast<char>(tolower(desc[0]));
  std::string msg = std::string(code) + ": " + desc + ", " + syscall;
  if (path) msg += std::string(" '") + path + "'";
  Napi::Error e = Napi::Error::New(env, msg);
  Napi::Object o = e.Value();
  o.Set("code", Napi::String::New(env, code));
  // Positive, as in errno.h (libuv-backed fs errors use negative numbers; we do not).
  o.Set("errno", Napi::Number::New(env, err));
  o.Set("syscall", Napi::String::New(env, syscall));
  if (path) o.Set("path", Napi::String::New(env, path));
  return e;
}

void throw_system_error(Napi::Env env, int err, const char* syscall, const char* path,
                        const char* code) {
  throw system_error(env, err, syscall, path, code);
}

void throw_usage(Napi::Env env, const std::string& usage, const std::string& why) {
  throw Napi::TypeError::New(env, why + " (usage: " + usage + ")");
}

std::string get_string(const Napi::Value& v, const char* what, const std::string& usage) {
  if (!v.IsString()) throw_usage(v.Env(), usage, std::string(what) + " must be a string");
  std::string s = v.As<Napi::String>().Utf8Value();
  // A NUL would silently truncate the path the kernel sees.
  if (s.find('\0') != std::string::npos)
    throw_usage(v.Env(), usage, std::string(what) + " must not contain NUL");
  return s;
}

std::string get_optional_string(const Napi::Object& o, const char* key, const std::string& usage) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return "";
  return get_string(v, key, usage);
}

uint32_t get_uint32(const Napi::Object& o, const char* key, const std::string& usage) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw_usage(o.Env(), usage, std::string(key) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d < 0 || d > 4294967295.0 || std::floor(d) != d)
    throw_usage(o.Env(), usage, std::string(key) + " must be an integer in [0, 2^32)");
  return static_cast<uint32_t>(d);
}

}  // namespace berth
