// js_sync_filesystem: syncfs(2) of the filesystem holding a path, on a thread of libuv's pool, as a promise.
// An image's extracted layers are written through the page cache: before the store records them, their data
// must be on disk, or a power loss leaves a committed layer of empty files. One syncfs writes back every layer a
// transaction staged; fsync of each file would take one round trip to the disk per file.
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "js/entry_points.h"
#include "js/errors.h"
#include "sys/unique_fd.h"

namespace berth {
namespace {

class SyncFilesystem : public Napi::AsyncWorker {
 public:
  SyncFilesystem(Napi::Env env, std::string path)
      : Napi::AsyncWorker(env, "berth.syncFilesystem"), path_(std::move(path)), deferred_(env) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    unique_fd fd(open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECTORY));
    if (!fd.ok()) {
      fail("open");
      return;
    }
    if (syncfs(fd.get()) != 0) fail("syncfs");
  }

  void OnOK() override { deferred_.Resolve(Env().Undefined()); }

  void OnError(const Napi::Error&) override {
    deferred_.Reject(system_error(Env(), errno_, syscall_, path_.c_str()).Value());
  }

 private:
  void fail(const char* syscall) {
    errno_ = errno;
    syscall_ = syscall;
    SetError(syscall);
  }

  std::string path_;
  Napi::Promise::Deferred deferred_;
  int errno_ = 0;
  const char* syscall_ = "";
};

}  // namespace

Napi::Value js_sync_filesystem(const Napi::CallbackInfo& info) {
  const std::string usage = "syncFilesystem(path)";
  if (info.Length() < 1) throw_usage(info.Env(), usage, "path is required");
  auto* worker = new SyncFilesystem(info.Env(), get_string(info[0], "path", usage));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace berth
