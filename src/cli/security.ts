// Security flags of `berth run`/`create`: --privileged, --cap-add, --cap-drop, --security-opt, --read-only,
// --sysctl, --shm-size. A seccomp profile is a file here and JSON text on the wire (the daemon may be remote).
import * as fs from 'node:fs';
import { UsageError, type FlagSpec } from './args';
import { parseBytes } from './resources';
import type { HostConfig } from '../gen/berth/v1/containers';

export const SECURITY_FLAGS: Record<string, FlagSpec> = {
  privileged: { kind: 'bool' },
  'cap-add': { kind: 'list' },
  'cap-drop': { kind: 'list' },
  'security-opt': { kind: 'list' },
  'read-only': { kind: 'bool' },
  sysctl: { kind: 'list' },
  'shm-size': { kind: 'string' },
};

type SecurityFields = Pick<HostConfig, 'privileged' | 'capAdd' | 'capDrop' | 'securityOpt' | 'readOnlyRootfs' | 'sysctls' | 'shmSize'>;

export function securityHostConfig(flags: Record<string, unknown>, readFile = (p: string) => fs.readFileSync(p, 'utf8')): SecurityFields {
  const list = (name: string) => (flags[name] as string[] | undefined) ?? [];
  return {
    privileged: Boolean(flags.privileged),
    capAdd: list('cap-add'),
    capDrop: list('cap-drop'),
    securityOpt: list('security-opt').map((o) => securityOpt(o, readFile)),
    readOnlyRootfs: Boolean(flags['read-only']),
    sysctls: Object.fromEntries(list('sysctl').map((s) => {
      const eq = s.indexOf('=');
      if (eq <= 0) throw new UsageError(`--sysctl ${JSON.stringify(s)}: expected KEY=VALUE`);
      return [s.slice(0, eq), s.slice(eq + 1)];
    })),
    shmSize: flags['shm-size'] === undefined ? 0 : parseBytes(flags['shm-size'] as string, 'shm-size'),
  };
}

/** seccomp=PATH becomes seccomp=<the file's JSON>; every other word goes as given. */
function securityOpt(opt: string, readFile: (p: string) => string): string {
  const m = /^seccomp[=:](.*)$/s.exec(opt);
  if (!m || m[1] === 'unconfined' || m[1].trimStart().startsWith('{')) return opt;
  try {
    return `seccomp=${readFile(m[1])}`;
  } catch (err) {
    throw new UsageError(`--security-opt ${opt}: cannot read the seccomp profile: ${(err as Error).message}`);
  }
}
