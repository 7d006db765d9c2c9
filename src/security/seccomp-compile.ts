// compileProfile(): a checked Docker-format profile -> the classic BPF program (struct sock_filter[]) the monitor
// hands to seccomp(SECCOMP_SET_MODE_FILTER) as it is. x86_64 only. The layout, and where we differ from
// runc + libseccomp, is written above compileProfile.

import { EngineError } from '../errors';
import { Assembler, BPF_JEQ_K, BPF_JGE_K, BPF_JGT_K, BPF_MAX_INSNS, type Label } from './bpf';
import {
  checkProfile,
  ProfileError,
  type SeccompAction,
  type SeccompArg,
  type SeccompOp,
  type SeccompProfile,
  type SeccompRule,
} from './seccomp-profile';
import { MAX_SYSCALL_X86_64, SYSCALLS_X86_64 } from './syscalls-x86_64';

export interface CompileOptions {
  /** The container's capabilities (bounding set, as Docker checks), e.g. 'CAP_SYS_ADMIN'; the CAP_ prefix may be left off. */
  capabilities: readonly string[];
  /** The host kernel's release (os.release()) for minKernel; unset = newer than every minKernel. */
  kernelRelease?: string;
}

/** SECCOMP_RET_* (linux/seccomp.h); ERRNO and TRACE carry 16 bits of data. */
export const SECCOMP_RET = {
  KILL_PROCESS: 0x8000_0000,
  KILL_THREAD: 0,
  TRAP: 0x0003_0000,
  ERRNO: 0x0005_0000,
  TRACE: 0x7ff0_0000,
  LOG: 0x7ffc_0000,
  ALLOW: 0x7fff_0000,
} as const;
export const AUDIT_ARCH_X86_64 = 0xc000_003e;
/** __X32_SYSCALL_BIT: x32 calls are x86_64 numbers with this bit set. */
export const X32_SYSCALL_BIT = 0x4000_0000;
const EPERM = 1;
const ENOSYS = 38;
/** offsetof(struct seccomp_data, ...): nr, arch, then u64 args[6] from 16; low word first on little-endian. */
const NR_OFFSET = 0;
const ARCH_OFFSET = 4;
const argOffset = (index: number) => 16 + 8 * index;

/**
 * The BPF program for `profile` on x86_64, in this order:
 * 1. arch != AUDIT_ARCH_X86_64 → KILL_PROCESS. That includes i386 calls (int 0x80) from any process: matching them
 *    would need the i386 table, and Docker's SCMP_ARCH_X86 support is left out.
 * 2. nr >= X32_SYSCALL_BIT → ERRNO(ENOSYS), whatever the profile says: x32 numbers reach the same kernel code as
 *    x86_64 ones, so letting them through would bypass every rule, and ENOSYS is what a kernel without x32 answers.
 * 3. A binary search on nr over ranges of numbers that share an outcome; a run of plain ALLOWs costs one compare.
 *    Numbers the table lacks (syscalls newer than our header, above its highest or in the unused 335..423) get
 *    ERRNO(ENOSYS) unless the default is ALLOW or LOG, so libc falls back to an older call rather than failing
 *    on EPERM (runc does this for numbers above the profile's highest).
 * 4. A syscall with argument rules jumps to a block that tries its rules in profile order: the first rule whose
 *    comparisons all hold decides, and when none does the default action applies. libseccomp promises no order
 *    between rules with different actions; we do. Comparisons are u64: high word first, then low word.
 *    Comparisons in one rule are ANDed, except that a rule comparing one argument index twice becomes one rule
 *    per comparison, ORed: runc does that, and profiles written for Docker rely on it.
 * Rules are chosen by capabilities, arch (amd64) and kernel release as Docker chooses them, names unknown to the
 * table are skipped (libseccomp does the same), and the program must fit the kernel's 4096 instructions.
 */
