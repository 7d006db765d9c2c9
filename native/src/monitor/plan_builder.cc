// Spec -> InitPlan. Every string init touches is created here, so the child never allocates.
#include "monitor/plan_builder.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sys/fs_util.h"

namespace berth {

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const char* keep(PlanStorage* st, std::string s) {
  st->strings.push_back(std::move(s));
  return st->strings.back().c_str();
}

// execvp's candidates for prog: itself when it has a '/', else each dir of env's PATH.
template <typename Keep>
void add_candidates(Keep keep, const std::string& prog, const std::vector<std::string>& env,
                    std::vector<const char*>* out, bool* searched) {
  *searched = prog.find('/') == std::string::npos;
  if (!*searched) {
    out->push_back(keep(prog));
    return;
  }
  // The container's PATH, not the monitor's: the program lives in the container.
  std::string path = kDefaultPath;
  for (const std::string& e : env)
    if (e.compare(0, 5, "PATH=") == 0) {
      path = e.substr(5);
      break;
    }
  size_t start = 0;
  for (;;) {
    size_t colon = path.find(':', start);
    std::string dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (dir.empty()) dir = ".";  // an empty PATH entry means the cwd, as in execvp
    out->push_back(keep(dir + "/" + prog));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
}

// The per-item security steps (their names follow the symlinks' in the table) and the SecurityPlan.
bool build_security(const SpecSecurity& sec, int cap_last_cap, PlanStorage* st, std::string* error) {
  SecurityPlan& s = st->security;
  for (uint32_t cap : sec.capabilities) {
    if (static_cast<int>(cap) > cap_last_cap) {
      *error = "spec.json: security.capabilities: " + std::to_string(cap) + " is above cap_last_cap (" +
               std::to_string(cap_last_cap) + ")";
      return false;
    }
    s.capabilities |= uint64_t{1} << cap;
  }
  s.cap_last_cap = cap_last_cap;
  s.no_new_privileges = sec.no_new_privileges;
  s.readonly_rootfs = sec.readonly_rootfs;
  // The filter as the kernel reads it: host-order struct sock_filter entries, copied whole.
  st->seccomp.resize(sec.seccomp.size() / sizeof(struct sock_filter));
  if (!st->seccomp.empty())
    memcpy(st->seccomp.data(), sec.seccomp.data(), st->seccomp.size() * sizeof(struct sock_filter));
  s.seccomp.len = static_cast<unsigned short>(st->seccomp.size());
  s.seccomp.filter = st->seccomp.data();
  for (const SpecSysctl& sc : sec.sysctls) {
    std::string path = "/proc/sys/" + sc.key;
    for (size_t i = 10; i < path.size(); i++)
      if (path[i] == '.') path[i] = '/';
    st->sysctls.push_back({keep(st, path), sc.value.c_str(), sc.value.size()});
    st->step_names.push_back("sysctl " + sc.key);
  }
  for (const std::string& m : sec.masked_paths) {
    st->masked_paths.push_back(m.c_str());
    st->step_names.push_back("mask " + m);
  }
  for (const std::string& r : sec.readonly_paths) {
    st->readonly_paths.push_back(r.c_str());
    st->step_names.push_back("readonly " + r);
  }
  s.sysctls = st->sysctls.data();
  s.n_sysctls = st->sysctls.size();
  s.masked_paths = st->masked_paths.data();
  s.n_masked = st->masked_paths.size();
  s.readonly_paths = st->readonly_paths.data();
  s.n_readonly = st->readonly_paths.size();
  return true;
}

}  // namespace

int read_cap_last_cap(int* out) {
  int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buf[16];
  ssize_t n = read_full(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0) return static_cast<int>(-n);
  buf[n] = '\0';
  char* end;
  long v = strtol(buf, &end, 10);
  if (end == buf || v < 0) return EINVAL;
  if (v > 63) return ERANGE;
  *out = static_cast<int>(v);
  return 0;
}

bool build_plan(const Spec& spec, int cap_last_cap, PlanStorage* st, std::string* error) {
  st->step_names = {"wait go", "make / rprivate", "bind rootfs"};
  for (size_t i = 0; i < spec.mounts.size(); i++) {
    const SpecMount& m = spec.mounts[i];
    MountStep step = {};
    const std::string* bad = nullptr;
    if (!parse_mount_flags(m.flags, &step.op, &bad)) {
      *error = "spec.json: mounts[" + std::to_string(i) + "].flags: unknown flag '" + *bad + "'";
      return false;
    }
    step.op.source = m.source.c_str();
    // A container path: init opens it inside the rootfs (open_in_root), never joined textually.
    step.op.target = m.target.c_str();
    step.op.fstype = m.fstype.c_str();
    step.op.data = m.data.c_str();
    step.is_file = m.is_file;
    st->mounts.push_back(step);
    st->step_names.push_back("mount " + m.target);
  }
  for (const SpecDevice& d : spec.devices) {
    mode_t kind = d.type == 'c' ? S_IFCHR : d.type == 'b' ? S_IFBLK : S_IFIFO;
    st->devices.push_back({d.path.c_str(), kind | d.mode,
                           makedev(d.major, d.minor), d.uid, d.gid});
    st->step_names.push_back("mknod " + d.path);
  }
  for (const SpecSymlink& l : spec.symlinks) {
    st->symlinks.push_back({l.target.c_str(), l.path.c_str()});
    st->step_names.push_back("symlink " + l.path);
  }
  if (spec.security && !build_security(*spec.security, cap_last_cap, st, error)) return false;
  // In Step's order from kPivotRoot on; the four security steps are named even when they do not run.
  for (const char* name : {"pivot_root", "umount old root", "sethostname", "setdomainname",
                           "loopback up", "configure eth0", "setsid", "stdio", "mkdir cwd", "chdir", "readonly rootfs",
                           "capabilities", "no new privileges", "seccomp", "setgroups", "setgid",
                           "setuid", "close fds", "exec"})
    st->step_names.push_back(name);

  for (uint32_t g : spec.user.additional_gids) st->groups.push_back(g);
  for (const std::string& a : spec.args) st->argv.push_back(const_cast<char*>(a.c_str()));
  st->argv.push_back(nullptr);
  for (const std::string& e : spec.env) st->envp.push_back(const_cast<char*>(e.c_str()));
  st->envp.push_back(nullptr);
  add_candidates([st](const std::string& v) { return keep(st, v); }, spec.args[0], spec.env,
                 &st->candidates, &st->plan.searched_path);

  InitPlan& p = st->plan;
  p.rootfs = spec.rootfs.c_str();
  p.mounts = st->mounts.data();
  p.n_mounts = st->mounts.size();
  p.devices = st->devices.data();
  p.n_devices = st->devices.size();
  p.symlinks = st->symlinks.data();
  p.n_symlinks = st->symlinks.size();
  p.security = spec.security ? &st->security : nullptr;
  if (spec.iface) {
    // prefix_len is 1-30 (spec.cc): the shift stays inside 32 bits.
    st->iface = {spec.iface->address, htonl(~uint32_t{0} << (32 - spec.iface->prefix_len)), spec.iface->gateway};
    p.iface = &st->iface;
  }
  p.hostname = spec.hostname.c_str();
  p.domainname = spec.domainname.c_str();
  p.cwd = spec.cwd.c_str();
  p.uid = spec.user.uid;
  p.gid = spec.user.gid;
  p.groups = st->groups.data();
  p.n_groups = st->groups.size();
  p.argv = st->argv.data();
  p.envp = st->envp.data();
  p.exec_candidates = st->candidates.data();
  p.n_candidates = st->candidates.size();
  return true;
}

void build_exec_plan(const ExecSpec& spec, ExecStorage* st) {
  auto keep = [st](const std::string& v) {
    st->strings.push_back(v);
    return st->strings.back().c_str();
  };
  for (uint32_t g : spec.user.additional_gids) st->groups.push_back(g);
  for (const std::string& a : spec.args) st->argv.push_back(const_cast<char*>(a.c_str()));
  st->argv.push_back(nullptr);
  for (const std::string& e : spec.env) st->envp.push_back(const_cast<char*>(e.c_str()));
  st->envp.push_back(nullptr);
  ExecPlan& p = st->plan;
  add_candidates(keep, spec.args[0], spec.env, &st->candidates, &p.searched_path);
  p.cwd = spec.cwd.c_str();
  p.uid = spec.user.uid;
  p.gid = spec.user.gid;
  p.groups = st->groups.data();
  p.n_groups = st->groups.size();
  p.argv = st->argv.data();
  p.envp = st->envp.data();
  p.exec_candidates = st->candidates.data();
  p.n_candidates = st->candidates.size();
}

}  // namespace berth
