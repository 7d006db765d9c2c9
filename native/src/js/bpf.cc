// js_attach_device_filter: cgroup v2's device controller. Loads a BPF_PROG_TYPE_CGROUP_DEVICE program
// (compiled by src/cgroups/device-filter.ts) and attaches it to a cgroup, as runc and crun do.
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <ctype.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "js/entry_points.h"
#include "js/errors.h"
#include "sys/errno_name.h"
#include "sys/unique_fd.h"

namespace berth {

namespace {

constexpr size_t kMaxInsns = 4096;  // BPF_MAXINSNS
constexpr size_t kLogStartBytes = 64 * 1024;
constexpr size_t kLogMaxBytes = 16 * 1024 * 1024;
constexpr int kLogTailLines = 8;

long sys_bpf(int cmd, union bpf_attr* attr) {
  return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

// The verifier's verdict is at the end of its log: the last few non-empty lines.
std::string log_tail(const std::string& log) {
  std::vector<std::string> lines;
  size_t at = 0;
  while (at < log.size()) {
    size_t nl = log.find('\n', at);
    if (nl == std::string::npos) nl = log.size();
    size_t end = nl;
    while (end > at && isspace(static_cast<unsigned char>(log[end - 1]))) end--;
    if (end > at) lines.push_back(log.substr(at, end - at));
    at = nl + 1;
  }
  std::string out;
  size_t from = lines.size() > kLogTailLines ? lines.size() - kLogTailLines : 0;
  for (size_t i = from; i < lines.size(); i++) out += (out.empty() ? "" : " | ") + lines[i];
  return out;
}

// Shaped like system_error (code, errno, syscall 'bpf', path), with the bpf command in the message and
// in `command`, and the verifier's last lines in the message and its whole log in `verifierLog`.
[[noreturn]] void throw_bpf_error(Napi::Env env, int err, const char* command, const std::string& path,
                                  const std::string& log = "") {
  std::string desc = strerror(err);
  if (!desc.empty()) desc[0] = static_cast<char>(tolower(desc[0]));
  std::string msg = std::string(errno_name(err)) + ": " + desc + ", bpf " + command + " '" + path + "'";
  if (!log.empty()) msg += ": verifier: " + log_tail(log);
  Napi::Error e = Napi::Error::New(env, msg);
  Napi::Object o = e.Value();
  o.Set("code", Napi::String::New(env, errno_name(err)));
  o.Set("errno", Napi::Number::New(env, err));
  o.Set("syscall", Napi::String::New(env, "bpf"));
  o.Set("command", Napi::String::New(env, command));
  o.Set("path", Napi::String::New(env, path));
  if (!log.empty()) o.Set("verifierLog", Napi::String::New(env, log));
  throw e;
}

int load_program(const uint8_t* insns, size_t count, char* log, size_t log_bytes) {
  // Any license will do: the program calls no helper, so none of the GPL-only ones
  // (bpf_prog_load checks gpl_compatible only against the helpers a program calls).
  static const char kLicense[] = "Apache-2.0";
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uintptr_t>(insns);
  attr.insn_cnt = static_cast<uint32_t>(count);
  attr.license = reinterpret_cast<uintptr_t>(kLicense);
  // bpftool and /proc/<pid>/fdinfo show it; at most 15 characters.
  strncpy(attr.prog_name, "berth_devices", sizeof attr.prog_name - 1);
  if (log) {
    attr.log_level = 1;
    attr.log_buf = reinterpret_cast<uintptr_t>(log);
    attr.log_size = static_cast<uint32_t>(log_bytes);
  }
  return static_cast<int>(sys_bpf(BPF_PROG_LOAD, &attr));
}

// Loaded once without a log (a log too small for a valid program fails the load with ENOSPC), and on a
// refusal again with one, grown until the verifier's whole account fits, for the error to quote.
unique_fd load_or_throw(Napi::Env env, const uint8_t* insns, size_t count, const std::string& dir) {
  unique_fd prog(load_program(insns, count, nullptr, 0));
  if (prog.ok()) return prog;
  int err = errno;
  for (size_t size = kLogStartBytes; size <= kLogMaxBytes; size *= 4) {
    std::vector<char> log(size, '\0');
    prog.reset(load_program(insns, count, log.data(), log.size()));
    if (prog.ok()) return prog;  // refused once, loaded now (memory pressure, say): take it
    if (errno == ENOSPC && size < kLogMaxBytes) continue;
    throw_bpf_error(env, err, "BPF_PROG_LOAD", dir, std::string(log.data(), strnlen(log.data(), log.size())));
  }
  throw_bpf_error(env, err, "BPF_PROG_LOAD", dir);
}

// Ids of the device programs attached to the cgroup itself (not those it inherits).
std::vector<uint32_t> attached_programs(Napi::Env env, int cgroup_fd, const std::string& dir) {
  std::vector<uint32_t> ids(64);
  for (;;) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.query.target_fd = static_cast<uint32_t>(cgroup_fd);
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = reinterpret_cast<uintptr_t>(ids.data());
    attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
    if (sys_bpf(BPF_PROG_QUERY, &attr) == 0) {
      ids.resize(attr.query.prog_cnt);
      return ids;
    }
    // ENOSPC: more than we had room for; prog_cnt says how many there are.
    if (errno == ENOSPC && attr.query.prog_cnt > ids.size()) {
      ids.resize(attr.query.prog_cnt);
      continue;
    }
    throw_bpf_error(env, errno, "BPF_PROG_QUERY", dir);
  }
}

}  // namespace

Napi::Value js_attach_device_filter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string usage = "attachDeviceFilter(cgroupDir, program: Buffer)";
  if (info.Length() < 2) throw_usage(env, usage, "cgroupDir and program are required");
  std::string dir = get_string(info[0], "cgroupDir", usage);
  if (!info[1].IsBuffer()) throw_usage(env, usage, "program must be a Buffer");
  Napi::Buffer<uint8_t> program = info[1].As<Napi::Buffer<uint8_t>>();
  size_t bytes = program.Length();
  if (bytes == 0 || bytes % sizeof(struct bpf_insn) != 0 || bytes / sizeof(struct bpf_insn) > kMaxInsns)
    throw_usage(env, usage, "program must hold 1 to 4096 struct bpf_insn (8 bytes each)");
  // A copy: the kernel reads the instructions during the syscall, and JS must not see them move.
  std::vector<uint8_t> insns(program.Data(), program.Data() + bytes);

