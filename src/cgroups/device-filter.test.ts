// The device filter runs here in a small eBPF interpreter that knows only the instructions the
// compiler may emit, and is checked for what the kernel's verifier insists on.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../errors';
import { DEFAULT_DEVICE_RULES } from '../security/devices';
import { Cgroups } from './manager';
import { ACC_MKNOD, ACC_READ, ACC_WRITE, compileDeviceFilter, DEV_BLOCK, DEV_CHAR, OP, parseDeviceRule } from './device-filter';

interface Decoded { code: number; dst: number; src: number; off: number; imm: number }

function decode(program: Buffer): Decoded[] {
  expect(program.length % 8).toBe(0);
  const out: Decoded[] = [];
  for (let at = 0; at < program.length; at += 8) {
    const regs = program.readUInt8(at + 1);
    out.push({ code: program.readUInt8(at), dst: regs & 0xf, src: regs >> 4, off: program.readInt16LE(at + 2), imm: program.readInt32LE(at + 4) });
  }
  return out;
}

const KNOWN = new Set<number>(Object.values(OP));
const isJump = (code: number) => code === OP.JMP_JNE_K || code === OP.JMP_JSET_K;

/** What the verifier would refuse: unknown opcodes, jumps out of range or backwards, unreachable code, falling off the end, r0 unset at an exit. */
function verify(insns: Decoded[]): void {
  expect(insns.length).toBeGreaterThan(0);
  expect(insns.length).toBeLessThanOrEqual(4096);
  insns.forEach((x, pc) => {
    expect(KNOWN.has(x.code), `insn ${pc}: opcode 0x${x.code.toString(16)}`).toBe(true);
    if (x.code !== OP.LDX_MEM_W) expect(x.src, `insn ${pc}: src of a K op`).toBe(0);
    if (isJump(x.code)) {
      expect(x.off, `insn ${pc}: backward jump`).toBeGreaterThanOrEqual(0);
      expect(pc + 1 + x.off, `insn ${pc}: jump out of range`).toBeLessThan(insns.length);
    } else {
      expect(x.off === 0 || x.code === OP.LDX_MEM_W, `insn ${pc}: offset on a non-jump`).toBe(true);
    }
  });
  expect(insns[insns.length - 1].code, 'the last instruction').toBe(OP.JMP_EXIT);
  // Forward jumps only, so pc order is a topological order: the registers set on every path into
  // an instruction are the intersection over its predecessors.
  const setOnEntry: (Set<number> | undefined)[] = new Array(insns.length);
  setOnEntry[0] = new Set([1, 10]);
  const flow = (to: number, regs: Set<number>) => {
    const had = setOnEntry[to];
    setOnEntry[to] = had ? new Set([...had].filter((r) => regs.has(r))) : new Set(regs);
  };
  insns.forEach((x, pc) => {
    const regs = setOnEntry[pc];
    expect(regs, `insn ${pc} is unreachable`).toBeDefined();
    const after = new Set(regs);
    if (x.code === OP.JMP_EXIT) {
      expect(regs!.has(0), `insn ${pc}: exit with r0 unset`).toBe(true);
      return;
    }
    if (x.code === OP.LDX_MEM_W) expect(regs!.has(x.src), `insn ${pc}: r${x.src} read before it is set`).toBe(true);
    if (x.code !== OP.ALU_MOV_K && x.code !== OP.LDX_MEM_W) expect(regs!.has(x.dst), `insn ${pc}: r${x.dst} read before it is set`).toBe(true);
    if (!isJump(x.code)) after.add(x.dst);
    flow(pc + 1, after);
    if (isJump(x.code)) flow(pc + 1 + x.off, after);
  });
}

const u64 = (n: number) => BigInt.asUintN(64, BigInt(n));

