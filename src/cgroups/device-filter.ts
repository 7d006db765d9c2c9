// cgroup v2's device controller: rules in devices.allow syntax compiled into the eBPF program
// (BPF_PROG_TYPE_CGROUP_DEVICE) the kernel runs for every mknod and open of a device node.
import { EngineError } from '../errors';

/** One devices.allow line, parsed: `c 1:3 rwm`, `b *:* m`, `a`. */
export interface DeviceRule {
  type: 'a' | 'b' | 'c';
  /** undefined for `*` */
  major?: number;
  minor?: number;
  /** BPF_DEVCG_ACC_* bits: mknod 1, read 2, write 4. */
  access: number;
}

// include/uapi/linux/bpf.h: struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; },
// access_type = (access << 16) | type.
export const DEV_BLOCK = 1;
export const DEV_CHAR = 2;
export const ACC_MKNOD = 1;
export const ACC_READ = 2;
export const ACC_WRITE = 4;
const ACC_ALL = ACC_MKNOD | ACC_READ | ACC_WRITE;

const ACCESS_BITS: Record<string, number> = { m: ACC_MKNOD, r: ACC_READ, w: ACC_WRITE };
// include/linux/kdev_t.h: a dev_t has 12 bits of major and 20 of minor; nothing larger ever reaches the program.
const MAX_MAJOR = 0xfff;
const MAX_MINOR = 0xfffff;
/** BPF_MAXINSNS; far more than any rule list needs (at most 6 per rule). */
const MAX_INSNS = 4096;

/**
 * The kernel's grammar for devices.allow (devcgroup_update_access), without its leniencies. `a`
 * takes nothing after it but `*:* rwm`: v1 reads any `a ...` line as "allow everything".
 */
export function parseDeviceRule(line: string): DeviceRule {
  if (line === 'a' || line === 'a *:* rwm') return { type: 'a', access: ACC_ALL };
  const m = /^([bc]) (\d+|\*):(\d+|\*) ([rwm]{1,3})$/.exec(line);
  if (!m || new Set(m[4]).size !== m[4].length) throw badRule(line, 'expected "a" or "<b|c> <major|*>:<minor|*> <subset of rwm>"');
  const number = (text: string, max: number, what: string): number | undefined => {
    if (text === '*') return undefined;
    const n = Number(text);
    if (n > max) throw badRule(line, `${what} above ${max}`);
    return n;
  };
  let access = 0;
  for (const c of m[4]) access |= ACCESS_BITS[c];
  return { type: m[1] as DeviceRule['type'], major: number(m[2], MAX_MAJOR, 'major'), minor: number(m[3], MAX_MINOR, 'minor'), access };
}

function badRule(line: string, why: string): EngineError {
  return new EngineError('InvalidArgument', `device rule ${JSON.stringify(line)}: ${why}`);
}

// The instructions we emit (include/uapi/linux/bpf_common.h, bpf.h). Registers: r1 the context on entry,
// r2 device type, r3 requested access, r4 major, r5 minor, r0 the verdict.
export const OP = {
  LDX_MEM_W: 0x61, // BPF_LDX | BPF_MEM | BPF_W: dst = *(u32 *)(src + off)
  ALU_AND_K: 0x54, // BPF_ALU | BPF_AND | BPF_K: dst = (u32)(dst & imm)
  ALU_RSH_K: 0x74, // BPF_ALU | BPF_RSH | BPF_K: dst = (u32)dst >> imm
  ALU_MOV_K: 0xb4, // BPF_ALU | BPF_MOV | BPF_K: dst = (u32)imm
  JMP_JNE_K: 0x55, // BPF_JMP | BPF_JNE | BPF_K: if dst != imm goto pc + 1 + off
  JMP_JSET_K: 0x45, // BPF_JMP | BPF_JSET | BPF_K: if dst & imm goto pc + 1 + off
  JMP_EXIT: 0x95, // BPF_JMP | BPF_EXIT: return r0
} as const;

export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const insn = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({ code, dst, src, off, imm });

/** allow (r0 = 1) or deny (r0 = 0), then return. */
const verdict = (allow: boolean): Insn[] => [insn(OP.ALU_MOV_K, 0, 0, 0, allow ? 1 : 0), insn(OP.JMP_EXIT, 0, 0, 0, 0)];

/**
 * The program for "deny everything, then allow the rules" (what the v1 controller does after
 * `devices.deny a`), or for 'all' one that allows every access. As with v1, one rule must grant
 * every requested access bit: an open for read and write needs a rule holding both r and w.
 */
export function deviceFilterInsns(rules: readonly string[] | 'all'): Insn[] {
  if (rules === 'all') return verdict(true);
  const out: Insn[] = [
    insn(OP.LDX_MEM_W, 2, 1, 0, 0), insn(OP.ALU_AND_K, 2, 0, 0, 0xffff), // r2 = type
    insn(OP.LDX_MEM_W, 3, 1, 0, 0), insn(OP.ALU_RSH_K, 3, 0, 0, 16), // r3 = access
    insn(OP.LDX_MEM_W, 4, 1, 4, 0), // r4 = major
    insn(OP.LDX_MEM_W, 5, 1, 8, 0), // r5 = minor
  ];
  for (const rule of rules.map(parseDeviceRule)) {
    // Each test jumps past this rule's block when it fails; the offsets are set once the block's length is known.
    const tests: Insn[] = [];
    if (rule.type !== 'a') tests.push(insn(OP.JMP_JNE_K, 2, 0, 0, rule.type === 'c' ? DEV_CHAR : DEV_BLOCK));
    // Any requested bit outside the rule's: (access & ~rule) != 0, even for rwm, so a bit unknown to us
    // is denied. ~rule as a signed imm32 sign-extends to 64 bits; r3 came from a 32-bit load, so its
    // upper half is zero either way.
    tests.push(insn(OP.JMP_JSET_K, 3, 0, 0, ~rule.access));
    if (rule.major !== undefined) tests.push(insn(OP.JMP_JNE_K, 4, 0, 0, rule.major));
    if (rule.minor !== undefined) tests.push(insn(OP.JMP_JNE_K, 5, 0, 0, rule.minor));
    const block = [...tests, ...verdict(true)];
    tests.forEach((t, i) => { t.off = block.length - i - 1; });
    // Every block has a test, so the next one stays reachable: the verifier refuses unreachable code.
    out.push(...block);
  }
  out.push(...verdict(false));
  if (out.length > MAX_INSNS) throw new EngineError('InvalidArgument', `device rules: ${rules.length} rules need ${out.length} BPF instructions, above ${MAX_INSNS}`);
  return out;
}

/** struct bpf_insn[], little-endian: u8 code, u8 dst_reg:4 src_reg:4, s16 off, s32 imm. */
export function encodeInsns(insns: readonly Insn[]): Buffer {
  const buf = Buffer.alloc(insns.length * 8);
  insns.forEach((x, i) => {
    buf.writeUInt8(x.code, i * 8);
    buf.writeUInt8((x.src << 4) | x.dst, i * 8 + 1);
    buf.writeInt16LE(x.off, i * 8 + 2);
    buf.writeInt32LE(x.imm, i * 8 + 4);
  });
  return buf;
}

/** The program's bytes for the addon's attachDeviceFilter. */
export function compileDeviceFilter(rules: readonly string[] | 'all'): Buffer {
  return encodeInsns(deviceFilterInsns(rules));
}
