// The N-API entry points addon.cc exports; one js_<name> per JS function.
#pragma once

#include <napi.h>

namespace berth {

Napi::Value js_mount(const Napi::CallbackInfo& info);
Napi::Value js_unmount(const Napi::CallbackInfo& info);
Napi::Value js_mknod(const Napi::CallbackInfo& info);
Napi::Value js_lock_file(const Napi::CallbackInfo& info);
Napi::Value js_sealed_executable(const Napi::CallbackInfo& info);
Napi::Value js_scan_log_runs(const Napi::CallbackInfo& info);
Napi::Value js_open_at(const Napi::CallbackInfo& info);
Napi::Value js_mknod_at(const Napi::CallbackInfo& info);
Napi::Value js_get_xattr(const Napi::CallbackInfo& info);
Napi::Value js_set_xattr(const Napi::CallbackInfo& info);
Napi::Value js_attach_device_filter(const Napi::CallbackInfo& info);
Napi::Value js_spawn_with_socket(const Napi::CallbackInfo& info);
Napi::Value js_spawn_piped(const Napi::CallbackInfo& info);
Napi::Value js_send_with_socket(const Napi::CallbackInfo& info);
Napi::Value js_reap_child(const Napi::CallbackInfo& info);
Napi::Value js_sync_filesystem(const Napi::CallbackInfo& info);
Napi::Value js_file_ops(const Napi::CallbackInfo& info);
Napi::Value js_release_memory(const Napi::CallbackInfo& info);
Napi::Value js_spread_subdirectories(const Napi::CallbackInfo& info);
Napi::Value js_widen_send_buffer(const Napi::CallbackInfo& info);

}  // namespace berth
