// spec.json as the monitor reads it (native/README.md, "spec.json"), decoded and checked.
#pragma once

#include <stdint.h>

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

struct Spec {
  std::string id, rootfs, cwd = "/", hostname, domainname, log_path;
  std::vector<std::string> args, env;
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additional_gids;
  std::vector<SpecMount> mounts;
  std::vector<SpecDevice> devices;
  std::vector<SpecSymlink> symlinks;
};

// Parses and validates; on failure *error names the field ("spec.json: args[0]: expected a string").
bool parse_spec(const std::string& text, Spec* spec, std::string* error);

}  // namespace berth
