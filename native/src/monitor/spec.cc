// spec.json decoding: a json::Value tree -> Spec, with one error message per bad field.
#include "monitor/spec.h"

#include <arpa/inet.h>
#include <ctype.h>

#include <cmath>

#include "monitor/json.h"

namespace berth {

namespace {

using json::Value;
using Kind = json::Value::Kind;

class Decoder {
 public:
  Decoder(std::string* error, const char* what) : error_(error), what_(what) {}

  bool fail(const std::string& field, const char* why) {
    *error_ = std::string(what_) + ": " + field + ": " + why;
    return false;
  }

  bool boolean(const Value& obj, const char* key, bool* out, const std::string& at) {
    const Value* v = obj.get(key);
    if (!v || v->kind == Kind::Null) return true;
    if (v->kind != Kind::Bool) return fail(at + key, "expected a boolean");
    *out = v->boolean;
    return true;
  }

  // Integers up to 2^53 (what a JSON number holds exactly).
  bool u64(const Value& obj, const char* key, uint64_t* out, const std::string& at) {
    const Value* v = obj.get(key);
    if (!v || v->kind == Kind::Null) return true;
    if (v->kind != Kind::Number || v->number < 0 || v->number > 9007199254740992.0 ||
        std::floor(v->number) != v->number)
      return fail(at + key, "expected an integer in [0, 2^53]");
    *out = static_cast<uint64_t>(v->number);
    return true;
  }

  bool user(const Value& root, SpecUser* u) {
    const Value* user = root.get("user");
    if (!user || user->kind == Kind::Null) return true;
    if (user->kind != Kind::Object) return fail("user", "expected an object");
    if (!u32(*user, "uid", &u->uid, false, "user.") || !u32(*user, "gid", &u->gid, false, "user."))
      return false;
    if (const Value* gids = user->get("additionalGids"); gids && gids->kind != Kind::Null) {
      if (gids->kind != Kind::Array) return fail("user.additionalGids", "expected an array");
      for (const Value& g : gids->array) {
        if (g.kind != Kind::Number || g.number < 0 || g.number > 4294967295.0 ||
            std::floor(g.number) != g.number)
          return fail("user.additionalGids", "expected integers");
        u->additional_gids.push_back(static_cast<uint32_t>(g.number));
      }
    }
    return true;
  }

  // consoleSize: rows and cols in [1, 65535] (struct winsize holds unsigned shorts).
  bool console(const Value& root, ConsoleSize* c) {
    const Value* v = root.get("consoleSize");
    if (!v || v->kind == Kind::Null) return true;
    if (v->kind != Kind::Object) return fail("consoleSize", "expected an object");
    uint32_t rows = c->rows, cols = c->cols;
    if (!u32(*v, "rows", &rows, false, "consoleSize.") || !u32(*v, "cols", &cols, false, "consoleSize."))
      return false;
    if (rows < 1 || rows > 65535 || cols < 1 || cols > 65535)
      return fail("consoleSize", "rows and cols must be in [1, 65535]");
    c->rows = static_cast<uint16_t>(rows);
    c->cols = static_cast<uint16_t>(cols);
    return true;
  }

  bool str(const Value& obj, const char* key, std::string* out, bool required, const std::string& at) {
    const Value* v = obj.get(key);
    if (!v || v->kind == Kind::Null) return !required || fail(at + key, "is required");
    if (v->kind != Kind::String) return fail(at + key, "expected a string");
    if (v->string.find('\0') != std::string::npos) return fail(at + key, "contains NUL");
    *out = v->string;
    return true;
  }

  bool abs_path(const Value& obj, const char* key, std::string* out, const std::string& at) {
    if (!str(obj, key, out, true, at)) return false;
    return (!out->empty() && (*out)[0] == '/') || fail(at + key, "expected an absolute path");
  }

  bool u32(const Value& obj, const char* key, uint32_t* out, bool required, const std::string& at) {
    const Value* v = obj.get(key);
    if (!v) return !required || fail(at + key, "is required");
    if (v->kind != Kind::Number || v->number < 0 || v->number > 4294967295.0 ||
        std::floor(v->number) != v->number)
      return fail(at + key, "expected an integer in [0, 2^32)");
    *out = static_cast<uint32_t>(v->number);
    return true;
  }

  bool strings(const Value& obj, const char* key, std::vector<std::string>* out, const std::string& at) {
    const Value* v = obj.get(key);
    if (!v || v->kind == Kind::Null) return true;
    if (v->kind != Kind::Array) return fail(at + key, "expected an array of strings");
    for (const Value& e : v->array) {
      if (e.kind != Kind::String || e.string.find('\0') != std::string::npos)
        return fail(at + key, "expected an array of strings");
      out->push_back(e.string);
    }
    return true;
  }

