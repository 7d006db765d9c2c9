// Errors thrown to JS: system errors shaped like Node's (string `code`, `errno`, `syscall`,
// `path`) and TypeErrors carrying a usage line.
#pragma once

#include <napi.h>

#include <string>

namespace berth {

// Builds the error without throwing it. `path` may be null. `code` overrides errno_name(err).
Napi::Error system_error(Napi::Env env, int err, const char* syscall, const char* path,
                         const char* code = nullptr);
[[noreturn]] void throw_system_error(Napi::Env env, int err, const char* syscall,
                                     const char* path, const char* code = nullptr);
[[noreturn]] void throw_usage(Napi::Env env, const std::string& usage, const std::string& why);

// Argument readers: throw a TypeError naming `what` and the usage line when the type is wrong.
std::string get_string(const Napi::Value& v, const char* what, const std::string& usage);
std::string get_optional_string(const Napi::Object& o, const char* key, const std::string& usage);
uint32_t get_uint32(const Napi::Object& o, const char* key, const std::string& usage);

}  // namespace berth