export function compileProfile(profile: SeccompProfile, options: CompileOptions): Buffer {
  const checked = checkProfile(profile);
  const defaultRet = retValue(checked.defaultAction, checked.defaultErrnoRet);
  const perSyscall = rulesBySyscall(checked.syscalls.filter(selector(options)));
  const asm = new Assembler();
  const rets = new Map<number, Label>();
  const retLabel = (k: number): Label => rets.get(k) ?? (rets.set(k, asm.label()), rets.get(k)!);
  const archOk = asm.label();
  asm.load(ARCH_OFFSET);
  asm.jump(BPF_JEQ_K, AUDIT_ARCH_X86_64, archOk, retLabel(SECCOMP_RET.KILL_PROCESS));
  asm.place(archOk);
  asm.load(NR_OFFSET);
  const native = asm.label();
  asm.jump(BPF_JGE_K, X32_SYSCALL_BIT, retLabel(errnoRet(ENOSYS)), native);
  asm.place(native);

  // Each number's outcome: a shared return, or the block for its chain of rules (chains with equal rules share one).
  const blocks = new Map<string, { label: Label; chain: Alternative[] }>();
  const targetOf = (alternatives: Alternative[] | undefined): Label => {
    const chain = simplify(alternatives ?? [], defaultRet);
    if (chain.length === 0) return retLabel(defaultRet);
    if (chain.length === 1 && chain[0].conds.length === 0) return retLabel(chain[0].ret);
    const key = chainKey(chain);
    if (!blocks.has(key)) blocks.set(key, { label: asm.label(), chain });
    return blocks.get(key)!.label;
  };
  const ranges: Range[] = [];
  const allowsNewer = checked.defaultAction === 'SCMP_ACT_ALLOW' || checked.defaultAction === 'SCMP_ACT_LOG';
  const newer = retLabel(allowsNewer ? defaultRet : errnoRet(ENOSYS));
  for (let nr = 0; nr <= MAX_SYSCALL_X86_64; nr++) addRange(ranges, nr, KNOWN.has(nr) ? targetOf(perSyscall.get(nr)) : newer);
  addRange(ranges, MAX_SYSCALL_X86_64 + 1, newer);
  emitSearch(asm, ranges, 0, ranges.length - 1);

  for (const { label, chain } of blocks.values()) {
    asm.place(label);
    emitChain(asm, chain, retLabel, retLabel(defaultRet));
  }
  for (const [k, label] of rets) {
    asm.place(label);
    asm.ret(k);
  }
  const program = asm.assemble();
  const length = program.length / 8;
  if (length > BPF_MAX_INSNS) {
    throw new ProfileError('syscalls', `compiles to ${length} BPF instructions, above the kernel's ${BPF_MAX_INSNS}`);
  }
  return program;
}

const KNOWN = new Set(SYSCALLS_X86_64.values());

/** Each syscall number's rules, in profile order, as alternatives; names the table lacks are skipped. */
function rulesBySyscall(rules: SeccompRule[]): Map<number, Alternative[]> {
  const perSyscall = new Map<number, Alternative[]>();
  for (const rule of rules) {
    const ret = retValue(rule.action, rule.errnoRet);
    const alternatives = splitArgs(rule.args ?? []).map((conds) => ({ conds, ret }));
    for (const name of rule.names) {
      const nr = SYSCALLS_X86_64.get(name);
      if (nr !== undefined) perSyscall.set(nr, [...(perSyscall.get(nr) ?? []), ...alternatives]);
    }
  }
  return perSyscall;
}

/** Tries each alternative in order (A = anything); the first whose comparisons all hold returns its value. */
function emitChain(asm: Assembler, chain: Alternative[], retLabel: (k: number) => Label, otherwise: Label): void {
  chain.forEach(({ conds, ret }, i) => {
    const lastAlternative = i === chain.length - 1;
    const next = lastAlternative ? otherwise : asm.label();
    if (conds.length === 0) asm.goto(retLabel(ret));
    conds.forEach((cond, j) => {
      const lastCond = j === conds.length - 1;
      const holds = lastCond ? retLabel(ret) : asm.label();
      emitCompare(asm, cond, holds, next);
      if (!lastCond) asm.place(holds);
    });
    if (!lastAlternative) asm.place(next);
  });
}

