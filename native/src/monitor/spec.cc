// spec.json decoding: a json::Value tree -> Spec, with one error message per bad field.
#include "monitor/spec.h"

#include <cmath>

#include "monitor/json.h"

namespace berth {

namespace {

using json::Value;
using Kind = json::Value::Kind;

class Decoder {
 public:
  explicit Decoder(std::string* error) : error_(error) {}

  bool fail(const std::string& field, const char* why) {
    *error_ = "spec.json: " + field + ": " + why;
    return false;
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

  // Calls each(element, "key[i].") for an optional array of objects.
  template <typename F>
  bool objects(const Value& obj, const char* key, F each) {
    const Value* v = obj.get(key);
    if (!v || v->kind == Kind::Null) return true;
    if (v->kind != Kind::Array) return fail(key, "expected an array");
    for (size_t i = 0; i < v->array.size(); i++) {
      std::string at = std::string(key) + "[" + std::to_string(i) + "].";
      if (v->array[i].kind != Kind::Object) return fail(at, "expected an object");
      if (!each(v->array[i], at)) return false;
    }
    return true;
  }

 private:
  std::string* error_;
};

}  // namespace

bool parse_spec(const std::string& text, Spec* s, std::string* error) {
  Value root;
  std::string why;
  if (!json::parse(text, &root, &why)) {
    *error = "spec.json: " + why;
    return false;
  }
  Decoder d(error);
  if (root.kind != Kind::Object) return d.fail("(root)", "expected an object");
  if (!d.str(root, "id", &s->id, true, "") || !d.abs_path(root, "rootfs", &s->rootfs, "") ||
      !d.strings(root, "args", &s->args, "") || !d.strings(root, "env", &s->env, "") ||
      !d.str(root, "hostname", &s->hostname, false, "") ||
      !d.str(root, "domainname", &s->domainname, false, "") ||
      !d.abs_path(root, "logPath", &s->log_path, ""))
    return false;
  if (s->args.empty() || s->args[0].empty()) return d.fail("args", "must hold a program");
  if (root.get("cwd") && !d.abs_path(root, "cwd", &s->cwd, "")) return false;
  if (const Value* user = root.get("user")) {
    if (user->kind != Kind::Object) return d.fail("user", "expected an object");
    if (!d.u32(*user, "uid", &s->uid, false, "user.") || !d.u32(*user, "gid", &s->gid, false, "user."))
      return false;
    if (const Value* gids = user->get("additionalGids"); gids && gids->kind != Kind::Null) {
      if (gids->kind != Kind::Array) return d.fail("user.additionalGids", "expected an array");
      for (const Value& g : gids->array) {
        if (g.kind != Kind::Number || g.number < 0 || g.number > 4294967295.0 ||
            std::floor(g.number) != g.number)
          return d.fail("user.additionalGids", "expected integers");
        s->additional_gids.push_back(static_cast<uint32_t>(g.number));
      }
    }
  }
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

}  // namespace berth
