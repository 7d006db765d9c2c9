// The spec the monitor reads (native/README.md, "spec.json"): a plain description of the container's
// process and filesystem. Built here, performed in C++.
import type { SecuritySpec } from '../security/options';

export interface MountOp {
  source: string;
  /** A container path. */
  target: string;
  fstype: string;
  flags: string[];
  data: string;
  /** What to create at the target when it is missing. */
  kind: 'dir' | 'file';
}

export interface DeviceOp {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
}

export interface SymlinkOp {
  target: string;
  path: string;
}

/**
 * The container's veth (native/README.md, "The container's interface"): the monitor makes the pair,
 * the host end up on the bridge and eth0 in init's new net namespace; init gives eth0 its address
 * and the default route.
 */
export interface InterfaceSpec {
  hostName: string;
  bridge: string;
  mtu: number;
  mac: string;
  address: string;
  prefixLen: number;
  gateway: string;
}

export interface RuntimeSpec {
  id: string;
  rootfs: string;
  args: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  hostname: string;
  domainname: string;
  mounts: MountOp[];
  devices: DeviceOp[];
  symlinks: SymlinkOp[];
  logPath: string;
  tty: boolean;
  openStdin: boolean;
  stdinOnce: boolean;
  consoleSize: { rows: number; cols: number };
  log: { maxSizeBytes: number; maxFiles: number; firstSeq: number };
  /** Where the monitor writes `exit`; absent: its own directory, spec.json's (native/README.md). */
  exitDir?: string;
  /** false: the monitor does not fsync the log and the exit file at the exit (native/README.md). */
  durableExit?: boolean;
  /** "" or absent: a new net namespace; "host": the monitor's; a path: that namespace (native/README.md). */
  netns?: string;
  /** The container's cgroup.procs files: the monitor writes init's pid into each before go. Absent: none. */
  cgroupProcs?: string[];
  /** Only with a new net namespace; absent: it has lo alone. */
  interface?: InterfaceSpec;
  /** Absent: no restriction at all (native/README.md, "Security"). */
  security?: SecuritySpec;
}

/** What the monitor's `exec` command takes (native/README.md, "Control commands"). */
export interface ExecSpec {
  args: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  tty: boolean;
  consoleSize: { rows: number; cols: number };
  stdin: boolean;
  /** The container's cgroup.procs files: the process joins them before it enters the namespaces. */
  cgroupProcs: string[];
  /** Every capability in the bounding set instead of the container's (docker exec --privileged). */
  privileged: boolean;
}
