// Network modes and the checks that tie a create's network fields together (as docker run's
// "conflicting options" errors).
import { isIP } from 'node:net';
import { invalidArgument } from '../errors';

export type NetworkMode = { kind: 'bridge' } | { kind: 'none' } | { kind: 'host' } | { kind: 'container'; ref: string };

export function parseNetworkMode(text: string | undefined, networkDisabled = false, field = 'host_config.network_mode'): NetworkMode {
  const mode = text ?? '';
  if (networkDisabled && mode && mode !== 'none') throw invalidArgument(field, mode, 'conflicts with config.network_disabled');
  if (networkDisabled || mode === 'none') return { kind: 'none' };
  if (mode === '' || mode === 'bridge' || mode === 'default') return { kind: 'bridge' };
  if (mode === 'host') return { kind: 'host' };
  if (mode.startsWith('container:') && mode.length > 'container:'.length) return { kind: 'container', ref: mode.slice('container:'.length) };
  throw invalidArgument(field, mode, 'expected bridge, none, host or container:<id or name>');
}

export interface NetworkFields {
  networkMode?: string;
  networkDisabled: boolean;
  portBindings?: Record<string, unknown>;
  publishAllPorts?: boolean;
  links?: string[];
  dns?: string[];
  extraHosts?: string[];
  hostname?: string;
}

/** Only a bridge container has ports and links; one sharing another's namespace has its names too. */
export function checkNetworkFields(f: NetworkFields): void {
  const mode = parseNetworkMode(f.networkMode, f.networkDisabled);
  for (const d of f.dns ?? []) if (!isIP(d)) throw invalidArgument('config.dns', d, 'expected an IP address');
  if (mode.kind === 'bridge') return;
  const what = f.networkDisabled ? 'config.network_disabled' : `network mode ${f.networkMode}`;
  if (Object.keys(f.portBindings ?? {}).length || f.publishAllPorts) {
    throw invalidArgument('host_config.port_bindings', f.portBindings ?? {}, `conflicts with ${what}: only a bridge container publishes ports`);
  }
  if (f.links?.length) throw invalidArgument('host_config.links', f.links, `conflicts with ${what}: links need the bridge network`);
  if (mode.kind === 'container') {
    if (f.dns?.length) throw invalidArgument('config.dns', f.dns, `conflicts with ${what}: it uses the other container's resolv.conf`);
    if (f.extraHosts?.length) throw invalidArgument('host_config.extra_hosts', f.extraHosts, `conflicts with ${what}: it uses the other container's hosts file`);
    if (f.hostname) throw invalidArgument('config.hostname', f.hostname, `conflicts with ${what}`);
  }
}
