// Checks a container's config before anything is written: each failure names the field and the value.
import { invalidArgument } from '../errors';
import type { ContainerConfig } from './model';

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
export function mergeImageDefaults(c: ContainerConfig, image: { env: string[]; cmd: string[]; entrypoint: string[]; workingDir: string; user: string }): ContainerConfig {
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
  };
}
