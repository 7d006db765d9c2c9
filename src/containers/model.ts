// Container records: the portable Config, the host-specific HostConfig, and the State.

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
}

export interface LogOptions {
  /** Rotate past this size; 0 means never. */
  maxSizeBytes: number;
  /** Files kept, the current one included. */
  maxFiles: number;
}

// Binds, links and ports come with their issues; the record keeps their place.
export interface HostConfig {
  log?: LogOptions;
}

export type ContainerStatus = 'created' | 'running' | 'exited';

export interface ContainerState {
  status: ContainerStatus;
  pid: number;
  monitorPid: number;
  exitCode: number;
  signal: number;
  error: string;
  startedAt: string;
  finishedAt: string;
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
  return { status: 'created', pid: 0, monitorPid: 0, exitCode: 0, signal: 0, error: '', startedAt: '', finishedAt: '' };
}
