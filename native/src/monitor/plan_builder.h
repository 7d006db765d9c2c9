// Turns a Spec into the InitPlan the child runs: host paths under rootfs, MS_* flags,
// argv/envp arrays, PATH candidates and the step-name table, all allocated before clone().
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "child/plan.h"
#include "monitor/spec.h"

namespace berth {

struct PlanStorage {
  std::deque<std::string> strings;  // deque: push_back never moves earlier elements
  std::vector<MountStep> mounts;
  std::vector<DeviceStep> devices;
  std::vector<SymlinkStep> symlinks;
  std::vector<gid_t> groups;
  std::vector<char*> argv, envp;
  std::vector<const char*> candidates;
  std::vector<std::string> step_names;  // index = StepError::step
  // The spec's "security"; plan.security points at it when the spec has one.
  std::vector<SysctlStep> sysctls;
  std::vector<const char*> masked_paths, readonly_paths;
  std::vector<struct sock_filter> seccomp;
  SecurityPlan security = {};
  InterfacePlan iface = {};  // plan.iface points at it when the spec has an "interface"
  InitPlan plan = {};
};

struct ExecStorage {
  std::deque<std::string> strings;
  std::vector<gid_t> groups;
  std::vector<char*> argv, envp;
  std::vector<const char*> candidates;
  ExecPlan plan = {};
};

// /proc/sys/kernel/cap_last_cap: the highest capability number this kernel knows. Returns 0 or
// an errno (ERANGE above 63: the plan's capability mask has 64 bits).
int read_cap_last_cap(int* out);

// Fills *st from spec (which must outlive *st). The pipe fds in st->plan are set by the caller.
// cap_last_cap (read_cap_last_cap) bounds the numbers in spec.security's capabilities.
bool build_plan(const Spec& spec, int cap_last_cap, PlanStorage* st, std::string* error);

// Fills *st from an exec command (which must outlive *st); the fds in st->plan are the caller's.
void build_exec_plan(const ExecSpec& spec, ExecStorage* st);

}  // namespace berth
