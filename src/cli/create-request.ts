// `berth create` / `berth run` flags -> a Create request, as docker run reads them.
import { UsageError, type FlagSpec } from './args';
import type { Config, CreateContainerRequest } from '../gen/berth/v1/containers';

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
};

export function emptyConfig(): Config {
  return {
    hostname: '', domainname: '', user: '', memory: 0, memorySwap: 0, cpuShares: 0, attachStdin: false, attachStdout: true,
    attachStderr: true, portSpecs: [], exposedPorts: [], tty: false, openStdin: false, stdinOnce: false, env: [], cmd: [], dns: [],
    image: '', volumes: [], volumesFrom: '', workingDir: '', entrypoint: [], networkDisabled: false,
  };
}

/** `[flags] IMAGE [CMD...]` -> a Create request. -i opens stdin once, as docker run does for an attached stdin. */
export function createRequest(flags: Record<string, unknown>, positionals: string[]): CreateContainerRequest {
  const [image, ...cmd] = positionals;
  if (!image) throw new UsageError('an image is required: berth create [OPTIONS] IMAGE [COMMAND] [ARG...]');
  const env = (flags.env as string[]).map((e) => (e.includes('=') ? e : `${e}=${process.env[e] ?? ''}`));
  const interactive = Boolean(flags.interactive);
  const config: Config = {
    ...emptyConfig(), image, cmd, env,
    workingDir: (flags.workdir as string) ?? '', user: (flags.user as string) ?? '',
    hostname: (flags.hostname as string) ?? '', domainname: (flags.domainname as string) ?? '',
    entrypoint: flags.entrypoint !== undefined ? [flags.entrypoint as string] : [],
    tty: Boolean(flags.tty), openStdin: interactive, stdinOnce: interactive, attachStdin: interactive,
  };
  const logOpts = Object.fromEntries((flags['log-opt'] as string[]).map((o) => {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new UsageError(`--log-opt ${JSON.stringify(o)}: expected KEY=VALUE`);
    return [o.slice(0, eq), o.slice(eq + 1)];
  }));
  const hostConfig = {
    binds: [], containerIdFile: '', lxcConf: [], privileged: false, portBindings: {}, links: [], publishAllPorts: false,
    logConfig: { type: (flags['log-driver'] as string) ?? '', config: logOpts },
  };
  return { config, name: (flags.name as string) ?? '', hostConfig };
}