/** Runs the program on one struct bpf_cgroup_dev_ctx; throws on anything it does not know. */
function run(insns: Decoded[], ctx: { type: number; access: number; major: number; minor: number }): number {
  const mem = [(ctx.access << 16) | ctx.type, ctx.major, ctx.minor];
  const regs: (bigint | 'ctx' | undefined)[] = new Array(11).fill(undefined);
  regs[1] = 'ctx';
  const scalar = (r: number): bigint => {
    const v = regs[r];
    if (typeof v !== 'bigint') throw new Error(`r${r} is not a scalar`);
    return v;
  };
  for (let pc = 0, steps = 0; steps < 10_000; steps++) {
    const x = insns[pc];
    if (!x) throw new Error(`pc ${pc} out of the program`);
    pc++;
    switch (x.code) {
      case OP.LDX_MEM_W:
        if (regs[x.src] !== 'ctx' || x.off % 4 !== 0 || x.off < 0 || x.off > 8) throw new Error(`bad load r${x.src}+${x.off}`);
        regs[x.dst] = BigInt(mem[x.off / 4] >>> 0);
        break;
      case OP.ALU_AND_K: regs[x.dst] = BigInt((Number(scalar(x.dst) & 0xffffffffn) & x.imm) >>> 0); break;
      case OP.ALU_RSH_K: regs[x.dst] = BigInt(Number(scalar(x.dst) & 0xffffffffn) >>> x.imm); break;
      case OP.ALU_MOV_K: regs[x.dst] = BigInt(x.imm >>> 0); break;
      case OP.JMP_JNE_K: if (scalar(x.dst) !== u64(x.imm)) pc += x.off; break;
      case OP.JMP_JSET_K: if ((scalar(x.dst) & u64(x.imm)) !== 0n) pc += x.off; break;
      case OP.JMP_EXIT: return Number(scalar(0));
      default: throw new Error(`opcode 0x${x.code.toString(16)} not emitted by the compiler`);
    }
  }
  throw new Error('no exit within 10000 steps');
}

/** What cgroup v1 decides after `devices.deny a` and these allow lines (match_exception). */
function reference(rules: readonly string[], ctx: { type: number; access: number; major: number; minor: number }): number {
  return rules.map(parseDeviceRule).some((r) =>
    (r.type === 'a' || (r.type === 'c' ? DEV_CHAR : DEV_BLOCK) === ctx.type)
    && (r.major === undefined || r.major === ctx.major) && (r.minor === undefined || r.minor === ctx.minor)
    && (ctx.access & ~r.access) === 0) ? 1 : 0;
}

const R = ACC_READ;
const W = ACC_WRITE;
const M = ACC_MKNOD;
const char = (major: number, minor: number, access: number) => ({ type: DEV_CHAR, major, minor, access });
const block = (major: number, minor: number, access: number) => ({ type: DEV_BLOCK, major, minor, access });