  // Calls each(element, "<at>key[i].") for an optional array of objects.
  template <typename F>
  bool objects(const Value& obj, const char* key, F each, const std::string& prefix = "") {
    const Value* v = obj.get(key);
    if (!v || v->kind == Kind::Null) return true;
    if (v->kind != Kind::Array) return fail(prefix + key, "expected an array");
    for (size_t i = 0; i < v->array.size(); i++) {
      std::string at = prefix + key + "[" + std::to_string(i) + "].";
      if (v->array[i].kind != Kind::Object) return fail(at, "expected an object");
      if (!each(v->array[i], at)) return false;
    }
    return true;
  }

 private:
  std::string* error_;
  const char* what_;
};

// Decodes standard padded base64 (RFC 4648) into *out; false for anything else.
bool decode_base64(const std::string& in, std::string* out) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (in.size() % 4 != 0) return false;
  size_t pad = 0;
  while (pad < 2 && pad < in.size() && in[in.size() - 1 - pad] == '=') pad++;
  uint32_t bits = 0;
  for (size_t i = 0; i < in.size() - pad; i++) {
    size_t v = kAlphabet.find(in[i]);
    if (v == std::string::npos) return false;  // '=' inside the text, or a byte outside the alphabet
    bits = bits << 6 | static_cast<uint32_t>(v);
    if (i % 4 == 3)
      out->append({static_cast<char>(bits >> 16), static_cast<char>(bits >> 8), static_cast<char>(bits)});
  }
  // The last group: 2 or 3 characters give 1 or 2 bytes.
  if (pad == 2) out->push_back(static_cast<char>(bits >> 4));
  if (pad == 1) out->append({static_cast<char>(bits >> 10), static_cast<char>(bits >> 2)});
  return true;
}

// A sysctl key: components of [A-Za-z0-9_-] joined by single dots. No '/', no empty component
// (so no ".." either): its dots become the slashes of a path under /proc/sys.
bool valid_sysctl_key(const std::string& key) {
  if (key.empty() || key.front() == '.' || key.back() == '.' || key.find("..") != std::string::npos)
    return false;
  for (char c : key)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

// Limits of "security.seccomp": whole struct sock_filter entries, at most BPF_MAXINSNS of them.
constexpr size_t kSockFilterBytes = 8;
constexpr size_t kMaxFilterInstructions = 4096;

bool parse_seccomp(Decoder& d, const Value& sec, std::string* out) {
  std::string text;
  if (!d.str(sec, "seccomp", &text, false, "security.")) return false;
  if (text.empty()) return true;
  if (!decode_base64(text, out)) return d.fail("security.seccomp", "expected base64");
  if (out->empty() || out->size() % kSockFilterBytes != 0)
    return d.fail("security.seccomp", "must be a non-zero multiple of 8 bytes (struct sock_filter)");
  if (out->size() / kSockFilterBytes > kMaxFilterInstructions)
    return d.fail("security.seccomp", "more than 4096 instructions");
  return true;
}

// maskedPaths / readonlyPaths: absolute container paths.
bool parse_paths(Decoder& d, const Value& sec, const char* key, std::vector<std::string>* out) {
  if (!d.strings(sec, key, out, "security.")) return false;
  for (size_t i = 0; i < out->size(); i++)
    if ((*out)[i].empty() || (*out)[i][0] != '/')
      return d.fail(std::string("security.") + key + "[" + std::to_string(i) + "]",
                    "expected an absolute path");
  return true;
}

bool parse_security(Decoder& d, const Value& root, std::optional<SpecSecurity>* out) {
  const Value* v = root.get("security");
  if (!v || v->kind == Kind::Null) return true;
  if (v->kind != Kind::Object) return d.fail("security", "expected an object");
  SpecSecurity s;
  const Value* caps = v->get("capabilities");
  if (!caps || caps->kind != Kind::Array)
    return d.fail("security.capabilities", "expected an array (required)");
  for (const Value& c : caps->array) {
    // 63: the kernel's capability sets are 64 bits; cap_last_cap is checked by build_plan.
    if (c.kind != Kind::Number || c.number < 0 || c.number > 63 || std::floor(c.number) != c.number)
      return d.fail("security.capabilities", "expected integers in [0, 63]");
    s.capabilities.push_back(static_cast<uint32_t>(c.number));
  }
  if (!d.boolean(*v, "noNewPrivileges", &s.no_new_privileges, "security.") ||
      !d.boolean(*v, "readonlyRootfs", &s.readonly_rootfs, "security.") ||
      !parse_seccomp(d, *v, &s.seccomp) || !parse_paths(d, *v, "maskedPaths", &s.masked_paths) ||
      !parse_paths(d, *v, "readonlyPaths", &s.readonly_paths))
    return false;
  bool ok = d.objects(*v, "sysctls", [&](const Value& e, const std::string& at) {
    SpecSysctl sc;
    if (!d.str(e, "key", &sc.key, true, at) || !d.str(e, "value", &sc.value, true, at)) return false;
    if (!valid_sysctl_key(sc.key))
      return d.fail(at + "key", "expected [A-Za-z0-9_-] components joined by single dots");
    s.sysctls.push_back(std::move(sc));
    return true;
  }, "security.");
  if (ok) *out = std::move(s);
  return ok;
}

// An interface name as the kernel takes it (dev_valid_name): 1-15 bytes, no '/', ':' or space.
bool valid_ifname(const std::string& name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  for (char c : name)
    if (c == '/' || c == ':' || isspace(static_cast<unsigned char>(c))) return false;
  return true;
}

bool parse_ipv4(const std::string& text, uint32_t* out) {
  struct in_addr a;
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) return false;
  *out = a.s_addr;
  return true;
}

// "02:42:0a:58:00:02": six hex pairs.
bool parse_mac(const std::string& text, uint8_t mac[6]) {
  if (text.size() != 17) return false;
  for (size_t i = 0; i < 6; i++) {
    if (i > 0 && text[i * 3 - 1] != ':') return false;
    if (!isxdigit(static_cast<unsigned char>(text[i * 3])) || !isxdigit(static_cast<unsigned char>(text[i * 3 + 1])))
      return false;
    mac[i] = static_cast<uint8_t>(std::stoi(text.substr(i * 3, 2), nullptr, 16));
  }
  return true;
}

bool parse_interface(Decoder& d, const Value& root, const std::string& netns, std::optional<SpecInterface>* out) {
  const Value* v = root.get("interface");
  if (!v || v->kind == Kind::Null) return true;
  if (v->kind != Kind::Object) return d.fail("interface", "expected an object");
  if (!netns.empty()) return d.fail("interface", "only with a new net namespace (netns \"\")");
  SpecInterface i;
  std::string mac, address, gateway;
  if (!d.str(*v, "hostName", &i.host_name, true, "interface.") || !d.str(*v, "bridge", &i.bridge, true, "interface.") ||
      !d.u32(*v, "mtu", &i.mtu, true, "interface.") || !d.str(*v, "mac", &mac, true, "interface.") ||
      !d.str(*v, "address", &address, true, "interface.") || !d.u32(*v, "prefixLen", &i.prefix_len, true, "interface.") ||
      !d.str(*v, "gateway", &gateway, true, "interface."))
    return false;
  if (!valid_ifname(i.host_name)) return d.fail("interface.hostName", "expected an interface name (1-15 bytes)");
  if (!valid_ifname(i.bridge)) return d.fail("interface.bridge", "expected an interface name (1-15 bytes)");
  if (i.mtu < 68 || i.mtu > 65535) return d.fail("interface.mtu", "expected 68-65535");
  if (!parse_mac(mac, i.mac)) return d.fail("interface.mac", "expected six hex pairs joined by ':'");
  if (!parse_ipv4(address, &i.address)) return d.fail("interface.address", "expected an IPv4 address");
  if (!parse_ipv4(gateway, &i.gateway)) return d.fail("interface.gateway", "expected an IPv4 address");
  if (i.prefix_len < 1 || i.prefix_len > 30) return d.fail("interface.prefixLen", "expected 1-30");
  *out = std::move(i);
  return true;
}

bool parse_log(Decoder& d, const Value& root, LogSpec* log) {
  const Value* v = root.get("log");
  if (!v || v->kind == Kind::Null) return true;
  if (v->kind != Kind::Object) return d.fail("log", "expected an object");
  if (!d.u64(*v, "maxSizeBytes", &log->max_size_bytes, "log.") ||
      !d.u32(*v, "maxFiles", &log->max_files, false, "log.") || !d.u64(*v, "firstSeq", &log->first_seq, "log."))
    return false;
  return log->max_files >= 1 || d.fail("log.maxFiles", "must be at least 1");
}

// "cgroupProcs" (optional, init's and exec's): absolute paths of the container's cgroup.procs files.
bool parse_cgroup_procs(Decoder& d, const Value& root, std::vector<std::string>* out) {
  if (root.get("cgroupProcs") && !d.strings(root, "cgroupProcs", out, "")) return false;
  for (const std::string& f : *out)
    if (f.empty() || f[0] != '/') return d.fail("cgroupProcs", "must hold absolute paths");
  return true;
}

}  // namespace

