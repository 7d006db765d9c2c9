# Two targets: the N-API addon loaded by src/native/addon.ts, and the per-container
# monitor executable (plain C++17, no napi). Sources are listed, not globbed.
{
  'target_defaults': {
    'cflags!': ['-O3'],
    'cflags': ['-O2', '-Wall', '-Wextra', '-Wno-unused-parameter'],
    'defines': ['_GNU_SOURCE'],
    'include_dirs': ['native/src'],
  },
  'targets': [
    {
      'target_name': 'berth',
      'dependencies': [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
      ],
      'include_dirs': ["<!@(node -p \"require('node-addon-api').include\")"],
      'defines': ['NAPI_VERSION=8'],
      'sources': [
        'native/src/addon.cc',
        'native/src/js/errors.cc',
        'native/src/js/mount.cc',
        'native/src/js/lock.cc',
        'native/src/sys/errno_name.cc',
        'native/src/sys/mount_op.cc',
      ],
    },
    {
      'target_name': 'berth-monitor',
      'type': 'executable',
      'sources': [
        'native/src/monitor/main.cc',
        'native/src/monitor/daemon.cc',
        'native/src/monitor/launch.cc',
        'native/src/monitor/event_loop.cc',
        'native/src/monitor/clients.cc',
        'native/src/monitor/commands.cc',
        'native/src/monitor/exec_session.cc',
        'native/src/monitor/input_sink.cc',
        'native/src/monitor/pty.cc',
        'native/src/monitor/log_writer.cc',
        'native/src/monitor/exit_file.cc',
        'native/src/monitor/json.cc',
        'native/src/monitor/json_escape.cc',
        'native/src/monitor/spec.cc',
        'native/src/monitor/plan_builder.cc',
        'native/src/child/init.cc',
        'native/src/child/mounts.cc',
        'native/src/child/devices.cc',
        'native/src/child/identity.cc',
        'native/src/child/exec.cc',
        'native/src/child/enter.cc',
        'native/src/sys/errno_name.cc',
        'native/src/sys/mount_op.cc',
        'native/src/sys/fs_util.cc',
      ],
    },
  ],
}