interface Cond {
  index: number;
  op: SeccompOp;
  value: bigint;
  valueTwo: bigint;
}
/** One way for a syscall to get `ret`: every comparison holds. */
interface Alternative {
  conds: Cond[];
  ret: number;
}
interface Range {
  start: number;
  target: Label;
}

function retValue(action: SeccompAction, data: number | undefined): number {
  switch (action) {
    case 'SCMP_ACT_ALLOW':
      return SECCOMP_RET.ALLOW;
    case 'SCMP_ACT_ERRNO':
      return errnoRet(data ?? EPERM);
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SECCOMP_RET.KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return SECCOMP_RET.KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return SECCOMP_RET.TRAP;
    case 'SCMP_ACT_TRACE':
      return (SECCOMP_RET.TRACE | (data ?? EPERM)) >>> 0;
    case 'SCMP_ACT_LOG':
      return SECCOMP_RET.LOG;
  }
}

function errnoRet(errno: number): number {
  return (SECCOMP_RET.ERRNO | errno) >>> 0;
}

/** Docker's selection of rules (moby's profiles/seccomp): includes needs all it names, excludes drops on any. */
function selector(options: CompileOptions): (rule: SeccompRule) => boolean {
  const caps = new Set(options.capabilities.map((cap) => cap.toUpperCase().replace(/^(?!CAP_)/, 'CAP_')));
  const kernel = options.kernelRelease === undefined ? undefined : release(options.kernelRelease, 'kernelRelease');
  const atLeast = (min: string) => kernel === undefined || compareRelease(kernel, release(min, 'minKernel')) >= 0;
  return ({ includes = {}, excludes = {} }) => {
    if (includes.caps?.some((cap) => !caps.has(cap))) return false;
    if (includes.arches?.length && !includes.arches.includes('amd64')) return false;
    if (includes.minKernel !== undefined && !atLeast(includes.minKernel)) return false;
    if (excludes.caps?.some((cap) => caps.has(cap))) return false;
    if (excludes.arches?.includes('amd64')) return false;
    if (excludes.minKernel !== undefined && atLeast(excludes.minKernel)) return false;
    return true;
  };
}

function release(text: string, what: string): number[] {
  const match = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!match) throw new EngineError('InvalidArgument', `${what} ${JSON.stringify(text)}: not a release such as 6.1.0`);
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}

function compareRelease(a: number[], b: number[]): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** A rule's args as ANDed alternatives: one with every comparison, or (runc) one per comparison if an index repeats. */
function splitArgs(args: SeccompArg[]): Cond[][] {
  const conds = args.map((a) => ({ index: a.index, op: a.op, value: BigInt(a.value), valueTwo: BigInt(a.valueTwo ?? 0) }));
  const repeats = new Set(conds.map((c) => c.index)).size < conds.length;
  return repeats ? conds.map((c) => [c]) : [conds];
}

/** Drops what can never decide: rules after an unconditional one, and trailing rules that give the default anyway. */
function simplify(chain: Alternative[], defaultRet: number): Alternative[] {
  const firstAlways = chain.findIndex((alt) => alt.conds.length === 0);
  const kept = firstAlways === -1 ? [...chain] : chain.slice(0, firstAlways + 1);
  while (kept.length > 0 && kept[kept.length - 1].ret === defaultRet) kept.pop();
  return kept;
}

function chainKey(chain: Alternative[]): string {
  return chain
    .map(({ conds, ret }) => `${ret}:${conds.map((c) => `${c.index},${c.op},${c.value},${c.valueTwo}`).join('&')}`)
    .join('|');
}

