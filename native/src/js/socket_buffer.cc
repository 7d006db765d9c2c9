// js_widen_send_buffer: lets a connected socket hold more unsent bytes (SO_SNDBUF), past net.core.wmem_max
// when we may (SO_SNDBUFFORCE, CAP_NET_ADMIN). Node has no setsockopt for stream sockets.
//
// Why berthd wants it: a unix stream socket holds at most its sender's buffer (208 KiB by default) until the
// reader takes it. An attach streams a container's output at hundreds of MiB/s, and with that little in
// flight berthd and the client waited on each other every few hundred KiB (bench/README.md, "The ninth round").
#include <errno.h>
#include <sys/socket.h>

#include "js/entry_points.h"
#include "js/errors.h"

namespace berth {

Napi::Value js_widen_send_buffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string usage = "widenSendBuffer(fd, bytes) -> bytes the kernel allows";
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) throw_usage(env, usage, "fd and bytes (numbers) are required");
  int fd = info[0].As<Napi::Number>().Int32Value();
  int bytes = info[1].As<Napi::Number>().Int32Value();
  if (bytes <= 0) throw_usage(env, usage, "bytes must be positive");
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0 &&
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes) != 0) {
    throw_system_error(env, errno, "setsockopt SO_SNDBUF", nullptr);
  }
  int now = 0;
  socklen_t len = sizeof now;
  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &now, &len) != 0) throw_system_error(env, errno, "getsockopt SO_SNDBUF", nullptr);
  return Napi::Number::New(env, now);
}

}  // namespace berth
