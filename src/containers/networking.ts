// A container's network at start, by mode: its /etc/hosts and resolv.conf contents, the net namespace
// the monitor clones init into, the link env, and (bridge) the veth wiring that runs while init waits.
import fs from 'node:fs';
import { EngineError } from '../errors';
import { linkEnv, parseExtraHost, parseLink } from '../network/links';
import type { NetworkManager } from '../network/manager';
import { parseNetworkMode } from '../network/mode';
import { hostsFile, resolvConfFile } from '../runtime/etc-files';
import type { InterfaceSpec } from '../runtime/spec';
import { isActive, type ContainerRecord } from './model';

export interface PreparedNetwork {
  /** The spec's netns: "" new, "host", or /proc/<pid>/ns/net of another container. */
  netns: string;
  hosts: string;
  resolvConf: string;
  env: string[];
  /** The bridge's veth, which the monitor makes (spec.json "interface"). */
  netInterface?: InterfaceSpec;
  /** Runs with init's pid before go. */
  attach: (pid: number) => Promise<void>;
  /** Gives back what prepare took (idempotent). */
  release: () => Promise<void>;
}

export interface NetworkingDeps {
  network?: NetworkManager;
  find: (ref: string, field: string) => ContainerRecord;
  hostsPathOf: (id: string) => string;
  resolvConfPathOf: (id: string) => string;
}

/** A small file of the host's or of another container's, on the event loop (STYLE.md §6: a quick syscall). */
function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export async function prepareNetwork(deps: NetworkingDeps, c: ContainerRecord): Promise<PreparedNetwork> {
  const mode = parseNetworkMode(c.hostConfig.networkMode, c.config.networkDisabled);
  const hostname = c.config.hostname || c.id.slice(0, 12);
  const nothing = async () => undefined;
  const extra = (c.hostConfig.extraHosts ?? []).map((e) => parseExtraHost(e));
  if (mode.kind === 'host') {
    return { netns: 'host', hosts: read('/etc/hosts'), resolvConf: read('/etc/resolv.conf') || resolvConfFile(''), env: [], attach: nothing, release: nothing };
  }
  if (mode.kind === 'container') {
    const other = deps.find(mode.ref, 'host_config.network_mode');
    if (other.id === c.id) throw new EngineError('InvalidArgument', `host_config.network_mode ${JSON.stringify(c.hostConfig.networkMode)}: a container cannot join its own network`);
    if (!isActive(other.state.status) || !other.state.pid) {
      throw new EngineError('FailedPrecondition', `join the network of container ${other.id}: status is ${other.state.status}`);
    }
    return {
      netns: `/proc/${other.state.pid}/ns/net`, hosts: read(deps.hostsPathOf(other.id)), resolvConf: read(deps.resolvConfPathOf(other.id)),
      env: [], attach: nothing, release: nothing,
    };
  }
  const resolvConf = resolvConfFile(read('/etc/resolv.conf'), c.config.dns ?? []);
  if (mode.kind === 'none' || !deps.network) {
    return { netns: '', hosts: hostsFile(hostname, c.config.domainname, { entries: extra }), resolvConf, env: [], attach: nothing, release: nothing };
  }
  const network = deps.network;
  // Links first: a link to a container that is not running fails the start before anything is taken.
  const links = (c.hostConfig.links ?? []).map((l) => {
    const spec = parseLink(l);
    const target = deps.find(spec.target, 'host_config.links');
    const ip = network.allocation(target.id)?.ip;
    if (!isActive(target.state.status) || !ip) {
      throw new EngineError('FailedPrecondition', `link to container ${spec.target}: it is not running on the bridge network`);
    }
    return { spec, target, ip };
  });
  const alloc = await network.allocate(c.id, {
    exposed: c.config.exposedPorts ?? [], bindings: c.hostConfig.portBindings ?? {}, publishAll: Boolean(c.hostConfig.publishAllPorts),
  });
  const published = network.publish(c.id);
  published.catch(() => undefined); // awaited by attach, or released with the allocation
  const env = links.flatMap(({ spec, target, ip }) =>
    linkEnv(c.name, spec.alias, { name: target.name, ip, exposed: target.config.exposedPorts ?? [], env: target.config.env }));
  const linkHosts: [string, string][] = links.map(({ spec, target, ip }) => {
    const names = [...new Set([spec.alias, target.config.hostname || target.id.slice(0, 12), target.name])];
    return [ip, names.join(' ')];
  });
  return {
    netns: '',
    hosts: hostsFile(hostname, c.config.domainname, { ip: alloc.ip, entries: [...linkHosts, ...extra] }),
    resolvConf, env,
    netInterface: network.interfaceOf(c.id, alloc),
    // The rules name only the address: they go in now, while the monitor starts, and are awaited
    // before go. A start that fails after this releases them with the rest.
    attach: () => published,
    release: () => network.release(c.id),
  };
}