  unique_fd cgroup(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cgroup.ok()) throw_system_error(env, errno, "open", dir.c_str());
  // Any program attached before (a cgroup created again) is replaced: the new one goes in first, so the
  // cgroup is never without a filter, then the old ones come out.
  std::vector<uint32_t> old = attached_programs(env, cgroup.get(), dir);
  unique_fd prog = load_or_throw(env, insns.data(), insns.size() / sizeof(struct bpf_insn), dir);

  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<uint32_t>(cgroup.get());
  attr.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  // ALLOW_MULTI: programs of the cgroups above (systemd's, a parent engine's) keep running too, and an
  // access must pass them all.
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf(BPF_PROG_ATTACH, &attr) != 0) throw_bpf_error(env, errno, "BPF_PROG_ATTACH", dir);

  for (uint32_t id : old) {
    memset(&attr, 0, sizeof attr);
    attr.prog_id = id;
    unique_fd old_prog(static_cast<int>(sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr)));
    if (!old_prog.ok()) {
      if (errno == ENOENT) continue;  // detached and freed meanwhile
      throw_bpf_error(env, errno, "BPF_PROG_GET_FD_BY_ID", dir);
    }
    memset(&attr, 0, sizeof attr);
    attr.target_fd = static_cast<uint32_t>(cgroup.get());
    attr.attach_bpf_fd = static_cast<uint32_t>(old_prog.get());
    attr.attach_type = BPF_CGROUP_DEVICE;
    if (sys_bpf(BPF_PROG_DETACH, &attr) != 0 && errno != ENOENT)
      throw_bpf_error(env, errno, "BPF_PROG_DETACH", dir);
  }
  // Both fds close here; the attachment holds the program until it is detached or the cgroup removed.
  return env.Undefined();
}

}  // namespace berth
