// Pure builder: a container record plus where its files live -> the RuntimeSpec its monitor performs.
import type { ContainerRecord } from '../containers/model';
import type { ResolvedUser } from './user';
import { userMountOps, withoutReplaced, type UserMount } from './mounts';
import type { SecuritySpec } from '../security/options';
import type { DeviceOp, ExecSpec, InterfaceSpec, MountOp, RuntimeSpec, SymlinkOp } from './spec';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface PlanInputs {
  rootfs: string;
  logPath: string;
  /** The container's directory, for its exit file (the monitor runs in its runtime directory); not an auto-remove one's. */
  dir?: string;
  hostnamePath: string;
  hostsPath: string;
  resolvConfPath: string;
  user: ResolvedUser;
  consoleSize?: { rows: number; cols: number };
  /** The seq of the newest entry already in the log: numbering goes on from it. */
  lastSeq: number;
  /** Volumes and binds, their sources resolved on the host at start. */
  mounts?: UserMount[];
  /** The net namespace: "" a new one (the default), "host", or a path to join. */
  netns?: string;
  /** The bridge network's veth, with a new net namespace. */
  netInterface?: InterfaceSpec;
  /** Links' variables: after Docker's defaults, before the config's own. */
  linkEnv?: string[];
  /** Capabilities, seccomp, masked and read-only paths, sysctls; none of it when absent. */
  security?: SecuritySpec;
  /** A privileged container's extra devices: the host's (hostDevices()). */
  extraDevices?: DeviceOp[];
  /** The container's cgroup.procs files, for the monitor to put init in before go. */
  cgroupProcs?: string[];
}

/** A terminal that nobody sized yet is 24x80, never 0x0. */
export const DEFAULT_CONSOLE = { rows: 24, cols: 80 };

const RW_MODE = 0o666;

/** The devices every container gets (OCI's default set). */
export const DEFAULT_DEVICES: DeviceOp[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, mode: RW_MODE, uid: 0, gid: 0 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, mode: RW_MODE, uid: 0, gid: 0 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, mode: RW_MODE, uid: 0, gid: 0 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, mode: RW_MODE, uid: 0, gid: 0 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, mode: RW_MODE, uid: 0, gid: 0 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, mode: RW_MODE, uid: 0, gid: 0 },
];

const DEFAULT_SYMLINKS: SymlinkOp[] = [
  { target: '/proc/self/fd', path: '/dev/fd' },
  { target: '/proc/self/fd/0', path: '/dev/stdin' },
  { target: '/proc/self/fd/1', path: '/dev/stdout' },
  { target: '/proc/self/fd/2', path: '/dev/stderr' },
  { target: 'pts/ptmx', path: '/dev/ptmx' },
];

/** docker's default /dev/shm: 64 MiB. */
export const DEFAULT_SHM_BYTES = 64 * 1024 * 1024;

/** sysfs is read-only unless the container is privileged. */
function systemMounts(shmBytes: number, privileged: boolean): MountOp[] {
  const m = (target: string, fstype: string, flags: string[], data = ''): MountOp =>
    ({ source: fstype, target, fstype, flags, data, kind: 'dir' });
  return [
    m('/proc', 'proc', ['nosuid', 'noexec', 'nodev']),
    // Mounted before /dev's children: the tmpfs would hide anything under it.
    m('/dev', 'tmpfs', ['nosuid'], 'mode=755,size=65536k'),
    m('/dev/pts', 'devpts', ['nosuid', 'noexec'], 'newinstance,ptmxmode=0666,mode=0620,gid=5'),
    m('/dev/shm', 'tmpfs', ['nosuid', 'noexec', 'nodev'], `mode=1777,size=${shmBytes}`),
    m('/dev/mqueue', 'mqueue', ['nosuid', 'noexec', 'nodev']),
    m('/sys', 'sysfs', ['nosuid', 'noexec', 'nodev', ...(privileged ? [] : ['ro'])]),
  ];
}

