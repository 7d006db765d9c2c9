// Container records: the portable Config, the host-specific HostConfig, and the State.
import type { Resources } from '../cgroups/resources';

export interface ContainerConfig {
  hostname: string;
  domainname: string;
  user: string;
  env: string[];
  cmd: string[];
  entrypoint: string[];
  image: string;
  workingDir: string;
  networkDisabled: boolean;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  tty: boolean;
  openStdin: boolean;
  stdinOnce: boolean;
  /** What Stop sends first; "" means SIGTERM. */
  stopSignal: string;
  /** Seconds Stop waits before SIGKILL; undefined means 10. */
  stopTimeout?: number;
  /** Container paths that get an anonymous volume: the request's and the image's. */
  volumes?: string[];
  /** `container[:ro|rw]`, comma-separated: whose mounts this container takes. */
  volumesFrom?: string;
  /** The image's labels, then the container's own. */
  labels?: Record<string, string>;
  /** The image's exposed ports ("80/tcp"), then the container's own. */
  exposedPorts?: string[];
  /** Nameservers that replace the host's in /etc/resolv.conf (docker run --dns). */
  dns?: string[];
}

/** One volume or bind of a container, resolved at create (src/volumes/mounts.ts). */
export interface MountRecord {
  type: 'volume' | 'bind';
  /** The volume's name; "" for a bind. */
  name: string;
  /** Where it is on the host: the bind's source, or the volume's data directory. */
  source: string;
  /** Where it is in the container: absolute and clean. */
  destination: string;
  /** "ro", "rw" or "" as given. */
  mode: string;
  rw: boolean;
}

export interface LogOptions {
  /** Rotate past this size; 0 means never. */
  maxSizeBytes: number;
  /** Files kept, the current one included. */
  maxFiles: number;
}

export type RestartPolicyName = 'no' | 'on-failure' | 'always' | 'unless-stopped';

export interface RestartPolicy {
  name: RestartPolicyName;
  /** on-failure only: at most this many restarts in a row; 0 means no limit. */
  maxRetries: number;
}

// Binds, links and ports come with their issues; the record keeps their place.
export interface HostConfig {
  log?: LogOptions;
  resources?: Resources;
  restartPolicy?: RestartPolicy;
  autoRemove?: boolean;
  /** `src:dst[:ro|rw]` as given. */
  binds?: string[];
  /** Volumes and binds, volumes-from included, in the order they are mounted. */
  mounts?: MountRecord[];
  /** "bridge" when unset, "none", "host" or "container:<ref>". */
  networkMode?: string;
  /** "80/tcp" -> host bindings (a host port "" is picked by Berth). */
  portBindings?: Record<string, { hostIp: string; hostPort: string }[]>;
  publishAllPorts?: boolean;
  /** "name:alias" as given. */
  links?: string[];
  /** "host:ip" as given. */
  extraHosts?: string[];
  /** Every capability and device, no seccomp filter, no masked or read-only paths. */
  privileged?: boolean;
  /** Capability names as given (validated at create). */
  capAdd?: string[];
  capDrop?: string[];
  /** docker's --security-opt words; a custom seccomp profile is kept as its JSON text. */
  securityOpt?: string[];
  readonlyRootfs?: boolean;
  /** Namespaced kernel parameters, set in the container at each start. */
  sysctls?: Record<string, string>;
  /** /dev/shm's size; 64 MiB when unset. */
  shmSizeBytes?: number;
}

/** restarting: exited, and waiting for its restart policy's next start. */
export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'exited';

/** A monitor (and so a process tree) exists for these. */
export function isActive(status: ContainerStatus): boolean {
  return status === 'running' || status === 'paused';
}

export interface ContainerState {
  status: ContainerStatus;
  pid: number;
  monitorPid: number;
  exitCode: number;
  signal: number;
  error: string;
  startedAt: string;
  finishedAt: string;
  /** The OOM killer ended a process during the last run. */
  oomKilled: boolean;
  /** Starts by the restart policy since the last start by a client. */
  restartCount: number;
  /** Stopped by a client: unless-stopped does not restart it. */
  manuallyStopped: boolean;
  /** The start time of init (clock ticks after boot, /proc/<pid>/stat field 22): its pid is trusted only while they agree. */
  pidStartTime: number;
}

export interface ContainerRecord {
  id: string;
  name: string;
  created: string;
  /** Entrypoint and cmd merged: what runs. */
  path: string;
  args: string[];
  config: ContainerConfig;
  hostConfig: HostConfig;
  /** The image id ("sha256:..."). */
  image: string;
  state: ContainerState;
}

export function initialState(): ContainerState {
  return {
    status: 'created', pid: 0, monitorPid: 0, exitCode: 0, signal: 0, error: '', startedAt: '', finishedAt: '',
    oomKilled: false, restartCount: 0, manuallyStopped: false, pidStartTime: 0,
  };
}
