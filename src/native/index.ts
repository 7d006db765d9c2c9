// The Native interface: everything the domain asks of the C++ addon.
// Domain code takes a Native through its constructor; only addon.ts loads the binary.

export interface MountOptions {
  source: string;
  target: string;
  fstype: string;
  /** mount(8) words: ro, nosuid, nodev, noexec, bind, rec, private, rprivate, remount, ... */
  flags: string[];
  data: string;
}

export interface DeviceSpec {
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  mode: number;
}

export interface Native {
  mount(opts: MountOptions): void;
  unmount(target: string, opts?: { detach?: boolean }): void;
  mknod(path: string, spec: DeviceSpec): void;
  /** Opens path and takes an exclusive flock on it; throws EWOULDBLOCK when another process holds it. */
  lockFile(path: string): number;
  /**
   * What to execute to start a monitor: a sealed memfd copy of berth-monitor, as /proc/<pid>/fd/<fd>,
   * so that no process in a container can reach a writable host binary through /proc/<pid>/exe.
   */
  monitorExecutable(): string;
}