function etcBind(source: string, target: string): MountOp {
  return { source, target, fstype: '', flags: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'], data: '', kind: 'file' };
}

/** Docker's environment: PATH when the image sets none, HOSTNAME, HOME from the user, then the config's own. */
export function buildEnv(configEnv: string[], hostname: string, home: string): string[] {
  const keys = new Set(configEnv.map((e) => e.slice(0, e.indexOf('='))));
  const defaults = [
    ...(keys.has('PATH') ? [] : [`PATH=${DEFAULT_PATH}`]),
    `HOSTNAME=${hostname}`,
    ...(keys.has('HOME') ? [] : [`HOME=${home}`]),
  ].filter((e) => !keys.has(e.slice(0, e.indexOf('='))));
  return [...defaults, ...configEnv];
}

export function buildSpec(c: ContainerRecord, inputs: PlanInputs): RuntimeSpec {
  const hostname = c.config.hostname || c.id.slice(0, 12);
  const user = userMountOps(inputs.mounts ?? []);
  return {
    id: c.id,
    rootfs: inputs.rootfs,
    args: [c.path, ...c.args],
    env: [...buildEnv([...(inputs.linkEnv ?? []), ...c.config.env], hostname, inputs.user.home), ...(c.config.tty && !c.config.env.some((v) => v.startsWith('TERM=')) ? ['TERM=xterm'] : [])],
    cwd: c.config.workingDir || '/',
    user: { uid: inputs.user.uid, gid: inputs.user.gid, additionalGids: inputs.user.additionalGids },
    hostname,
    domainname: c.config.domainname,
    mounts: [
      ...systemMounts(c.hostConfig.shmSizeBytes ?? DEFAULT_SHM_BYTES, Boolean(c.hostConfig.privileged)),
      ...withoutReplaced([
        etcBind(inputs.hostnamePath, '/etc/hostname'),
        etcBind(inputs.hostsPath, '/etc/hosts'),
        etcBind(inputs.resolvConfPath, '/etc/resolv.conf'),
      ], user),
      // After ours: a volume under /dev lands on the /dev tmpfs, not under it.
      ...user,
    ],
    devices: [...DEFAULT_DEVICES, ...(inputs.extraDevices ?? [])],
    symlinks: DEFAULT_SYMLINKS,
    logPath: inputs.logPath,
    // An auto-remove container's exit file stays in the runtime directory (a tmpfs): it goes with the
    // container, and the container with berthd's next start if berthd is away when it exits
    // (recovery.ts), so the disk need not hold it, and each file made on this ext4 slows every later one
    // (bench/README.md).
    ...(inputs.dir && !c.hostConfig.autoRemove && { exitDir: inputs.dir }),
    tty: c.config.tty,
    openStdin: c.config.openStdin,
    stdinOnce: c.config.stdinOnce,
    consoleSize: inputs.consoleSize ?? DEFAULT_CONSOLE,
    log: { maxSizeBytes: c.hostConfig.log?.maxSizeBytes ?? 0, maxFiles: c.hostConfig.log?.maxFiles ?? 1, firstSeq: inputs.lastSeq + 1 },
    // An auto-remove container's log and exit file are deleted right after its exit (a crash before
    // that ends in the same removal at the next daemon start): fsyncing them would buy nothing.
    ...(c.hostConfig.autoRemove && { durableExit: false }),
    ...(inputs.netns && { netns: inputs.netns }),
    ...(inputs.netInterface && { interface: inputs.netInterface }),
    ...(inputs.security && { security: inputs.security }),
    ...(inputs.cgroupProcs?.length && { cgroupProcs: inputs.cgroupProcs }),
  };
}

export interface ExecInputs {
  cmd: string[];
  env: string[];
  workingDir: string;
  tty: boolean;
  stdin: boolean;
  consoleSize?: { rows: number; cols: number };
  user: ResolvedUser;
  /** The container's cgroup.procs files ([] to stay outside, as in tests of the plan alone). */
  cgroupProcs: string[];
  /** docker exec --privileged: every capability; false when absent. */
  privileged?: boolean;
}

/** An exec runs with the container's environment plus its own, as the container's user unless it names one. */
export function buildExecSpec(c: ContainerRecord, e: ExecInputs): ExecSpec {
  const hostname = c.config.hostname || c.id.slice(0, 12);
  const base = buildEnv(c.config.env, hostname, e.user.home);
  const keys = new Set(e.env.map((v) => v.slice(0, v.indexOf('='))));
  return {
    args: e.cmd,
    env: [...base.filter((v) => !keys.has(v.slice(0, v.indexOf('=')))), ...e.env, ...(e.tty && !keys.has('TERM') ? ['TERM=xterm'] : [])],
    cwd: e.workingDir || c.config.workingDir || '/',
    user: { uid: e.user.uid, gid: e.user.gid, additionalGids: e.user.additionalGids },
    tty: e.tty,
    consoleSize: e.consoleSize ?? DEFAULT_CONSOLE,
    stdin: e.stdin,
    cgroupProcs: e.cgroupProcs,
    privileged: Boolean(e.privileged),
  };
}
