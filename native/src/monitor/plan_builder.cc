// Spec -> InitPlan. Every string init touches is created here, so the child never allocates.
#include "monitor/plan_builder.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

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

}  // namespace

bool build_plan(const Spec& spec, PlanStorage* st, std::string* error) {
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
  for (const char* name : {"pivot_root", "umount old root", "sethostname", "setdomainname",
                           "loopback up", "setsid", "stdio", "mkdir cwd", "chdir", "setgroups",
                           "setgid", "setuid", "close fds", "exec"})
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