function addRange(ranges: Range[], start: number, target: Label): void {
  if (ranges.length === 0 || ranges[ranges.length - 1].target !== target) ranges.push({ start, target });
}

/** Binary search over ranges[lo..hi] (A = nr): each node splits at a range's first number. */
function emitSearch(asm: Assembler, ranges: Range[], lo: number, hi: number): void {
  if (lo === hi) {
    asm.goto(ranges[lo].target);
    return;
  }
  const mid = (lo + hi + 1) >> 1;
  const below = mid - 1 === lo ? ranges[lo].target : asm.label();
  const above = mid === hi ? ranges[hi].target : asm.label();
  asm.jump(BPF_JGE_K, ranges[mid].start, above, below);
  for (const [from, to, label] of [[lo, mid - 1, below], [mid, hi, above]] as const) {
    if (from === to) continue;
    asm.place(label);
    emitSearch(asm, ranges, from, to);
  }
}

const word = (v: bigint, high: boolean): number => Number((high ? v >> 32n : v) & 0xffff_ffffn);

/**
 * Jumps to `holds` when the u64 argument compares as `cond` says, else to `fails`. BPF sees 32 bits at a time,
 * so the high words decide unless they are equal, and then the low words do.
 */
function emitCompare(asm: Assembler, cond: Cond, holds: Label, fails: Label): void {
  const low = argOffset(cond.index);
  const high = low + 4;
  const [vHigh, vLow] = [word(cond.value, true), word(cond.value, false)];
  const lowWord = asm.label();
  switch (cond.op) {
    case 'SCMP_CMP_EQ':
    case 'SCMP_CMP_NE': {
      const [same, differs] = cond.op === 'SCMP_CMP_EQ' ? [holds, fails] : [fails, holds];
      asm.load(high);
      asm.jump(BPF_JEQ_K, vHigh, lowWord, differs);
      asm.place(lowWord);
      asm.load(low);
      asm.jump(BPF_JEQ_K, vLow, same, differs);
      return;
    }
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE':
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE': {
      // LT is "not GE" and LE "not GT": the same code with the exits swapped.
      const greater = cond.op === 'SCMP_CMP_GT' || cond.op === 'SCMP_CMP_GE';
      const [above, notAbove] = greater ? [holds, fails] : [fails, holds];
      const lowOp = cond.op === 'SCMP_CMP_GT' || cond.op === 'SCMP_CMP_LE' ? BPF_JGT_K : BPF_JGE_K;
      const highEqual = asm.label();
      asm.load(high);
      asm.jump(BPF_JGT_K, vHigh, above, highEqual);
      asm.place(highEqual);
      asm.jump(BPF_JEQ_K, vHigh, lowWord, notAbove);
      asm.place(lowWord);
      asm.load(low);
      asm.jump(lowOp, vLow, above, notAbove);
      return;
    }
    case 'SCMP_CMP_MASKED_EQ': {
      // (arg & mask) == expected, a word at a time. A word whose mask is 0 needs no load: it holds when its
      // expected word is 0 too (the common case, a flags mask below 2^32), and never otherwise.
      const [eHigh, eLow] = [word(cond.valueTwo, true), word(cond.valueTwo, false)];
      if (vHigh !== 0) emitMaskedWord(asm, high, vHigh, eHigh, lowWord, fails);
      else if (eHigh !== 0) asm.goto(fails);
      asm.place(lowWord);
      if (vLow !== 0) emitMaskedWord(asm, low, vLow, eLow, holds, fails);
      else asm.goto(eLow === 0 ? holds : fails);
      return;
    }
  }
}

function emitMaskedWord(asm: Assembler, offset: number, mask: number, expected: number, holds: Label, fails: Label): void {
  asm.load(offset);
  if (mask !== 0xffff_ffff) asm.and(mask);
  asm.jump(BPF_JEQ_K, expected, holds, fails);
}
