// `berth inspect` output in the shape Docker users know (Id, State.ExitCode, Config.Env ...), every field present.
import type { Container, PortBindings } from '../gen/berth/v1/containers';
import type { Image } from '../gen/berth/v1/images';

const ZERO_TIME = '0001-01-01T00:00:00Z';

function time(d: Date | undefined): string {
  return d ? d.toISOString() : ZERO_TIME;
}

export function containerView(c: Container): Record<string, unknown> {
  const s = c.state!;
  const cfg = c.config!;
  const host = c.hostConfig;
  const net = c.networkSettings;
  return {
    Id: c.id,
    Created: time(c.created),
    Path: c.path,
    Args: c.args,
    State: {
      Status: s.status, Running: s.running, Paused: s.paused, Restarting: s.restarting, OOMKilled: s.oomKilled,
      Pid: s.pid, ExitCode: s.exitCode, Signal: s.signal, Error: s.error, StartedAt: time(s.startedAt), FinishedAt: time(s.finishedAt),
    },
    Image: c.image,
    ResolvConfPath: c.resolvConfPath,
    HostnamePath: c.hostnamePath,
    HostsPath: c.hostsPath,
    LogPath: c.logPath,
    Name: `/${c.name}`,
    Driver: c.driver,
    RestartCount: c.restartCount,
    // Docker shows the limits under HostConfig, Memory and CpuShares included, though Config carries those here.
    HostConfig: {
      Binds: host?.binds ?? [], VolumesFrom: cfg.volumesFrom ? cfg.volumesFrom.split(',') : [], Privileged: host?.privileged ?? false,
      RestartPolicy: { Name: host?.restartPolicy?.name || 'no', MaximumRetryCount: host?.restartPolicy?.maximumRetryCount ?? 0 },
      AutoRemove: host?.autoRemove ?? false,
      Memory: cfg.memory, MemorySwap: cfg.memorySwap, CpuShares: cfg.cpuShares, NanoCpus: host?.nanoCpus ?? 0,
      CpuQuota: host?.cpuQuota ?? 0, CpuPeriod: host?.cpuPeriod ?? 0, CpusetCpus: host?.cpusetCpus ?? '', CpusetMems: host?.cpusetMems ?? '',
      PidsLimit: host?.pidsLimit ?? 0,
      NetworkMode: host?.networkMode || 'bridge', PortBindings: portMap(host?.portBindings ?? {}), PublishAllPorts: host?.publishAllPorts ?? false,
      Links: host?.links ?? [], ExtraHosts: host?.extraHosts ?? [],
      CapAdd: host?.capAdd ?? [], CapDrop: host?.capDrop ?? [], ReadonlyRootfs: host?.readOnlyRootfs ?? false,
      // A custom seccomp profile is shown by its size, not its whole text.
      SecurityOpt: (host?.securityOpt ?? []).map((o) => (/^seccomp[=:]\s*\{/.test(o) ? `seccomp=<profile, ${o.length} bytes>` : o)),
      Sysctls: host?.sysctls ?? {}, ShmSize: host?.shmSize || 64 * 1024 * 1024,
    },
    Config: {
      Hostname: cfg.hostname, Domainname: cfg.domainname, User: cfg.user,
      AttachStdin: cfg.attachStdin, AttachStdout: cfg.attachStdout, AttachStderr: cfg.attachStderr,
      Tty: cfg.tty, OpenStdin: cfg.openStdin, StdinOnce: cfg.stdinOnce,
      Env: cfg.env, Cmd: cfg.cmd, Image: cfg.image, WorkingDir: cfg.workingDir, Entrypoint: cfg.entrypoint,
      NetworkDisabled: cfg.networkDisabled, StopSignal: cfg.stopSignal, StopTimeout: cfg.stopTimeout ?? null,
      Volumes: cfg.volumes.length ? Object.fromEntries(cfg.volumes.map((v) => [v, {}])) : null,
    },
    NetworkSettings: {
      IPAddress: net?.ipAddress ?? '', IPPrefixLen: net?.ipPrefixLen ?? 0, Gateway: net?.gateway ?? '', Bridge: net?.bridge ?? '',
      MacAddress: net?.macAddress ?? '', Ports: portMap(net?.ports ?? {}),
    },
    Mounts: c.mounts.map((m) => ({
      Type: m.type, ...(m.type === 'volume' && { Name: m.name, Driver: 'local' }), Source: m.source, Destination: m.destination,
      Mode: m.mode, RW: m.rw, Propagation: m.type === 'bind' ? 'rprivate' : '',
    })),
  };
}

/** "80/tcp" -> [{HostIp, HostPort}], or null for a port exposed but not published (as Docker shows it). */
function portMap(ports: Record<string, PortBindings>): Record<string, { HostIp: string; HostPort: string }[] | null> {
  return Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, v.bindings.length ? v.bindings.map((b) => ({ HostIp: b.hostIp, HostPort: b.hostPort })) : null]));
}

export function imageView(i: Image): Record<string, unknown> {
  const cfg = i.config!;
  return {
    Id: i.id,
    RepoTags: i.repoTags,
    Created: time(i.created),
    Comment: i.comment,
    Architecture: i.architecture,
    Os: i.os,
    Size: i.sizeBytes,
    Config: { Env: cfg.env, Cmd: cfg.cmd, Entrypoint: cfg.entrypoint, WorkingDir: cfg.workingDir, User: cfg.user },
    RootFS: { Type: 'layers', Layers: i.layers },
  };
}
