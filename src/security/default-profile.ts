// Berth's default seccomp profile: an allow-list in the spirit of Docker's. What is not listed fails with EPERM,
// in particular the kernel interfaces that are not namespaced (keyrings, modules, clocks, kexec, bpf, perf,
// userfaultfd, io_uring) and the ones that make or enter namespaces and mounts, unless a capability opens them.
import { compileProfile } from './seccomp-compile';
import type { SeccompProfile, SeccompRule } from './seccomp-profile';

/** Names newer than the generated table (fchmodat2, cachestat, ...) are skipped until it is regenerated. */
const ALLOWED: readonly string[] = [
  // Reading and writing descriptors.
  'read', 'write', 'readv', 'writev', 'pread64', 'pwrite64', 'preadv', 'pwritev', 'preadv2', 'pwritev2',
  'lseek', 'sendfile', 'splice', 'tee', 'vmsplice', 'copy_file_range', 'ioctl',
  // Opening, closing and duplicating descriptors.
  'open', 'openat', 'openat2', 'creat', 'close', 'close_range', 'dup', 'dup2', 'dup3', 'fcntl', 'flock',
  'pipe', 'pipe2', 'memfd_create',
  // Syncing and sizing files.
  'fsync', 'fdatasync', 'sync', 'syncfs', 'sync_file_range', 'truncate', 'ftruncate', 'fallocate',
  'fadvise64', 'readahead',
  // Paths and metadata.
  'stat', 'fstat', 'lstat', 'newfstatat', 'statx', 'statfs', 'fstatfs', 'ustat', 'access', 'faccessat',
  'faccessat2', 'getcwd', 'chdir', 'fchdir', 'getdents', 'getdents64', 'readlink', 'readlinkat',
  'mkdir', 'mkdirat', 'rmdir', 'mknod', 'mknodat', 'rename', 'renameat', 'renameat2', 'link', 'linkat',
  'unlink', 'unlinkat', 'symlink', 'symlinkat', 'umask', 'utime', 'utimes', 'utimensat', 'futimesat',
  // Ownership and modes (the capabilities decide who may; the calls are namespaced).
  'chmod', 'fchmod', 'fchmodat', 'fchmodat2', 'chown', 'fchown', 'lchown', 'fchownat',
  // Extended attributes.
  'getxattr', 'lgetxattr', 'fgetxattr', 'setxattr', 'lsetxattr', 'fsetxattr', 'listxattr', 'llistxattr',
  'flistxattr', 'removexattr', 'lremovexattr', 'fremovexattr',
  // Memory.
  'brk', 'mmap', 'munmap', 'mremap', 'mprotect', 'msync', 'mincore', 'madvise', 'remap_file_pages',
  'mlock', 'mlock2', 'munlock', 'mlockall', 'munlockall', 'membarrier', 'pkey_alloc', 'pkey_free',
  'pkey_mprotect', 'map_shadow_stack', 'mseal',
  // Signals.
  'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'rt_sigpending', 'rt_sigtimedwait', 'rt_sigqueueinfo',
  'rt_tgsigqueueinfo', 'rt_sigsuspend', 'sigaltstack', 'signalfd', 'signalfd4', 'kill', 'tkill', 'tgkill',
  'pause', 'restart_syscall', 'pidfd_open', 'pidfd_send_signal',
  // Processes and threads (clone and clone3 have rules of their own below).
  'fork', 'vfork', 'execve', 'execveat', 'exit', 'exit_group', 'wait4', 'waitid', 'set_tid_address',
  'set_robust_list', 'get_robust_list', 'futex', 'futex_waitv', 'futex_wake', 'futex_wait', 'futex_requeue',
  'rseq', 'arch_prctl', 'prctl', 'set_thread_area', 'get_thread_area', 'modify_ldt', 'seccomp',
  'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self',
  // Identity: ids, groups, sessions, capability sets (the kernel checks the capabilities they need).
  'getpid', 'getppid', 'gettid', 'getuid', 'geteuid', 'getgid', 'getegid', 'getresuid', 'getresgid',
  'getgroups', 'setuid', 'setgid', 'setreuid', 'setregid', 'setresuid', 'setresgid', 'setfsuid', 'setfsgid',
  'setgroups', 'getpgid', 'getpgrp', 'setpgid', 'getsid', 'setsid', 'capget', 'capset',
  // Limits, scheduling and CPU placement.
  'getrlimit', 'setrlimit', 'prlimit64', 'getrusage', 'getpriority', 'setpriority', 'sched_yield',
  'sched_getparam', 'sched_setparam', 'sched_getscheduler', 'sched_setscheduler', 'sched_get_priority_max',
  'sched_get_priority_min', 'sched_rr_get_interval', 'sched_getaffinity', 'sched_setaffinity',
  'sched_getattr', 'sched_setattr', 'getcpu', 'ioprio_get', 'ioprio_set',
  // Reading clocks, sleeping, timers.
  'time', 'gettimeofday', 'clock_gettime', 'clock_getres', 'clock_nanosleep', 'nanosleep', 'alarm',
  'getitimer', 'setitimer', 'timer_create', 'timer_settime', 'timer_gettime', 'timer_getoverrun',
  'timer_delete', 'timerfd_create', 'timerfd_settime', 'timerfd_gettime', 'times',
  // Waiting for descriptors and events.
  'poll', 'ppoll', 'select', 'pselect6', 'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_wait',
  'epoll_pwait', 'epoll_pwait2', 'eventfd', 'eventfd2', 'inotify_init', 'inotify_init1', 'inotify_add_watch',
  'inotify_rm_watch', 'fanotify_mark',
  // Asynchronous I/O, the old interface (io_uring stays out: a long record of kernel bugs, Docker blocks it too).
  'io_setup', 'io_destroy', 'io_submit', 'io_cancel', 'io_getevents', 'io_pgetevents',
  // Sockets (socket itself has a rule below).
  'socketpair', 'bind', 'listen', 'accept', 'accept4', 'connect', 'getsockname', 'getpeername',
  'getsockopt', 'setsockopt', 'sendto', 'recvfrom', 'sendmsg', 'recvmsg', 'sendmmsg', 'recvmmsg', 'shutdown',
  // System V and POSIX IPC (namespaced by the IPC namespace).
  'shmget', 'shmat', 'shmdt', 'shmctl', 'semget', 'semop', 'semtimedop', 'semctl', 'msgget', 'msgsnd',
  'msgrcv', 'msgctl', 'mq_open', 'mq_unlink', 'mq_timedsend', 'mq_timedreceive', 'mq_notify', 'mq_getsetattr',
  // The rest a program asks about itself and the machine.
  'uname', 'sysinfo', 'getrandom',
];