describe('compileDeviceFilter', () => {
  const program = decode(compileDeviceFilter(DEFAULT_DEVICE_RULES));

  it('the default rules pass the verifier checks', () => verify(program));

  it.each([
    ['read and write c 1:3 (null)', 1, char(1, 3, R | W)],
    ['read c 1:3', 1, char(1, 3, R)],
    ['write c 1:11 (kmsg)', 0, char(1, 11, W)],
    ['read c 1:11', 0, char(1, 11, R)],
    ['mknod c 1:11', 1, char(1, 11, M)],
    ['mknod and read c 1:11 at once', 0, char(1, 11, M | R)],
    ['mknod b 8:0', 1, block(8, 0, M)],
    ['read b 8:0', 0, block(8, 0, R)],
    ['read and write c 136:5 (a pty)', 1, char(136, 5, R | W)],
    ['read and write c 5:2 (ptmx)', 1, char(5, 2, R | W)],
    ['read b 1:3 (a block device numbered as null)', 0, block(1, 3, R)],
    ['read c 1:3 as an unknown device type', 0, { type: 3, major: 1, minor: 3, access: R }],
    ['an unknown access bit on c 1:3', 0, char(1, 3, 8)],
  ])('%s: %i', (_, allow, ctx) => {
    expect(run(program, ctx)).toBe(allow);
  });

  it.each<[string, readonly string[]]>([
    ['the defaults', DEFAULT_DEVICE_RULES],
    ['none', []],
    ['every access of every device', ['a']],
    ['rules after an allow-everything (still reachable: unknown access bits skip it)', ['c 1:3 r', 'a *:* rwm', 'b 1:1 m']],
    ['wildcards one side at a time', ['c 1:* r', 'b *:5 w', 'c *:* mw', 'b 7:3 rm']],
    ['the largest numbers', ['c 4095:1048575 rwm', 'b 0:0 r']],
  ])('decides as cgroup v1 would for %s', (_, rules) => {
    const insns = decode(compileDeviceFilter(rules));
    verify(insns);
    for (const type of [DEV_BLOCK, DEV_CHAR])
      for (let access = 1; access <= 7; access++)
        for (const major of [0, 1, 5, 7, 8, 136, 4095])
          for (const minor of [0, 1, 3, 5, 11, 1048575]) {
            const ctx = { type, access, major, minor };
            expect(run(insns, ctx), JSON.stringify(ctx)).toBe(reference(rules, ctx));
          }
  });

  it("'all' (privileged) is r0 = 1; exit", () => {
    const insns = decode(compileDeviceFilter('all'));
    verify(insns);
    expect(insns.map((x) => x.code)).toEqual([OP.ALU_MOV_K, OP.JMP_EXIT]);
    expect(run(insns, block(8, 0, R | W | M))).toBe(1);
  });

  it('encodes little-endian struct bpf_insn: code, dst | src << 4, off, imm', () => {
    const bytes = compileDeviceFilter(['c 1:3 r']);
    // r4 = *(u32 *)(r1 + 4)
    expect([...bytes.subarray(4 * 8, 5 * 8)]).toEqual([0x61, 0x14, 4, 0, 0, 0, 0, 0]);
    // if r3 & ~READ goto +4, past the rule (imm -3 = 0xfffffffd)
    expect([...bytes.subarray(7 * 8, 8 * 8)]).toEqual([0x45, 0x03, 4, 0, 0xfd, 0xff, 0xff, 0xff]);
  });

  it.each(['x 1:3 r', 'c 1:3', 'c 1:3 rwx', 'c 1:3 rr', 'c 4096:0 r', 'c 1:1048576 r', 'a 1:3 r', 'c 1 r', ' c 1:3 r'])(
    'refuses the rule %j', (rule) => {
      expect(() => compileDeviceFilter([rule])).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
    },
  );
});

describe('ContainerCgroup.limitDevices on cgroup v2', () => {
  let root = '';
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-devfilter-'));
    fs.mkdirSync(path.join(root, 'berth', 'c1'), { recursive: true });
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const recorder = () => {
    const calls: [string, Buffer][] = [];
    return { calls, native: { attachDeviceFilter: (dir: string, program: Buffer) => { calls.push([dir, program]); } } };
  };

  it('attaches the compiled rules to the container cgroup directory', async () => {
    const { calls, native } = recorder();
    await new Cgroups('berth', { version: 2, root }, native).open('c1').limitDevices(DEFAULT_DEVICE_RULES);
    expect(calls).toEqual([[path.join(root, 'berth', 'c1'), compileDeviceFilter(DEFAULT_DEVICE_RULES)]]);
  });

  it("attaches nothing for 'all' (privileged)", async () => {
    const { calls, native } = recorder();
    await new Cgroups('berth', { version: 2, root }, native).open('c1').limitDevices('all');
    expect(calls).toEqual([]);
  });

  it('without the addon, rules are Unimplemented rather than silently not applied', async () => {
    await expect(new Cgroups('berth', { version: 2, root }).open('c1').limitDevices(DEFAULT_DEVICE_RULES)).rejects.toMatchObject({ kind: 'Unimplemented' });
  });

  it("the addon's failure keeps its kind, with what was being done", async () => {
    const native = { attachDeviceFilter: () => { throw new EngineError('PermissionDenied', "EPERM: operation not permitted, bpf BPF_PROG_LOAD '/x'"); } };
    await expect(new Cgroups('berth', { version: 2, root }, native).open('c1').limitDevices(DEFAULT_DEVICE_RULES)).rejects.toMatchObject({
      kind: 'PermissionDenied', message: "device filter: EPERM: operation not permitted, bpf BPF_PROG_LOAD '/x'",
    });
  });
});
