// `berth create` / `berth run` flags -> a Create request, as docker run reads them.
import path from 'node:path';
import { UsageError, type FlagSpec } from './args';
import { parseInteger, parseResources, parseRestartPolicy, RESOURCE_FLAGS } from './resources';
import { NETWORK_FLAGS, networkConfig, networkHostConfig } from './network';
import { SECURITY_FLAGS, securityHostConfig } from './security';
import type { Config, CreateContainerRequest, HostConfig } from '../gen/berth/v1/containers';

export const CREATE_FLAGS: Record<string, FlagSpec> = {
  name: { kind: 'string' },
  env: { short: 'e', kind: 'list' },
  workdir: { short: 'w', kind: 'string' },
  user: { short: 'u', kind: 'string' },
  hostname: { short: 'h', kind: 'string' },
  domainname: { kind: 'string' },
  entrypoint: { kind: 'string' },
  interactive: { short: 'i', kind: 'bool' },
  tty: { short: 't', kind: 'bool' },
  'log-driver': { kind: 'string' },
  'log-opt': { kind: 'list' },
  label: { short: 'l', kind: 'list' },
  rm: { kind: 'bool' },
  'stop-signal': { kind: 'string' },
  'stop-timeout': { kind: 'string' },
  volume: { short: 'v', kind: 'list' },
  'volumes-from': { kind: 'list' },
  ...RESOURCE_FLAGS,
  ...NETWORK_FLAGS,
  ...SECURITY_FLAGS,
};

export function emptyConfig(): Config {
  return {
    hostname: '', domainname: '', user: '', memory: 0, memorySwap: 0, cpuShares: 0, attachStdin: false, attachStdout: true,
    attachStderr: true, portSpecs: [], exposedPorts: [], tty: false, openStdin: false, stdinOnce: false, env: [], cmd: [], dns: [],
    image: '', volumes: [], volumesFrom: '', workingDir: '', entrypoint: [], networkDisabled: false, stopSignal: '', labels: {},
  };
}

/**
 * docker run -v: `/path` is an anonymous volume (Config.volumes); `SRC:DST[:ro|rw]` a bind or a named
 * volume (HostConfig.binds). A source starting with "." is a host path relative to here, as in Docker 23+.
 */
export function parseVolumeFlags(values: string[], cwd = process.cwd()): { volumes: string[]; binds: string[] } {
  const volumes: string[] = [];
  const binds: string[] = [];
  for (const v of values) {
    if (!v.includes(':')) {
      if (!v.startsWith('/')) throw new UsageError(`-v ${JSON.stringify(v)}: a volume path must be absolute (or SOURCE:DESTINATION[:ro|rw])`);
      volumes.push(v);
      continue;
    }
    const colon = v.indexOf(':');
    const source = v.slice(0, colon);
    binds.push(source.startsWith('.') ? `${path.resolve(cwd, source)}${v.slice(colon)}` : v);
  }
  return { volumes, binds };
}

/**
 * `[flags] IMAGE [CMD...]` -> a Create request. -i opens stdin once, as docker run does for an attached stdin.
 * --rm asks the daemon to remove the container when it exits (so it works with -d too).
 */
export function createRequest(flags: Record<string, unknown>, positionals: string[]): CreateContainerRequest {
  const [image, ...cmd] = positionals;
  if (!image) throw new UsageError('an image is required: berth create [OPTIONS] IMAGE [COMMAND] [ARG...]');
  const env = (flags.env as string[]).map((e) => (e.includes('=') ? e : `${e}=${process.env[e] ?? ''}`));
  const interactive = Boolean(flags.interactive);
  const resources = parseResources(flags);
  const restartPolicy = flags.restart === undefined ? undefined : parseRestartPolicy(flags.restart as string);
  const { volumes, binds } = parseVolumeFlags((flags.volume as string[] | undefined) ?? []);
  // As docker: a container that removes itself on exit cannot also be restarted on exit.
  if (flags.rm && restartPolicy && restartPolicy.name !== 'no') throw new UsageError('conflicting options: --restart and --rm');
  const config: Config = {
    ...emptyConfig(), image, cmd, env,
    workingDir: (flags.workdir as string) ?? '', user: (flags.user as string) ?? '',
    hostname: (flags.hostname as string) ?? '', domainname: (flags.domainname as string) ?? '',
    entrypoint: flags.entrypoint !== undefined ? [flags.entrypoint as string] : [],
    tty: Boolean(flags.tty), openStdin: interactive, stdinOnce: interactive, attachStdin: interactive,
    memory: resources.memory ?? 0, memorySwap: resources.memorySwap ?? 0, cpuShares: resources.cpuShares ?? 0,
    stopSignal: (flags['stop-signal'] as string) ?? '',
    // --label k=v, or --label k for an empty value, as docker run.
    labels: Object.fromEntries((flags.label as string[]).map((l) => (l.includes('=') ? [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] : [l, '']))),
    stopTimeout: flags['stop-timeout'] === undefined ? undefined : parseInteger(flags['stop-timeout'] as string, 'stop-timeout'),
    volumes, volumesFrom: ((flags['volumes-from'] as string[] | undefined) ?? []).join(','),
    ...networkConfig(flags),
  };
  const logOpts = Object.fromEntries((flags['log-opt'] as string[]).map((o) => {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new UsageError(`--log-opt ${JSON.stringify(o)}: expected KEY=VALUE`);
    return [o.slice(0, eq), o.slice(eq + 1)];
  }));
  const hostConfig: HostConfig = {
    binds, containerIdFile: '', lxcConf: [],
    logConfig: { type: (flags['log-driver'] as string) ?? '', config: logOpts },
    cpuQuota: resources.cpuQuota ?? 0, cpuPeriod: resources.cpuPeriod ?? 0, nanoCpus: resources.nanoCpus ?? 0,
    cpusetCpus: resources.cpusetCpus ?? '', cpusetMems: resources.cpusetMems ?? '', pidsLimit: resources.pidsLimit ?? 0,
    restartPolicy, autoRemove: Boolean(flags.rm),
    ...networkHostConfig(flags),
    ...securityHostConfig(flags),
  };
  return { config, name: (flags.name as string) ?? '', hostConfig };
}
