// The Docker seccomp profile format: its types, and the checks parseProfile() and compileProfile() run on a
// profile before using it. Every error names the field path and the bad value (`syscalls[3].args[0].op: ...`).

import { EngineError } from '../errors';
import { JsonSyntaxError, parseJson } from './json-u64';
import { SYSCALLS_X86_64 } from './syscalls-x86_64';

export const SECCOMP_ACTIONS = [
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_LOG',
] as const;
export type SeccompAction = (typeof SECCOMP_ACTIONS)[number];

export const SECCOMP_OPS = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const;
export type SeccompOp = (typeof SECCOMP_OPS)[number];

/**
 * One comparison of a syscall argument, as u64. For SCMP_CMP_MASKED_EQ, `value` is the mask and `valueTwo` the
 * expected (arg & value) == valueTwo; other ops ignore valueTwo. parseProfile returns bigints; numbers are fine
 * when written in TS, and must then be safe integers.
 */
export interface SeccompArg {
  /** 0..5, the position in seccomp_data.args. */
  index: number;
  value: number | bigint;
  valueTwo?: number | bigint;
  op: SeccompOp;
}

/** Which containers a rule applies to (Docker: includes needs every cap, excludes drops on any cap). */
export interface SeccompFilter {
  caps?: string[];
  /** Docker's names: amd64, x32, x86, arm64, ...; only amd64 ever matches here. */
  arches?: string[];
  /** "4.8": includes needs a kernel at least this new, excludes drops the rule on one. */
  minKernel?: string;
}

/** A rule. parseProfile also reads the legacy single `name` and returns it as `names`. */
export interface SeccompRule {
  names: string[];
  action: SeccompAction;
  /** The errno for SCMP_ACT_ERRNO (default EPERM), the message for SCMP_ACT_TRACE (default EPERM, as runc). */
  errnoRet?: number;
  args?: SeccompArg[];
  includes?: SeccompFilter;
  excludes?: SeccompFilter;
  comment?: string;
}

export interface SeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  /** SCMP_ARCH_* names. Checked, but the program always targets x86_64 alone (see compileProfile). */
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  syscalls: SeccompRule[];
}

/** A profile that cannot be used; the message starts with the field path, e.g. `syscalls[3].args[0].op`. */
export class ProfileError extends EngineError {
  constructor(
    readonly path: string,
    why: string,
  ) {
    super('InvalidArgument', `${path}: ${why}`);
    this.name = 'ProfileError';
  }
}

/** Parses and checks a profile's JSON text. Integers above 2^53 keep every bit (see json-u64.ts). */
export function parseProfile(text: string): SeccompProfile {
  let value: unknown;
  try {
    value = parseJson(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) throw new ProfileError('profile', err.message);
    throw err;
  }
  return checkProfile(value);
}

/** Names the profile lists that the x86_64 table lacks; the compiler skips them, as libseccomp does. */
export function unknownSyscalls(profile: SeccompProfile): string[] {
  const names = profile.syscalls.flatMap((rule) => rule.names);
  return [...new Set(names.filter((name) => !SYSCALLS_X86_64.has(name)))];
}

/** Fields Docker's format has that Berth refuses, and why (anything else unknown is refused as a likely typo). */
const UNSUPPORTED = new Map([
  ['flags', 'seccomp filter flags are not supported'],
  ['listenerPath', 'SCMP_ACT_NOTIFY listeners are not supported'],
  ['listenerMetadata', 'SCMP_ACT_NOTIFY listeners are not supported'],
]);
const PROFILE_FIELDS = ['defaultAction', 'defaultErrnoRet', 'architectures', 'archMap', 'syscalls', 'comment'];
const RULE_FIELDS = ['names', 'name', 'action', 'errnoRet', 'args', 'includes', 'excludes', 'comment'];
const ARG_FIELDS = ['index', 'value', 'valueTwo', 'op'];
const FILTER_FIELDS = ['caps', 'arches', 'minKernel'];
const ARCH_MAP_FIELDS = ['architecture', 'subArchitectures'];

