// Legacy links (docker run --link name:alias): parsing, and the environment Docker gives the
// linking container (ALIAS_PORT, ALIAS_PORT_80_TCP*, ALIAS_NAME, ALIAS_ENV_*).
import { isIPv4 } from 'node:net';
import { invalidArgument } from '../errors';
import { comparePortKeys } from './ports';

export interface LinkSpec {
  /** The linked container, by name or id. */
  target: string;
  alias: string;
}

export function parseLink(text: string, field = 'host_config.links'): LinkSpec {
  const [rawTarget, rawAlias, extra] = text.split(':');
  const target = rawTarget.replace(/^\//, '');
  const alias = (rawAlias ?? target).replace(/^\//, '');
  if (extra !== undefined || !target || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(alias) || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(target)) {
    throw invalidArgument(field, text, 'expected NAME[:ALIAS]');
  }
  return { target, alias };
}

/** --add-host: "name:ip" -> [ip, name]. */
export function parseExtraHost(text: string, field = 'host_config.extra_hosts'): [string, string] {
  const colon = text.indexOf(':');
  const name = text.slice(0, colon);
  const addr = text.slice(colon + 1);
  if (colon <= 0 || !isIPv4(addr) || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw invalidArgument(field, text, 'expected HOST:IPv4');
  return [addr, name];
}

export interface LinkedContainer {
  /** Its name without the slash. */
  name: string;
  ip: string;
  /** "80/tcp" keys. */
  exposed: string[];
  /** Its Config.Env. */
  env: string[];
}

/** Docker's link env for `alias`, in Docker's order; parentName is the linking container's name. */
export function linkEnv(parentName: string, alias: string, child: LinkedContainer): string[] {
  const prefix = alias.toUpperCase().replace(/-/g, '_');
  const ports = [...child.exposed].sort(comparePortKeys);
  const env: string[] = [];
  if (ports.length) {
    const [port, proto] = ports[0].split('/');
    env.push(`${prefix}_PORT=${proto}://${child.ip}:${port}`);
  }
  for (const key of ports) {
    const [port, proto] = key.split('/');
    const p = `${prefix}_PORT_${port}_${proto.toUpperCase()}`;
    env.push(`${p}=${proto}://${child.ip}:${port}`, `${p}_ADDR=${child.ip}`, `${p}_PORT=${port}`, `${p}_PROTO=${proto}`);
  }
  env.push(`${prefix}_NAME=/${parentName}/${alias}`);
  for (const v of child.env) {
    const eq = v.indexOf('=');
    if (eq < 0) continue;
    const key = v.slice(0, eq);
    // As Docker: what a build sets for itself means nothing to the linking container.
    if (key === 'HOME' || key === 'PATH') continue;
    env.push(`${prefix}_ENV_${key}=${v.slice(eq + 1)}`);
  }
  return env;
}
