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
/** The largest uid or gid: (uid_t)-1 means "no change" to setuid(2). */
const MAX_ID = 2 ** 32 - 2;
/** sethostname(2) and setdomainname(2) take at most HOST_NAME_MAX (64) bytes. */
const HOST_NAME_MAX = 64;

export function validateName(name: string, field = 'name'): void {
  if (!NAME.test(name)) {
    throw invalidArgument(field, name, 'must be 2 to 128 characters of [a-zA-Z0-9_.-], starting with a letter or digit');
  }
}

/** A container reference: a name (with or without its "/") or an id or id prefix; "../x" or 1000 bytes is neither. */
const CONTAINER_REF = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** Checks the shape of a container reference before any lookup, so a malformed one is not reported as missing. */
export function checkContainerRef(ref: string, field: string): void {
  if (!ref || ref.includes('\0')) throw invalidArgument(field, ref, 'a container id or name is required');
  if (!CONTAINER_REF.test(ref)) {
    throw invalidArgument(field, ref, 'not a container id or name (at most 128 of [a-zA-Z0-9_.-])');
  }
}

/**
 * Seconds a stop waits before KILL: -1 (for ever) or 0 up to what a timer holds (2^31-1 ms, about 24 days);
 * a longer wait would fire at once (Node clamps an overflowing timer to 1 ms).
 */
export const MAX_STOP_TIMEOUT_SECONDS = Math.floor(0x7fffffff / 1000);

export function validateStopTimeout(seconds: number | undefined, field: string): number | undefined {
  if (seconds !== undefined && (!Number.isInteger(seconds) || seconds < -1 || seconds > MAX_STOP_TIMEOUT_SECONDS)) {
    throw invalidArgument(field, seconds, `must be -1 (wait for ever) or 0 to ${MAX_STOP_TIMEOUT_SECONDS} seconds`);
  }
  return seconds;
}

export function noNul(field: string, values: string[]): void {
  for (const v of values) if (v.includes('\0')) throw invalidArgument(field, v, 'contains a NUL byte');
}

/** Labels: a non-empty key, no NUL in key or value. */
export function validateLabels(labels: Record<string, string>, field: string): void {
  for (const [key, value] of Object.entries(labels)) {
    if (!key || key.includes('\0') || value.includes('\0')) throw invalidArgument(field, key, 'a label needs a key, and no NUL in key or value');
  }
}

/** "user", "uid", "user:group" or "uid:gid". */
export function validateUser(user: string, field: string): void {
  if (user && !USER.test(user)) throw invalidArgument(field, user, 'must be "user", "uid", "user:group" or "uid:gid"');
  // A number needs no /etc/passwd entry, so its range is known now rather than at each start.
  for (const part of user.split(':')) {
    if (/^[0-9]+$/.test(part) && Number(part) > MAX_ID) throw invalidArgument(field, user, `id ${part} is out of range (0 to ${MAX_ID})`);
  }
}

/** KEY=value entries: a non-empty key, no NUL. */
export function validateEnv(env: string[], field: string): void {
  for (const entry of env) {
    const eq = entry.indexOf('=');
    if (eq <= 0 || !ENV_KEY.test(entry.slice(0, eq)) || entry.includes('\0')) {
      throw invalidArgument(field, entry, 'must be KEY=value with a non-empty key and no NUL');
    }
  }
}

/** An absolute path without NUL, or "" (not given). */
export function validateWorkingDir(dir: string, field: string): void {
  if (dir && (!dir.startsWith('/') || dir.includes('\0'))) throw invalidArgument(field, dir, 'must be an absolute path');
}

/** prefix names the message the fields came in: "config" for a create, "options" for an exec. */
export function validateConfig(c: ContainerConfig, prefix = 'config'): void {
  validateLabels(c.labels ?? {}, `${prefix}.labels`);
  if (c.hostname && (c.hostname.length > HOST_NAME_MAX || !HOSTNAME.test(c.hostname))) {
    throw invalidArgument(`${prefix}.hostname`, c.hostname, 'must be an RFC 1123 host name of at most 64 characters');
  }
  if (c.domainname && (c.domainname.length > HOST_NAME_MAX || !HOSTNAME.test(c.domainname))) {
    throw invalidArgument(`${prefix}.domainname`, c.domainname, 'must be an RFC 1123 domain name of at most 64 characters');
  }
  validateUser(c.user, `${prefix}.user`);
  validateEnv(c.env, `${prefix}.env`);
  noNul(`${prefix}.cmd`, c.cmd);
  noNul(`${prefix}.entrypoint`, c.entrypoint);
  validateWorkingDir(c.workingDir, `${prefix}.working_dir`);
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
      if (!Number.isSafeInteger(maxSizeBytes)) throw invalidArgument('host_config.log_config.config["max-size"]', value, 'too large');
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