const SCMP_ARCHES = [
  'SCMP_ARCH_NATIVE', 'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32', 'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X', 'SCMP_ARCH_PARISC', 'SCMP_ARCH_PARISC64', 'SCMP_ARCH_RISCV64', 'SCMP_ARCH_LOONGARCH64',
  'SCMP_ARCH_M68K', 'SCMP_ARCH_SH', 'SCMP_ARCH_SHEB',
];
/** The names includes/excludes.arches use (moby's, from Go's GOARCH); a typo would silently drop a rule. */
const RULE_ARCHES = [
  'amd64', 'x86', 'x32', 'arm', 'arm64', 'mips', 'mipsel', 'mips64', 'mips64n32', 'mipsel64', 'mipsel64n32',
  'mips3l64n32', 'ppc', 'ppc64', 'ppc64le', 's390', 's390x', 'parisc', 'parisc64', 'riscv64', 'loong64',
];
const SYSCALL_NAME = /^[a-z0-9_]+$/;
const CAPABILITY = /^CAP_[A-Z0-9_]+$/;
const KERNEL_RELEASE = /^\d+\.\d+(\.\d+)?$/;
const MAX_ERRNO = 4095;
const MAX_TRACE_MSG = 0xffff;
const U64_MAX = (1n << 64n) - 1n;

type Fields = Record<string, unknown>;

/**
 * `value` as a checked SeccompProfile: a fresh object with names normalized (legacy `name` becomes `names`), args
 * as bigints, and JSON nulls read as absent fields, as Go's decoder reads them.
 */
export function checkProfile(value: unknown): SeccompProfile {
  const root = fieldsOf(value, '', PROFILE_FIELDS);
  const profile: SeccompProfile = {
    defaultAction: action(root.defaultAction, 'defaultAction'),
    syscalls: listOf(root.syscalls ?? [], 'syscalls', checkRule),
  };
  const defaultErrnoRet = optional(root.defaultErrnoRet, 'defaultErrnoRet', (v, p) => errnoRet(v, p, profile.defaultAction));
  if (defaultErrnoRet !== undefined) profile.defaultErrnoRet = defaultErrnoRet;
  const architectures = optional(root.architectures, 'architectures', (v, p) => listOf(v, p, scmpArch));
  const archMap = optional(root.archMap, 'archMap', (v, p) => listOf(v, p, checkArchMap));
  if (architectures?.length && archMap?.length) throw new ProfileError('archMap', 'set with architectures; use one of them');
  if (architectures) profile.architectures = architectures;
  if (archMap) profile.archMap = archMap;
  return profile;
}

function checkRule(value: unknown, path: string): SeccompRule {
  const f = fieldsOf(value, path, RULE_FIELDS);
  const hasName = f.name !== undefined && f.name !== null;
  const hasNames = f.names !== undefined && f.names !== null;
  if (hasName && hasNames) throw new ProfileError(path, 'both name and names are set; use names');
  if (!hasName && !hasNames) throw new ProfileError(join(path, 'names'), 'missing');
  const names = hasName ? [syscallName(f.name, join(path, 'name'))] : listOf(f.names, join(path, 'names'), syscallName);
  if (names.length === 0) throw new ProfileError(join(path, 'names'), 'empty');
  const rule: SeccompRule = { names, action: action(f.action, join(path, 'action')) };
  const ret = optional(f.errnoRet, join(path, 'errnoRet'), (v, p) => errnoRet(v, p, rule.action));
  if (ret !== undefined) rule.errnoRet = ret;
  const args = optional(f.args, join(path, 'args'), (v, p) => listOf(v, p, checkArg));
  if (args) rule.args = args;
  for (const key of ['includes', 'excludes'] as const) {
    const filter = optional(f[key], join(path, key), checkFilter);
    if (filter) rule[key] = filter;
  }
  const comment = optional(f.comment, join(path, 'comment'), string);
  if (comment !== undefined) rule.comment = comment;
  return rule;
}

function checkArg(value: unknown, path: string): SeccompArg {
  const f = fieldsOf(value, path, ARG_FIELDS);
  const index = integer(f.index, join(path, 'index'), 0, 5);
  const op = oneOf(f.op, join(path, 'op'), SECCOMP_OPS, 'comparison');
  return {
    index,
    value: u64(f.value, join(path, 'value')),
    valueTwo: optional(f.valueTwo, join(path, 'valueTwo'), u64) ?? 0n,
    op,
  };
}

