// js_file_ops: a list of mkdir, rmdir, write, removeTree and unmount calls, made in order on one thread of libuv's
// pool; resolves with one entry per call, null or its error (Node-shaped), all calls made whatever failed.
// For cgroupfs: each of these takes cgroup_mutex, one global lock, so a container's nine hierarchies
// cost nine turns of it whichever threads ask. Asked from nine threads they also wake each other at
// every hand-over, and each answer is a trip back to the event loop of its own: a container's mkdirs
// took 1.9 ms of a start that way under bench load, and 0.27 ms as one batch (bench/README.md). For the
// trash: a whole tree in one call, where fs.rm takes a trip for every stat, readdir, unlink and rmdir.
// For a removed auto-remove container's overlay: its unmount syncs the filesystem under the upper dir
// (0.7-1.2 ms here), which the event loop need not wait for.
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "js/entry_points.h"
#include "js/errors.h"
#include "sys/unique_fd.h"

namespace berth {
namespace {

struct FileOp {
  enum class Kind { kMkdir, kRmdir, kWrite, kRemoveTree, kUnmount } kind;
  std::string path;
  std::string data;  // kWrite: written with one write(2)
  int err = 0;
  const char* syscall = "";
};

// removeTree's walk: children before their directory, symlinks not followed, never into another mount.
// nftw passes no context to its callback: the first failure is kept per thread.
thread_local int tree_err = 0;
thread_local const char* tree_syscall = "";

int remove_entry(const char* path, const struct stat*, int type, struct FTW*) {
  bool dir = type == FTW_DP;
  if ((dir ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT && tree_err == 0) {
    tree_err = errno;
    tree_syscall = dir ? "rmdir" : "unlink";
  }
  return 0;  // go on: as much as can go, goes
}

// Makes the call; on failure sets op.err and op.syscall (the one that failed: a write's open or write).
void run(FileOp& op) {
  switch (op.kind) {
    case FileOp::Kind::kMkdir:
      op.syscall = "mkdir";
      if (mkdir(op.path.c_str(), 0755) != 0) op.err = errno;
      return;
    case FileOp::Kind::kRmdir:
      op.syscall = "rmdir";
      if (rmdir(op.path.c_str()) != 0) op.err = errno;
      return;
    case FileOp::Kind::kUnmount:
      // Detached, as the addon's unmount with detach: a process still inside keeps it alive, unseen.
      op.syscall = "umount2";
      if (umount2(op.path.c_str(), MNT_DETACH) != 0) op.err = errno;
      return;
    case FileOp::Kind::kRemoveTree:
      tree_err = 0;
      op.syscall = "nftw";
      if (nftw(op.path.c_str(), remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0) {
        if (errno != ENOENT) op.err = errno;
      } else if (tree_err != 0) {
        op.err = tree_err;
        op.syscall = tree_syscall;
      }
      return;
    case FileOp::Kind::kWrite: {
      // O_WRONLY without O_CREAT or O_TRUNC: a cgroupfs file exists or the feature is missing.
      op.syscall = "open";
      unique_fd fd(open(op.path.c_str(), O_WRONLY | O_CLOEXEC));
      if (!fd.ok()) {
        op.err = errno;
        return;
      }
      op.syscall = "write";
      ssize_t n = write(fd.get(), op.data.data(), op.data.size());
      if (n < 0) op.err = errno;
      else if (static_cast<size_t>(n) != op.data.size()) op.err = EIO;
      return;
    }
  }
}

class FileOps : public Napi::AsyncWorker {
 public:
  FileOps(Napi::Env env, std::vector<FileOp> ops)
      : Napi::AsyncWorker(env, "berth.fileOps"), ops_(std::move(ops)), deferred_(env) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    for (FileOp& op : ops_) run(op);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array results = Napi::Array::New(env, ops_.size());
    for (size_t i = 0; i < ops_.size(); i++) {
      const FileOp& op = ops_[i];
      results.Set(i, op.err == 0 ? env.Null() : system_error(env, op.err, op.syscall, op.path.c_str()).Value());
    }
    deferred_.Resolve(results);
  }

 private:
  std::vector<FileOp> ops_;
  Napi::Promise::Deferred deferred_;
};

}  // namespace

Napi::Value js_file_ops(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string usage = "fileOps([{ op: 'mkdir' | 'rmdir' | 'write' | 'removeTree' | 'unmount', path, data? }])";
  if (info.Length() < 1 || !info[0].IsArray()) throw_usage(env, usage, "an array of operations is required");
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<FileOp> ops;
  ops.reserve(list.Length());
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsObject()) throw_usage(env, usage, "each operation must be an object");
    Napi::Object o = v.As<Napi::Object>();
    std::string kind = get_string(o.Get("op"), "op", usage);
    FileOp op{FileOp::Kind::kMkdir, get_string(o.Get("path"), "path", usage), "", 0, ""};
    if (op.path.empty()) throw_usage(env, usage, "path must not be empty");
    if (kind == "mkdir") {
      op.kind = FileOp::Kind::kMkdir;
    } else if (kind == "rmdir") {
      op.kind = FileOp::Kind::kRmdir;
    } else if (kind == "removeTree") {
      op.kind = FileOp::Kind::kRemoveTree;
    } else if (kind == "unmount") {
      op.kind = FileOp::Kind::kUnmount;
    } else if (kind == "write") {
      op.kind = FileOp::Kind::kWrite;
      op.data = get_string(o.Get("data"), "data", usage);
    } else {
      throw_usage(env, usage, "op must be mkdir, rmdir, write, removeTree or unmount");
    }
    ops.push_back(std::move(op));
  }
  auto* worker = new FileOps(env, std::move(ops));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace berth