bool parse_spec(const std::string& text, Spec* s, std::string* error) {
  Value root;
  std::string why;
  if (!json::parse(text, &root, &why)) {
    *error = "spec.json: " + why;
    return false;
  }
  Decoder d(error, "spec.json");
  if (root.kind != Kind::Object) return d.fail("(root)", "expected an object");
  if (!d.str(root, "id", &s->id, true, "") || !d.abs_path(root, "rootfs", &s->rootfs, "") ||
      !d.strings(root, "args", &s->args, "") || !d.strings(root, "env", &s->env, "") ||
      !d.str(root, "hostname", &s->hostname, false, "") ||
      !d.str(root, "domainname", &s->domainname, false, "") ||
      !d.abs_path(root, "logPath", &s->log_path, ""))
    return false;
  if (s->args.empty() || s->args[0].empty()) return d.fail("args", "must hold a program");
  if (root.get("cwd") && !d.abs_path(root, "cwd", &s->cwd, "")) return false;
  if (root.get("exitDir") && !d.abs_path(root, "exitDir", &s->exit_dir, "")) return false;
  if (!parse_cgroup_procs(d, root, &s->cgroup_procs)) return false;
  if (!d.str(root, "netns", &s->netns, false, "")) return false;
  if (!s->netns.empty() && s->netns != "host" && s->netns[0] != '/')
    return d.fail("netns", "expected \"\", \"host\" or an absolute path");
  if (!parse_interface(d, root, s->netns, &s->iface)) return false;
  if (!d.user(root, &s->user) || !d.boolean(root, "tty", &s->tty, "") ||
      !d.boolean(root, "openStdin", &s->open_stdin, "") ||
      !d.boolean(root, "stdinOnce", &s->stdin_once, "") || !d.console(root, &s->console) ||
      !d.boolean(root, "durableExit", &s->durable_exit, "") ||
      !parse_log(d, root, &s->log) || !parse_security(d, root, &s->security))
    return false;
  bool ok = d.objects(root, "mounts", [&](const Value& m, const std::string& at) {
    SpecMount sm;
    std::string kind = "dir";
    if (!d.str(m, "source", &sm.source, false, at) || !d.abs_path(m, "target", &sm.target, at) ||
        !d.str(m, "fstype", &sm.fstype, false, at) || !d.str(m, "data", &sm.data, false, at) ||
        !d.strings(m, "flags", &sm.flags, at) || !d.str(m, "kind", &kind, false, at))
      return false;
    if (kind != "dir" && kind != "file") return d.fail(at + "kind", "expected \"dir\" or \"file\"");
    sm.is_file = kind == "file";
    s->mounts.push_back(std::move(sm));
    return true;
  });
  ok = ok && d.objects(root, "devices", [&](const Value& v, const std::string& at) {
    SpecDevice dev;
    std::string type;
    if (!d.abs_path(v, "path", &dev.path, at) || !d.str(v, "type", &type, true, at) ||
        !d.u32(v, "major", &dev.major, false, at) || !d.u32(v, "minor", &dev.minor, false, at) ||
        !d.u32(v, "mode", &dev.mode, true, at) || !d.u32(v, "uid", &dev.uid, false, at) ||
        !d.u32(v, "gid", &dev.gid, false, at))
      return false;
    if (type != "c" && type != "b" && type != "p") return d.fail(at + "type", "expected c, b or p");
    if (dev.mode > 07777) return d.fail(at + "mode", "permission bits only (<= 0o7777)");
    dev.type = type[0];
    s->devices.push_back(std::move(dev));
    return true;
  });
  ok = ok && d.objects(root, "symlinks", [&](const Value& v, const std::string& at) {
    SpecSymlink l;
    if (!d.str(v, "target", &l.target, true, at) || !d.abs_path(v, "path", &l.path, at)) return false;
    s->symlinks.push_back(std::move(l));
    return true;
  });
  return ok;
}

bool parse_exec_spec(const std::string& text, ExecSpec* s, std::string* error) {
  Value root;
  std::string why;
  if (!json::parse(text, &root, &why)) {
    *error = "exec: " + why;
    return false;
  }
  Decoder d(error, "exec");
  if (root.kind != Kind::Object) return d.fail("(root)", "expected an object");
  if (!d.strings(root, "args", &s->args, "") || !d.strings(root, "env", &s->env, "") ||
      !d.user(root, &s->user) || !d.boolean(root, "tty", &s->tty, "") ||
      !d.boolean(root, "stdin", &s->stdin, "") || !d.console(root, &s->console))
    return false;
  if (s->args.empty() || s->args[0].empty()) return d.fail("args", "must hold a program");
  if (!parse_cgroup_procs(d, root, &s->cgroup_procs)) return false;
  if (root.get("privileged") && !d.boolean(root, "privileged", &s->privileged, "")) return false;
  return !root.get("cwd") || d.abs_path(root, "cwd", &s->cwd, "");
}

}  // namespace berth