function checkFilter(value: unknown, path: string): SeccompFilter {
  const f = fieldsOf(value, path, FILTER_FIELDS);
  const filter: SeccompFilter = {};
  const caps = optional(f.caps, join(path, 'caps'), (v, p) => listOf(v, p, (c, q) => matching(c, q, CAPABILITY, 'capability')));
  const arches = optional(f.arches, join(path, 'arches'), (v, p) => listOf(v, p, (a, q) => oneOf(a, q, RULE_ARCHES, 'architecture')));
  const minKernel = optional(f.minKernel, join(path, 'minKernel'), (v, p) => matching(v, p, KERNEL_RELEASE, 'kernel release'));
  if (caps) filter.caps = caps;
  if (arches) filter.arches = arches;
  if (minKernel !== undefined) filter.minKernel = minKernel;
  return filter;
}

function checkArchMap(value: unknown, path: string): { architecture: string; subArchitectures?: string[] } {
  const f = fieldsOf(value, path, ARCH_MAP_FIELDS);
  const architecture = scmpArch(f.architecture, join(path, 'architecture'));
  const subArchitectures = optional(f.subArchitectures, join(path, 'subArchitectures'), (v, p) => listOf(v, p, scmpArch));
  return subArchitectures ? { architecture, subArchitectures } : { architecture };
}

function action(value: unknown, path: string): SeccompAction {
  if (value === 'SCMP_ACT_NOTIFY') throw new ProfileError(path, 'SCMP_ACT_NOTIFY is not supported');
  return oneOf(value, path, SECCOMP_ACTIONS, 'action');
}

function errnoRet(value: unknown, path: string, act: SeccompAction): number {
  if (act === 'SCMP_ACT_ERRNO') return integer(value, path, 0, MAX_ERRNO);
  if (act === 'SCMP_ACT_TRACE') return integer(value, path, 0, MAX_TRACE_MSG);
  throw new ProfileError(path, `set for ${act}; only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one`);
}

function syscallName(value: unknown, path: string): string {
  const name = string(value, path);
  if (name === '') throw new ProfileError(path, 'empty syscall name');
  return matching(name, path, SYSCALL_NAME, 'syscall name');
}

function scmpArch(value: unknown, path: string): string {
  return oneOf(value, path, SCMP_ARCHES, 'architecture');
}

/** An unsigned 64-bit value: a safe integer, or a bigint (which parseJson gives for larger literals). */
function u64(value: unknown, path: string): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'bigint' && value >= 0n && value <= U64_MAX) return value;
  const hint = typeof value === 'number' && Number.isInteger(value) && value > 0 ? ' (above 2^53 write it as a bigint)' : '';
  throw new ProfileError(path, `expected an integer in 0..2^64-1, got ${describe(value)}${hint}`);
}

function integer(value: unknown, path: string, min: number, max: number): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  throw new ProfileError(path, `expected an integer in ${min}..${max}, got ${describe(value)}`);
}

function string(value: unknown, path: string): string {
  if (typeof value === 'string') return value;
  throw new ProfileError(path, `expected a string, got ${describe(value)}`);
}

function matching(value: unknown, path: string, pattern: RegExp, what: string): string {
  const text = string(value, path);
  if (!pattern.test(text)) throw new ProfileError(path, `malformed ${what} ${JSON.stringify(text)}`);
  return text;
}

function oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[], what: string): T {
  const text = string(value, path);
  if (!(allowed as readonly string[]).includes(text)) throw new ProfileError(path, `unknown ${what} ${JSON.stringify(text)}`);
  return text as T;
}

function listOf<T>(value: unknown, path: string, item: (v: unknown, path: string) => T): T[] {
  if (!Array.isArray(value)) throw new ProfileError(path, `expected an array, got ${describe(value)}`);
  return value.map((v, i) => item(v, `${path}[${i}]`));
}

/** undefined for an absent or null field, else the checked value. */
function optional<T>(value: unknown, path: string, check: (v: unknown, path: string) => T): T | undefined {
  return value === undefined || value === null ? undefined : check(value, path);
}

function fieldsOf(value: unknown, path: string, known: readonly string[]): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProfileError(path || 'profile', `expected an object, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new ProfileError(join(path, key), UNSUPPORTED.get(key) ?? 'unknown field');
  }
  return value as Fields;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  if (value === undefined) return 'nothing';
  return String(value);
}
