// Port specs as Docker reads them: "80/tcp" keys, `-p [ip:][hostPort:]containerPort[/proto]` with
// ranges, and the expansion of a container's bindings into one host port per container port.
import { isIPv4 } from 'node:net';
import { invalidArgument } from '../errors';

export type Proto = 'tcp' | 'udp';

export interface PortBinding {
  hostIp: string;
  /** "" or "0": Berth picks a free one. */
  hostPort: string;
}

/** One published port: a host address and port that lead to a container port. */
export interface PortMapping {
  proto: Proto;
  containerPort: number;
  /** "" means every address of the host (0.0.0.0). */
  hostIp: string;
  hostPort: number;
}

function parsePort(text: string, field: string, value: unknown): number {
  if (!/^\d{1,5}$/.test(text)) throw invalidArgument(field, value, `invalid port ${JSON.stringify(text)}`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw invalidArgument(field, value, `port ${n} is out of range 1-65535`);
  return n;
}

/** "8000" or "8000-8010" -> [start, end]. */
export function parseRange(text: string, field: string, value: unknown = text): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw invalidArgument(field, value, `invalid port or range ${JSON.stringify(text)}`);
  const start = parsePort(m[1], field, value);
  const end = m[2] === undefined ? start : parsePort(m[2], field, value);
  if (end < start) throw invalidArgument(field, value, `range ${text} ends before it starts`);
  return [start, end];
}

/** "80", "80/tcp", "53/udp", "8000-8010/tcp" -> the keys it stands for ("80/tcp"). */
export function parsePortKey(key: string, field: string): { proto: Proto; start: number; end: number } {
  const [ports, proto = 'tcp', extra] = key.split('/');
  if (extra !== undefined || (proto !== 'tcp' && proto !== 'udp')) throw invalidArgument(field, key, 'expected PORT[-PORT][/tcp|udp]');
  const [start, end] = parseRange(ports, field, key);
  return { proto, start, end };
}

export function portKey(port: number, proto: Proto): string {
  return `${port}/${proto}`;
}

/** Normalizes exposed ports ("80", "53/udp", ranges) into sorted unique keys. */
export function normalizeExposed(specs: string[], field: string): string[] {
  const keys = new Set<string>();
  for (const s of specs) {
    const { proto, start, end } = parsePortKey(s, field);
    for (let p = start; p <= end; p++) keys.add(portKey(p, proto));
  }
  return [...keys].sort(comparePortKeys);
}

export function comparePortKeys(a: string, b: string): number {
  const [pa, ta] = a.split('/');
  const [pb, tb] = b.split('/');
  return Number(pa) - Number(pb) || ta.localeCompare(tb);
}

/**
 * docker run -p: `[ip:][hostPort:]containerPort[/proto]`, each port a single one or a range; a host
 * range must be as long as the container range (or a single container port with a host range: any one).
 * Returns the exposed keys and their bindings.
 */
export function parsePublish(spec: string, field = 'publish'): { exposed: string[]; bindings: Record<string, PortBinding[]> } {
  const [addrPorts, proto = 'tcp', extra] = spec.split('/');
  if (extra !== undefined || (proto !== 'tcp' && proto !== 'udp')) throw invalidArgument(field, spec, 'expected [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp]');
  const parts = addrPorts.split(':');
  if (parts.length > 3) throw invalidArgument(field, spec, 'expected [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp]');
  const containerText = parts[parts.length - 1];
  const hostText = parts.length >= 2 ? parts[parts.length - 2] : '';
  const hostIp = parts.length === 3 ? parts[0] : '';
  if (hostIp && !isIPv4(hostIp)) throw invalidArgument(field, spec, `invalid host IP ${JSON.stringify(hostIp)}`);
  const [cStart, cEnd] = parseRange(containerText, field, spec);
  const exposed: string[] = [];
  const bindings: Record<string, PortBinding[]> = {};
  if (!hostText) {
    for (let p = cStart; p <= cEnd; p++) {
      exposed.push(portKey(p, proto));
      bindings[portKey(p, proto)] = [{ hostIp, hostPort: '' }];
    }
    return { exposed, bindings };
  }
  const [hStart, hEnd] = parseRange(hostText, field, spec);
  const cLen = cEnd - cStart;
  const hLen = hEnd - hStart;
  if (cLen !== hLen && !(cLen === 0 && hLen > 0)) {
    throw invalidArgument(field, spec, 'the host and container port ranges must be the same length');
  }
  for (let p = cStart; p <= cEnd; p++) {
    exposed.push(portKey(p, proto));
    // A single container port with a host range: Berth picks a free one in it.
    const hostPort = cLen === 0 && hLen > 0 ? `${hStart}-${hEnd}` : String(hStart + (p - cStart));
    bindings[portKey(p, proto)] = [{ hostIp, hostPort }];
  }
  return { exposed, bindings };
}

/** Checks a request's PortBindings: keys are container ports, host ports a port, a range or empty. */
export function validateBindings(bindings: Record<string, PortBinding[]>, field: string): Record<string, PortBinding[]> {
  const out: Record<string, PortBinding[]> = {};
  for (const [key, list] of Object.entries(bindings)) {
    const { proto, start, end } = parsePortKey(key, `${field}[${key}]`);
    if (start !== end) throw invalidArgument(`${field}[${key}]`, key, 'a binding names one container port (expand ranges first)');
    for (const b of list) {
      if (b.hostIp && !isIPv4(b.hostIp)) throw invalidArgument(`${field}[${key}].host_ip`, b.hostIp, 'expected an IPv4 address');
      if (b.hostPort && b.hostPort !== '0') parseRange(b.hostPort, `${field}[${key}].host_port`);
    }
    out[portKey(start, proto)] = list.map((b) => ({ hostIp: b.hostIp === '0.0.0.0' ? '' : b.hostIp, hostPort: b.hostPort === '0' ? '' : b.hostPort }));
  }
  return out;
}
