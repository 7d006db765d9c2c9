// Checks a container's config before anything is written: each failure names the field and the value.
import { invalidArgument } from '../errors';
import { parseSignal } from './signals';
import type { ContainerConfig, LogOptions } from './model';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,127}$/;
const LABEL = '[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?';
const HOSTNAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const USER_PART = '[a-zA-Z0-9_.][a-zA-Z0-9_.-]{0,31}';
const USER = new RegExp(`^${USER_PART}(?::${USER_PART})?$`);
const ENV_KEY = /^[^=\0]+$/;
/** sethostname(2) and setdomainname(2) take at most HOST_NAME_MAX (64) bytes. */
const HOST_NAME_MAX = 64;

export function validateName(name: string): void {
  if (!NAME.test(name)) {
    throw invalidArgument('name', name, 'must be 2 to 128 characters of [a-zA-Z0-9_.-], starting with a letter or digit');
  }
}

function noNul(field: string, values: string[]): void {
  for (const v of values) if (v.includes('\0')) throw invalidArgument(field, v, 'contains a NUL byte');
}

export function validateConfig(c: ContainerConfig): void {
  for (const [key, value] of Object.entries(c.labels ?? {})) {
    if (!key || key.includes('\0') || value.includes('\0')) throw invalidArgument('config.labels', key, 'a label needs a key, and no NUL in key or value');
  }
  if (c.hostname && (c.hostname.length > HOST_NAME_MAX || !HOSTNAME.test(c.hostname))) {
    throw invalidArgument('config.hostname', c.hostname, 'must be an RFC 1123 host name of at most 64 characters');
  }
  if (c.domainname && (c.domainname.length > HOST_NAME_MAX || !HOSTNAME.test(c.domainname))) {
    throw invalidArgument('config.domainname', c.domainname, 'must be an RFC 1123 domain name of at most 64 characters');
  }
  if (c.user && !USER.test(c.user)) {
    throw invalidArgument('config.user', c.user, 'must be "user", "uid", "user:group" or "uid:gid"');
  }
  for (const entry of c.env) {
    const eq = entry.indexOf('=');
    if (eq <= 0 || !ENV_KEY.test(entry.slice(0, eq)) || entry.includes('\0')) {
      throw invalidArgument('config.env', entry, 'must be KEY=value with a non-empty key and no NUL');
    }
  }
  noNul('config.cmd', c.cmd);
  noNul('config.entrypoint', c.entrypoint);
  if (c.workingDir && (!c.workingDir.startsWith('/') || c.workingDir.includes('\0'))) {
    throw invalidArgument('config.working_dir', c.workingDir, 'must be an absolute path');
  }
}

/** Image defaults under the container's own settings, as Docker merges them. */
export function mergeImageDefaults(c: ContainerConfig, image: {
  env: string[]; cmd: string[]; entrypoint: string[]; workingDir: string; user: string; stopSignal?: string;
  labels?: Record<string, string>; exposedPorts?: string[];
}): ContainerConfig {
  const keys = new Set(c.env.map((e) => e.slice(0, e.indexOf('='))));
  const env = [...image.env.filter((e) => !keys.has(e.slice(0, e.indexOf('=')))), ...c.env];
  // A container's own entrypoint discards the image's cmd (docker run --entrypoint).
  const entrypoint = c.entrypoint.length ? c.entrypoint : image.entrypoint;
  const cmd = c.cmd.length ? c.cmd : c.entrypoint.length ? [] : image.cmd;
  return {
    ...c,
    env,
    entrypoint,
    cmd,
    workingDir: c.workingDir || image.workingDir,
    user: c.user || image.user,
    // The image's STOPSIGNAL, unless the container names its own (docker run --stop-signal).
    stopSignal: c.stopSignal || imageStopSignal(image.stopSignal),
    ...(image.labels && Object.keys(image.labels).length || c.labels ? { labels: { ...image.labels, ...c.labels } } : {}),
    ...(image.exposedPorts?.length || c.exposedPorts?.length ? { exposedPorts: [...new Set([...image.exposedPorts ?? [], ...c.exposedPorts ?? []])] } : {}),
  };
}

/** An image is untrusted input: a STOPSIGNAL we cannot send is dropped (SIGTERM then) rather than failing every stop. */
function imageStopSignal(text: string | undefined): string {
  if (!text) return '';
  try {
    parseSignal(text, 'image stop signal');
    return text;
  } catch {
    return '';
  }
}

const SIZE = /^([0-9]+)([kmg]?)b?$/i;
const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** docker run --log-opt max-size=10m --log-opt max-file=3, for the json-file driver. */
export function parseLogConfig(type: string, config: Record<string, string>): LogOptions | undefined {
  if (type && type !== 'json-file') throw invalidArgument('host_config.log_config.type', type, 'only json-file is supported');
  let maxSizeBytes = 0;
  let maxFiles = 1;
  for (const [key, value] of Object.entries(config)) {
    if (key === 'max-size') {
      const m = SIZE.exec(value);
      if (!m || Number(m[1]) === 0) throw invalidArgument('host_config.log_config.config["max-size"]', value, 'must be a positive size like 512k, 10m or 1g');
      maxSizeBytes = Number(m[1]) * UNITS[m[2].toLowerCase()];
    } else if (key === 'max-file') {
      if (!/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > 100) {
        throw invalidArgument('host_config.log_config.config["max-file"]', value, 'must be a count from 1 to 100');
      }
      maxFiles = Number(value);
    } else {
      throw invalidArgument('host_config.log_config.config', key, 'unknown json-file option (max-size, max-file)');
    }
  }
  if (maxFiles > 1 && maxSizeBytes === 0) throw invalidArgument('host_config.log_config.config["max-file"]', String(maxFiles), 'needs max-size');
  return maxSizeBytes ? { maxSizeBytes, maxFiles } : undefined;
}

/** A terminal size from a client: 0x0 means "not given"; anything else must fit a winsize. */
export function validateSize(size: { rows: number; cols: number } | undefined, field: string): { rows: number; cols: number } | undefined {
  if (!size || (size.rows === 0 && size.cols === 0)) return undefined;
  for (const [name, v] of [['rows', size.rows], ['cols', size.cols]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 0xffff) throw invalidArgument(`${field}.${name}`, v, 'must be from 1 to 65535');
  }
  return { rows: size.rows, cols: size.cols };
}
