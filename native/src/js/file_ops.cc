// js_file_ops: a list of mkdir, rmdir, write, create, rename, removeTree, unmount and mount calls, made in order
// on one thread of libuv's pool; resolves with one entry per call, null or its error (Node-shaped), all calls
// made whatever failed.
// For cgroupfs: each of these takes cgroup_mutex, one global lock, so a container's nine hierarchies
// cost nine turns of it whichever threads ask. Asked from nine threads they also wake each other at
// every hand-over, and each answer is a trip back to the event loop of its own: a container's mkdirs
// took 1.9 ms of a start that way under bench load, and 0.27 ms as one batch (bench/README.md). For the
// trash: a whole tree in one call, where fs.rm takes a trip for every stat, readdir, unlink and rmdir.
// For a removed auto-remove container's overlay: its unmount syncs the filesystem under the upper dir
// (0.7-1.2 ms here), which the event loop need not wait for. For a container's files, directories and
// overlay mount on ext4: with many containers made and removed at once, each mkdir, create and mount
// there waited 0.5-1 ms for the directory's lock or the allocator, on the event loop (bench/README.md).
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
  enum class Kind { kMkdir, kRmdir, kWrite, kCreate, kRename, kRemoveTree, kUnmount, kMount } kind = Kind::kMkdir;
  std::string path;
  std::string data;  // kWrite: written with one write(2); kCreate: the file's bytes; kMount: the options
  std::string to;    // kRename: the new name
  mode_t mode = 0755;  // kMkdir, kCreate
  bool sync = false;   // kCreate: fsync before the close
  std::string source, fstype;  // kMount
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

// A new file (O_EXCL, and never through a symlink) with exactly op.mode and op.data; gone again when a
// step fails.
void create_file(FileOp& op) {
  op.syscall = "open";
  unique_fd fd(open(op.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, op.mode));
  if (!fd.ok()) {
    op.err = errno;
    return;
  }
  op.syscall = "write";
  for (size_t done = 0; done < op.data.size() && op.err == 0;) {
    ssize_t n = write(fd.get(), op.data.data() + done, op.data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) op.err = errno;
    else done += static_cast<size_t>(n);
  }
  // open() applied the umask; the caller asked for exactly this mode.
  if (op.err == 0 && fchmod(fd.get(), op.mode) != 0) op.syscall = "fchmod", op.err = errno;
  if (op.err == 0 && op.sync && fsync(fd.get()) != 0) op.syscall = "fsync", op.err = errno;
  if (op.err != 0) unlink(op.path.c_str());
}

// Makes the call; on failure sets op.err and op.syscall (the one that failed: a write's open or write).
void run(FileOp& op) {
  switch (op.kind) {
    case FileOp::Kind::kMkdir:
      op.syscall = "mkdir";
      if (mkdir(op.path.c_str(), op.mode) != 0) op.err = errno;
      return;
    case FileOp::Kind::kRename:
      op.syscall = "rename";
      if (rename(op.path.c_str(), op.to.c_str()) != 0) op.err = errno;
      return;
    case FileOp::Kind::kMount:
      op.syscall = "mount";
      if (mount(op.source.c_str(), op.path.c_str(), op.fstype.c_str(), 0, op.data.c_str()) != 0) op.err = errno;
      return;
    case FileOp::Kind::kCreate:
      create_file(op);
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
  const std::string usage =
      "fileOps([{ op: 'mkdir' | 'rmdir' | 'write' | 'create' | 'rename' | 'removeTree' | 'unmount' | 'mount', path, "
      "mode?, data?, sync?, to?, source?, fstype? }])";
  if (info.Length() < 1 || !info[0].IsArray()) throw_usage(env, usage, "an array of operations is required");
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<FileOp> ops;
  ops.reserve(list.Length());
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsObject()) throw_usage(env, usage, "each operation must be an object");
    Napi::Object o = v.As<Napi::Object>();
    std::string kind = get_string(o.Get("op"), "op", usage);
    FileOp op;
    op.path = get_string(o.Get("path"), "path", usage);
    if (op.path.empty()) throw_usage(env, usage, "path must not be empty");
    if (kind == "mkdir" || kind == "create") {
      Napi::Value mode = o.Get("mode");
      if (!mode.IsUndefined()) {
        uint32_t m = get_uint32(o, "mode", usage);
        if (m > 07777) throw_usage(env, usage, "mode holds permission bits only (<= 0o7777)");
        op.mode = static_cast<mode_t>(m);
      }
    }
    if (kind == "mkdir") {
      op.kind = FileOp::Kind::kMkdir;
    } else if (kind == "create") {
      op.kind = FileOp::Kind::kCreate;
      op.data = get_string(o.Get("data"), "data", usage);
      Napi::Value sync = o.Get("sync");
      if (!sync.IsUndefined() && !sync.IsBoolean()) throw_usage(env, usage, "sync must be a boolean");
      op.sync = sync.IsBoolean() && sync.As<Napi::Boolean>().Value();
    } else if (kind == "rename") {
      op.kind = FileOp::Kind::kRename;
      op.to = get_string(o.Get("to"), "to", usage);
    } else if (kind == "mount") {
      op.kind = FileOp::Kind::kMount;
      op.source = get_string(o.Get("source"), "source", usage);
      op.fstype = get_string(o.Get("fstype"), "fstype", usage);
      op.data = get_optional_string(o, "data", usage);
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
      throw_usage(env, usage, "op must be mkdir, rmdir, write, create, rename, removeTree, unmount or mount");
    }
    ops.push_back(std::move(op));
  }
  auto* worker = new FileOps(env, std::move(ops));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace berth