/** Flags that make namespaces: CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET (linux/sched.h). */
const CLONE_NAMESPACE_FLAGS = 0x7e02_0000;
const AF_VSOCK = 40;
const ENOSYS = 38;
/** personality(2) values programs use: PER_LINUX, UNAME26, ADDR_NO_RANDOMIZE and both, and 0xffffffff (query). */
const PERSONALITIES = [0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff];

/** Syscalls a capability opens, as in Docker's profile: the capability is what the kernel checks for them. */
const BY_CAPABILITY: Record<string, readonly string[]> = {
  CAP_SYS_ADMIN: [
    'mount', 'umount2', 'pivot_root', 'unshare', 'setns', 'clone', 'clone3', 'open_tree', 'move_mount',
    'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr', 'quotactl', 'quotactl_fd', 'fanotify_init',
    'name_to_handle_at', 'lookup_dcookie', 'bpf', 'perf_event_open', 'sethostname', 'setdomainname', 'syslog',
  ],
  CAP_SYS_PTRACE: ['ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd', 'process_madvise'],
  CAP_SYS_MODULE: ['init_module', 'finit_module', 'delete_module'],
  CAP_SYS_BOOT: ['reboot'],
  CAP_SYS_TIME: ['settimeofday', 'clock_settime', 'adjtimex', 'clock_adjtime'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYS_RAWIO: ['iopl', 'ioperm'],
  CAP_SYS_NICE: ['get_mempolicy', 'set_mempolicy', 'mbind', 'set_mempolicy_home_node', 'migrate_pages', 'move_pages'],
  CAP_SYSLOG: ['syslog'],
  CAP_SYS_CHROOT: ['chroot'],
  CAP_SYS_TTY_CONFIG: ['vhangup'],
  CAP_DAC_READ_SEARCH: ['open_by_handle_at'],
  CAP_BPF: ['bpf'],
  CAP_PERFMON: ['perf_event_open'],
};

const allow = (names: readonly string[], extra: Omit<SeccompRule, 'names' | 'action'> = {}): SeccompRule => ({
  names: [...names],
  action: 'SCMP_ACT_ALLOW',
  ...extra,
});

/**
 * Never allowed, whatever the capabilities, so they get EPERM: keyctl, add_key and request_key (keyrings are not
 * namespaced), kexec_load, kexec_file_load, swapon, swapoff, userfaultfd, io_uring_*, the personality values not
 * listed, vm86 and the syscalls the kernel no longer has (create_module, get_kernel_syms, query_module,
 * nfsservctl, uselib, _sysctl, ...). Rules are tried in order, so the conditional rules come after the plain list.
 */
export const DEFAULT_PROFILE: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1,
  architectures: ['SCMP_ARCH_X86_64'],
  syscalls: [
    allow(ALLOWED),
    ...PERSONALITIES.map((value) => allow(['personality'], { args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] })),
    // Every address family but vsock, which reaches the host's hypervisor side (Docker refuses it too).
    allow(['socket'], { args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }] }),
    // Threads and processes, but no new namespaces; CAP_SYS_ADMIN's rule below allows every clone.
    allow(['clone'], {
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      excludes: { caps: ['CAP_SYS_ADMIN'] },
    }),
    // clone3 passes its flags in memory, where BPF cannot look. ENOSYS makes glibc fall back to clone.
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    ...Object.entries(BY_CAPABILITY).map(([cap, names]) => allow(names, { includes: { caps: [cap] } })),
  ],
};

/** The default profile's program for a container with `capabilities` (e.g. 'CAP_SYS_ADMIN'). */
/** Compiled programs by capability set: nearly every container has the same few sets. */
const compiled = new Map<string, Buffer>();
const MAX_CACHED = 64;

export function defaultProgram(capabilities: readonly string[]): Buffer {
  const key = [...capabilities].sort().join(',');
  let program = compiled.get(key);
  if (!program) {
    program = compileProfile(DEFAULT_PROFILE, { capabilities });
    if (compiled.size >= MAX_CACHED) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, program);
  }
  // A copy: the caller may not change what the next container gets.
  return Buffer.from(program);
}
