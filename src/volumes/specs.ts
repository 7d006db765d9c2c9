// The text forms of a container's mounts, checked before anything is made: binds `src:dst[:ro|rw]`,
// volumes-from `container[:ro|rw]`, and volume paths. Pure; every failure names the field and the value.
import path from 'node:path';
import { invalidArgument } from '../errors';
import { VOLUME_NAME } from './store';

export type MountMode = '' | 'ro' | 'rw';

export interface BindSpec {
  /** An absolute host path, or a volume name. */
  source: string;
  isVolume: boolean;
  destination: string;
  mode: MountMode;
}

export interface VolumesFromSpec {
  container: string;
  mode: MountMode;
}

/** Kernel filesystems the container gets from us: nothing may be mounted over or under them. */
const RESERVED = ['/proc', '/sys'];

function parseMode(mode: string, field: string, value: string): MountMode {
  if (mode === 'ro' || mode === 'rw') return mode;
  throw invalidArgument(field, value, `bad mode ${JSON.stringify(mode)}: expected ro or rw`);
}

/** A mount destination: absolute, cleaned, not "/" and not /proc or /sys or under them. */
export function cleanDestination(dest: string, field: string, value: string): string {
  if (!dest) throw invalidArgument(field, value, 'the destination (container path) is missing');
  if (dest.includes('\0')) throw invalidArgument(field, value, 'contains a NUL byte');
  if (!dest.startsWith('/')) throw invalidArgument(field, value, `the destination ${JSON.stringify(dest)} must be an absolute path`);
  const clean = path.posix.normalize(dest).replace(/(.)\/+$/, '$1');
  if (clean === '/') throw invalidArgument(field, value, 'the destination cannot be /');
  for (const r of RESERVED) {
    if (clean === r || clean.startsWith(`${r}/`)) throw invalidArgument(field, value, `the destination cannot be ${r} or under it`);
  }
  return clean;
}

/** `src:dst[:ro|rw]`, src an absolute host path or a volume name (docker run -v). */
export function parseBind(spec: string, field = 'host_config.binds'): BindSpec {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3) throw invalidArgument(field, spec, 'expected SOURCE:DESTINATION[:ro|rw]');
  const [source, dest, mode] = parts;
  if (!source) throw invalidArgument(field, spec, 'the source (host path or volume name) is missing');
  if (source.includes('\0')) throw invalidArgument(field, spec, 'contains a NUL byte');
  const isVolume = !source.startsWith('/');
  if (isVolume && (!VOLUME_NAME.test(source) || source.length > 255)) {
    throw invalidArgument(field, spec, `the source ${JSON.stringify(source)} is neither an absolute path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)`);
  }
  return {
    source: isVolume ? source : path.posix.normalize(source),
    isVolume,
    destination: cleanDestination(dest, field, spec),
    mode: mode === undefined ? '' : parseMode(mode, field, spec),
  };
}

/** `a[:ro|rw],b[:ro|rw]`: the containers whose mounts a new container takes, in order. */
export function parseVolumesFrom(text: string, field = 'config.volumes_from'): VolumesFromSpec[] {
  if (!text.trim()) return [];
  return text.split(',').map((item) => {
    const parts = item.trim().split(':');
    if (!parts[0] || parts.length > 2) throw invalidArgument(field, item, 'expected CONTAINER[:ro|rw]');
    return { container: parts[0], mode: parts.length === 2 ? parseMode(parts[1], field, item) : '' };
  });
}

/** Config.volumes: container paths that each get an anonymous volume. */
export function cleanVolumePaths(paths: string[], field = 'config.volumes'): string[] {
  return [...new Set(paths.map((p) => cleanDestination(p, field, p)))];
}
