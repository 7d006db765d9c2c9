// A container's security settings, from the request to what its monitor applies: security options
// (seccomp, no-new-privileges), sysctls, and the masked and read-only paths of an unprivileged container.
import { invalidArgument } from '../errors';
import { capabilityNumber, effectiveCapabilities } from './capabilities';
import { compileProfile, defaultProgram, parseProfile } from './seccomp';

export type SeccompChoice = { kind: 'default' } | { kind: 'unconfined' } | { kind: 'custom'; profile: string };

export interface SecurityOptions {
  seccomp: SeccompChoice;
  noNewPrivileges: boolean;
}

/** What the monitor applies (native/README.md, "Security"). */
export interface SecuritySpec {
  capabilities: number[];
  noNewPrivileges: boolean;
  /** base64 of the BPF program; "" for none. */
  seccomp: string;
  maskedPaths: string[];
  readonlyPaths: string[];
  readonlyRootfs: boolean;
  sysctls: { key: string; value: string }[];
}

/** Hidden from an unprivileged container: a 1:3 char device over a file, an empty read-only tmpfs over a directory. */
export const MASKED_PATHS: readonly string[] = [
  '/proc/acpi', '/proc/asound', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/sched_debug', '/proc/scsi', '/proc/timer_list', '/proc/timer_stats', '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Visible but not writable: kernel state a container must not change. */
export const READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const FIELD = 'host_config.security_opt';

/**
 * docker's --security-opt words: seccomp=unconfined | seccomp=<profile JSON>, no-new-privileges[=|:true|false].
 * apparmor and label need an LSM Berth does not drive: refused rather than silently ignored.
 */
export function parseSecurityOptions(opts: string[]): SecurityOptions {
  const out: SecurityOptions = { seccomp: { kind: 'default' }, noNewPrivileges: false };
  for (const opt of opts) {
    const sep = opt.search(/[=:]/);
    const key = sep < 0 ? opt : opt.slice(0, sep);
    const value = sep < 0 ? undefined : opt.slice(sep + 1);
    if (key === 'no-new-privileges') {
      if (value === undefined || value === 'true') out.noNewPrivileges = true;
      else if (value === 'false') out.noNewPrivileges = false;
      else throw invalidArgument(FIELD, opt, 'no-new-privileges takes true or false');
    } else if (key === 'seccomp' && value !== undefined) {
      out.seccomp = seccompChoice(opt, value);
    } else if (key === 'apparmor' || key === 'label' || key === 'systempaths') {
      throw invalidArgument(FIELD, opt, `${key} is not supported by Berth`);
    } else {
      throw invalidArgument(FIELD, opt, 'expected seccomp=unconfined, seccomp=<profile JSON> or no-new-privileges[=true|false]');
    }
  }
  return out;
}

function seccompChoice(opt: string, value: string): SeccompChoice {
  if (value === 'unconfined') return { kind: 'unconfined' };
  if (!value.trimStart().startsWith('{')) {
    throw invalidArgument(FIELD, short(opt), 'seccomp takes "unconfined" or a profile\'s JSON text (the CLI reads a profile file for you)');
  }
  try {
    parseProfile(value);
  } catch (err) {
    throw invalidArgument(FIELD, short(opt), `bad seccomp profile: ${(err as Error).message}`);
  }
  return { kind: 'custom', profile: value };
}

function short(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Kernel parameters a container's own namespaces hold (docker's list): anything else is the host's. */
const NAMESPACED_KEYS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);
const SYSCTL_KEY = /^[a-z0-9_]+(\.[a-zA-Z0-9_-]+)+$/;

/**
 * Each key must be a namespaced parameter (net.* only with a network namespace of its own), and each value
 * one plain value: no NUL, newline or "=", so no value can carry a second parameter (CVE-2022-0811).
 */
export function validateSysctls(sysctls: Record<string, string>, networkMode: string | undefined): void {
  const field = 'host_config.sysctls';
  for (const [key, value] of Object.entries(sysctls)) {
    if (!SYSCTL_KEY.test(key)) throw invalidArgument(field, key, 'must be a dotted kernel parameter name such as net.ipv4.ip_forward');
    const namespaced = NAMESPACED_KEYS.has(key) || key.startsWith('fs.mqueue.') || key.startsWith('net.');
    if (!namespaced) throw invalidArgument(field, key, 'not a namespaced kernel parameter: it would change the host');
    if (key.startsWith('net.') && networkMode === 'host') throw invalidArgument(field, key, 'net.* cannot be set for a container on the host\'s network');
    if (value === '' || value.length > 4096 || /[\0\n=]/.test(value)) {
      throw invalidArgument(`${field}[${key}]`, value, 'must be one value of at most 4096 bytes, without NUL, newline or "="');
    }
  }
}

export interface SecurityInputs {
  privileged: boolean;
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  readonlyRootfs: boolean;
  sysctls: Record<string, string>;
}

/** The monitor's security section for a start (also run at create, so a bad setting fails there). */
export function securitySpec(s: SecurityInputs): SecuritySpec {
  const caps = effectiveCapabilities(s.capAdd, s.capDrop, s.privileged);
  const opts = parseSecurityOptions(s.securityOpt);
  let program: Buffer | undefined;
  // A privileged container runs without a filter unless one is named (docker does the same).
  if (opts.seccomp.kind === 'custom') program = compileProfile(parseProfile(opts.seccomp.profile), { capabilities: caps });
  else if (opts.seccomp.kind === 'default' && !s.privileged) program = defaultProgram(caps);
  return {
    capabilities: caps.map(capabilityNumber),
    noNewPrivileges: opts.noNewPrivileges,
    seccomp: program ? program.toString('base64') : '',
    maskedPaths: s.privileged ? [] : [...MASKED_PATHS],
    readonlyPaths: s.privileged ? [] : [...READONLY_PATHS],
    readonlyRootfs: s.readonlyRootfs,
    sysctls: Object.entries(s.sysctls).map(([key, value]) => ({ key, value })),
  };
}
