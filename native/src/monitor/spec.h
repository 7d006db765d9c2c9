// spec.json as the monitor reads it (native/README.md, "spec.json"), decoded and checked.
#pragma once

#include <stdint.h>

#include <optional>
#include <string>
#include <vector>

namespace berth {

struct SpecMount {
  std::string source, target, fstype, data;
  std::vector<std::string> flags;
  bool is_file = false;  // kind "file"
};

struct SpecDevice {
  std::string path;
  char type = 'c';
  uint32_t major = 0, minor = 0, mode = 0, uid = 0, gid = 0;
};

struct SpecSymlink {
  std::string target, path;
};

struct ConsoleSize {
  uint16_t rows = 24, cols = 80;
};

struct LogSpec {
  uint64_t max_size_bytes = 0;  // 0: never rotate
  uint32_t max_files = 1;       // >= 1; 1 means truncate instead of rotating
  uint64_t first_seq = 1;
  // How long a partial line waits for more bytes; 0 (a tty: echo and prompts) passes it on at once.
  int partial_ms = 100;
  // Starts the disk writes behind the log as it grows (LogWriter::kWriteBehindBytes), for a log the exit
  // fsyncs: that fsync then waits for the last few MiB only. Not from the spec: the monitor sets it.
  bool write_behind = false;
};

// The credentials a process runs with (spec "user", exec "user").
struct SpecUser {
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additional_gids;
};

struct SpecSysctl {
  std::string key;    // "net.ipv4.ip_forward": [A-Za-z0-9_-] components joined by dots
  std::string value;  // written as is
};

// "security" (native/README.md, "Security (issue 7)").
struct SpecSecurity {
  std::vector<uint32_t> capabilities;  // kept in the bounding set; each <= 63 (the monitor
                                       // checks cap_last_cap when it builds the plan)
  bool no_new_privileges = false;
  std::string seccomp;  // the decoded struct sock_filter[] bytes (a multiple of 8); "" = none
  std::vector<std::string> masked_paths, readonly_paths;  // absolute container paths
  bool readonly_rootfs = false;
  std::vector<SpecSysctl> sysctls;
};

// "interface" (native/README.md, "The container's interface"): the veth pair the monitor makes
// right after created, and what init gives its end before the program runs.
struct SpecInterface {
  std::string host_name;  // the host end: 1-15 bytes, no '/' or whitespace
  std::string bridge;     // the host end's master
  uint32_t mtu = 1500;    // both ends
  uint8_t mac[6] = {};    // the container end's (eth0)
  uint32_t address = 0, gateway = 0;  // IPv4, network byte order
  uint32_t prefix_len = 0;            // 1-30
};

struct Spec {
  std::string id, rootfs, cwd = "/", hostname, domainname, log_path;
  // Where `exit` is written; "" the monitor's own directory (spec.json's, which may be on a tmpfs).
  std::string exit_dir;
  // The container's cgroup.procs files: init's pid goes into each before go (none when empty).
  std::vector<std::string> cgroup_procs;
  std::vector<std::string> args, env;
  SpecUser user;
  std::vector<SpecMount> mounts;
  std::vector<SpecDevice> devices;
  std::vector<SpecSymlink> symlinks;
  bool tty = false, open_stdin = false, stdin_once = false;
  ConsoleSize console;
  LogSpec log;
  // false: the log and the exit file are not fsynced at the exit (an auto-remove container's).
  bool durable_exit = true;
  // "" a new net namespace; "host" the monitor's own; an absolute path: that namespace (setns).
  std::string netns;
  std::optional<SpecInterface> iface;    // only with a new net namespace (netns "")
  std::optional<SpecSecurity> security;  // absent: no restriction at all
};

// The JSON of an `exec` control command (native/README.md, "Control commands").
struct ExecSpec {
  std::vector<std::string> args, env;
  std::string cwd = "/";
  SpecUser user;
  bool tty = false, stdin = false;
  ConsoleSize console;
  // cgroup.procs files the process joins before it enters the namespaces (one per hierarchy).
  std::vector<std::string> cgroup_procs;
  // Every capability stays in its bounding set (docker exec --privileged); seccomp and no_new_privs
  // are the container's still.
  bool privileged = false;
};

// Parses and validates; on failure *error names the field ("spec.json: args[0]: expected a string").
bool parse_spec(const std::string& text, Spec* spec, std::string* error);
// Same for an exec command's JSON; errors name the field ("exec: args: must hold a program").
bool parse_exec_spec(const std::string& text, ExecSpec* spec, std::string* error);

}  // namespace berth
