// Dockerfile instructions that change an image's config (docker import/commit --change): CMD, ENTRYPOINT,
// ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR. Used by `berth import` and by Commit.
import { invalidArgument } from '../errors';
import { parseSignal } from '../containers/signals';
import { validateUser, validateWorkingDir } from '../containers/validate';
import { normalizeExposed } from '../network/ports';

export interface ConfigChanges {
  cmd?: string[];
  entrypoint?: string[];
  /** KEY=value, in order; a later one replaces an earlier one of the same key. */
  env: string[];
  workingDir?: string;
  user?: string;
  stopSignal?: string;
  /** "80/tcp"... */
  exposedPorts: string[];
  volumes: string[];
  labels: Record<string, string>;
}

/** JSON array form as given; shell form runs under /bin/sh -c, as in a Dockerfile. */
function commandForm(text: string, field: string, change: string): string[] {
  if (!text.trimStart().startsWith('[')) return ['/bin/sh', '-c', text];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidArgument(field, change, 'not a JSON array of strings');
  }
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) throw invalidArgument(field, change, 'not a JSON array of strings');
  return parsed;
}

/** `KEY=value KEY2="two words"` pairs, or the old `KEY value` form (one pair). */
function pairs(text: string, field: string, change: string): [string, string][] {
  const trimmed = text.trim();
  if (!/^[^\s=]+=/.test(trimmed)) {
    const space = trimmed.search(/\s/);
    if (space < 0) throw invalidArgument(field, change, 'expected KEY=value or KEY value');
    return [[trimmed.slice(0, space), trimmed.slice(space + 1).trim()]];
  }
  const out: [string, string][] = [];
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g;
  for (let m = re.exec(trimmed); m; m = re.exec(trimmed)) {
    out.push([m[1], m[2].startsWith('"') ? (JSON.parse(m[2]) as string) : m[2]]);
  }
  return out;
}

export function parseChanges(changes: string[], field: string): ConfigChanges {
  const c: ConfigChanges = { env: [], exposedPorts: [], volumes: [], labels: {} };
  for (const change of changes) {
    // The values end up in an image config and, from there, in execve(2)'s NUL-terminated strings.
    if (change.includes('\0')) throw invalidArgument(field, change, 'contains a NUL byte');
    const m = /^\s*(\w+)\s+(.*)$/s.exec(change);
    if (!m) throw invalidArgument(field, change, 'expected INSTRUCTION ARGS');
    const [, instruction, rest] = m;
    // Each value is checked as a container's own setting would be, with the whole change named.
    const check = (fn: () => void) => {
      try {
        fn();
      } catch (err) {
        throw invalidArgument(field, change, err instanceof Error ? err.message : String(err));
      }
    };
    switch (instruction.toUpperCase()) {
      case 'CMD': c.cmd = commandForm(rest, field, change); break;
      case 'ENTRYPOINT': c.entrypoint = commandForm(rest, field, change); break;
      case 'WORKDIR': c.workingDir = rest.trim(); check(() => validateWorkingDir(c.workingDir!, 'WORKDIR')); break;
      case 'USER': c.user = rest.trim(); check(() => validateUser(c.user!, 'USER')); break;
      case 'STOPSIGNAL': c.stopSignal = rest.trim(); check(() => parseSignal(c.stopSignal!, 'STOPSIGNAL')); break;
      case 'ENV': for (const [k, v] of pairs(rest, field, change)) c.env.push(`${k}=${v}`); break;
      case 'LABEL': for (const [k, v] of pairs(rest, field, change)) c.labels[k] = v; break;
      case 'EXPOSE':
        for (const port of rest.trim().split(/\s+/)) {
          // 1-65535, tcp or udp, as a container's own exposed ports; a range stands for each port in it.
          if (!/^[\d-]+(\/\w+)?$/.test(port)) throw invalidArgument(field, change, `${port}: not a port such as 80 or 53/udp`);
          check(() => c.exposedPorts.push(...normalizeExposed([port], 'EXPOSE')));
        }
        break;
      case 'VOLUME': {
        const paths = rest.trim().startsWith('[') ? commandForm(rest, field, change) : rest.trim().split(/\s+/);
        for (const p of paths) if (!p.startsWith('/')) throw invalidArgument(field, change, `${p}: a volume path must be absolute`);
        c.volumes.push(...paths);
        break;
      }
      default:
        throw invalidArgument(field, change, `${instruction} is not supported (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)`);
    }
  }
  return c;
}

/** An env list with later entries replacing earlier ones of the same key, in first-seen order. */
export function mergeEnv(base: string[], more: string[]): string[] {
  const out = new Map<string, string>();
  for (const e of [...base, ...more]) out.set(e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')), e);
  return [...out.values()];
}
