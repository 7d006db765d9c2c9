// Network flags of `berth run`/`create` (-p, -P, --expose, --network, --link, --dns, --add-host)
// and `berth port`, read as docker reads them.
import { parseFlags, UsageError } from './args';
import { call } from './client';
import type { Command } from './main';
import type { Config, HostConfig, InspectContainerResponse, PortBindings } from '../gen/berth/v1/containers';
import { parsePublish, parsePortKey, comparePortKeys } from '../network/ports';
import type { FlagSpec } from './args';

export const NETWORK_FLAGS: Record<string, FlagSpec> = {
  publish: { short: 'p', kind: 'list' },
  'publish-all': { short: 'P', kind: 'bool' },
  expose: { kind: 'list' },
  network: { kind: 'string' },
  net: { kind: 'string' },
  link: { kind: 'list' },
  dns: { kind: 'list' },
  'add-host': { kind: 'list' },
};

function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const list = (flags: Record<string, unknown>, name: string) => (flags[name] as string[] | undefined) ?? [];

/** The Config part: ports the container exposes (-p and --expose) and its nameservers. */
export function networkConfig(flags: Record<string, unknown>): Pick<Config, 'exposedPorts' | 'dns'> {
  const exposed = new Set<string>();
  for (const p of list(flags, 'publish')) for (const k of usage(() => parsePublish(p, '-p')).exposed) exposed.add(k);
  for (const e of list(flags, 'expose')) usage(() => parsePortKey(e, '--expose')) && exposed.add(e.includes('/') ? e : `${e}/tcp`);
  return { exposedPorts: [...exposed].sort(comparePortKeys), dns: list(flags, 'dns') };
}

/** The HostConfig part: bindings, -P, the mode, links and extra hosts. */
export function networkHostConfig(flags: Record<string, unknown>): Pick<HostConfig, 'portBindings' | 'publishAllPorts' | 'networkMode' | 'links' | 'extraHosts'> {
  const portBindings: Record<string, PortBindings> = {};
  for (const p of list(flags, 'publish')) {
    for (const [key, bindings] of Object.entries(usage(() => parsePublish(p, '-p')).bindings)) {
      (portBindings[key] ??= { bindings: [] }).bindings.push(...bindings);
    }
  }
  return {
    portBindings, publishAllPorts: Boolean(flags['publish-all']),
    networkMode: (flags.network as string | undefined) ?? (flags.net as string | undefined) ?? '',
    links: list(flags, 'link'), extraHosts: list(flags, 'add-host'),
  };
}

/** docker port: "80/tcp -> 0.0.0.0:49153" lines, or the host addresses of one port. */
export function portLines(ports: Record<string, PortBindings>, which?: string): string[] {
  const key = which && !which.includes('/') ? `${which}/tcp` : which;
  const lines: string[] = [];
  for (const k of Object.keys(ports).sort(comparePortKeys)) {
    if (key && k !== key) continue;
    for (const b of ports[k].bindings) lines.push(key ? `${b.hostIp}:${b.hostPort}` : `${k} -> ${b.hostIp}:${b.hostPort}`);
  }
  return lines;
}

/** docker ps's PORTS: "0.0.0.0:8080->80/tcp, 53/udp" (an exposed port without a binding shows alone). */
export function portsText(ports: Record<string, PortBindings>): string {
  return Object.keys(ports).sort(comparePortKeys).flatMap((k) => {
    const bindings = ports[k].bindings;
    return bindings.length ? bindings.map((b) => `${b.hostIp || '0.0.0.0'}:${b.hostPort}->${k}`) : [k];
  }).join(', ');
}

const port: Command = async (argv, clients) => {
  const { positionals } = parseFlags(argv, {});
  if (positionals.length < 1 || positionals.length > 2) throw new UsageError('berth port CONTAINER [PRIVATE_PORT[/PROTO]]');
  const res = await call<typeof clients.containers, unknown, InspectContainerResponse>(clients.containers, 'inspect', { containerId: positionals[0] });
  const lines = portLines(res.container?.networkSettings?.ports ?? {}, positionals[1]);
  if (positionals[1] && lines.length === 0) {
    process.stderr.write(`berth: no public port '${positionals[1]}' published for ${positionals[0]}\n`);
    return 1;
  }
  process.stdout.write(lines.map((l) => `${l}\n`).join(''));
  return 0;
};

export const NETWORK_COMMANDS: Record<string, Command> = { port };
