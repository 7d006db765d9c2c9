// Export table of berth.node: JS name -> entry point in js/. See native/README.md.
#include <napi.h>

#include "js/entry_points.h"

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("mount", Napi::Function::New(env, berth::js_mount, "mount"));
  exports.Set("unmount", Napi::Function::New(env, berth::js_unmount, "unmount"));
  exports.Set("mknod", Napi::Function::New(env, berth::js_mknod, "mknod"));
  exports.Set("lockFile", Napi::Function::New(env, berth::js_lock_file, "lockFile"));
  exports.Set("sealedExecutable", Napi::Function::New(env, berth::js_sealed_executable, "sealedExecutable"));
  exports.Set("scanLogRuns", Napi::Function::New(env, berth::js_scan_log_runs, "scanLogRuns"));
  exports.Set("openAt", Napi::Function::New(env, berth::js_open_at, "openAt"));
  exports.Set("mknodAt", Napi::Function::New(env, berth::js_mknod_at, "mknodAt"));
  exports.Set("getXattr", Napi::Function::New(env, berth::js_get_xattr, "getXattr"));
  exports.Set("setXattr", Napi::Function::New(env, berth::js_set_xattr, "setXattr"));
  exports.Set("attachDeviceFilter", Napi::Function::New(env, berth::js_attach_device_filter, "attachDeviceFilter"));
  exports.Set("spawnWithSocket", Napi::Function::New(env, berth::js_spawn_with_socket, "spawnWithSocket"));
  exports.Set("sendWithSocket", Napi::Function::New(env, berth::js_send_with_socket, "sendWithSocket"));
  exports.Set("spawnPiped", Napi::Function::New(env, berth::js_spawn_piped, "spawnPiped"));
  exports.Set("reapChild", Napi::Function::New(env, berth::js_reap_child, "reapChild"));
  exports.Set("syncFilesystem", Napi::Function::New(env, berth::js_sync_filesystem, "syncFilesystem"));
  exports.Set("fileOps", Napi::Function::New(env, berth::js_file_ops, "fileOps"));
  exports.Set("releaseMemory", Napi::Function::New(env, berth::js_release_memory, "releaseMemory"));
  exports.Set("spreadSubdirectories", Napi::Function::New(env, berth::js_spread_subdirectories, "spreadSubdirectories"));
  exports.Set("widenSendBuffer", Napi::Function::New(env, berth::js_widen_send_buffer, "widenSendBuffer"));
  return exports;
}

}  // namespace

NODE_API_MODULE(berth, init)
