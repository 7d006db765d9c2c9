// A classic BPF assembler for seccomp filters: forward jumps to labels, encoded as struct sock_filter (8 bytes:
// u16 code, u8 jt, u8 jf, u32 k, little-endian). jt/jf reach 255 instructions at most, so a conditional jump
// whose target lies further away gets a trampoline: an unconditional `ja`, whose 32-bit k reaches anywhere.

/** The opcodes seccomp.ts emits (linux/bpf_common.h); seccomp's checker allows all of them. */
export const BPF_LD_W_ABS = 0x20;
export const BPF_ALU_AND_K = 0x54;
export const BPF_JA = 0x05;
export const BPF_JEQ_K = 0x15;
export const BPF_JGT_K = 0x25;
export const BPF_JGE_K = 0x35;
export const BPF_RET_K = 0x06;
/** BPF_MAXINSNS: the kernel refuses longer filters with EINVAL. */
export const BPF_MAX_INSNS = 4096;

export type Label = number;
export type CondOp = typeof BPF_JEQ_K | typeof BPF_JGT_K | typeof BPF_JGE_K;

type Item =
  | { kind: 'place'; label: Label }
  | { kind: 'stmt'; code: number; k: number }
  | { kind: 'ja'; target: Label }
  | { kind: 'cond'; code: CondOp; k: number; whenTrue: Label; whenFalse: Label; farTrue: boolean; farFalse: boolean };

const MAX_SHORT_JUMP = 255;

/** Instructions in order; only forward jumps, which is all the kernel accepts. */
export class Assembler {
  private readonly items: Item[] = [];
  private labels = 0;

  label(): Label {
    return this.labels++;
  }

  /** The next instruction emitted is `label`'s target. */
  place(label: Label): void {
    this.items.push({ kind: 'place', label });
  }

  /** A = the 32-bit word at `offset` in struct seccomp_data. */
  load(offset: number): void {
    this.items.push({ kind: 'stmt', code: BPF_LD_W_ABS, k: offset });
  }

  and(k: number): void {
    this.items.push({ kind: 'stmt', code: BPF_ALU_AND_K, k });
  }

  ret(k: number): void {
    this.items.push({ kind: 'stmt', code: BPF_RET_K, k });
  }

  goto(target: Label): void {
    this.items.push({ kind: 'ja', target });
  }

  /** if (A <op> k) goto whenTrue else goto whenFalse; comparisons are unsigned. */
  jump(code: CondOp, k: number, whenTrue: Label, whenFalse: Label): void {
    this.items.push({ kind: 'cond', code, k, whenTrue, whenFalse, farTrue: false, farFalse: false });
  }

  /**
   * The program as struct sock_filter[]. Layout repeats until stable: each pass gives a trampoline to every
   * conditional jump found too long, which only moves code further apart, so the passes end.
   */
  assemble(): Buffer {
    let positions = this.layout();
    while (this.markFarJumps(positions)) positions = this.layout();
    const out = Buffer.alloc(positions.length * 8);
    let pc = 0;
    const put = (code: number, jt: number, jf: number, k: number) => {
      out.writeUInt16LE(code, pc * 8);
      out.writeUInt8(jt, pc * 8 + 2);
      out.writeUInt8(jf, pc * 8 + 3);
      out.writeUInt32LE(k >>> 0, pc * 8 + 4);
      pc++;
    };
    for (const item of this.items) {
      if (item.kind === 'stmt') put(item.code, 0, 0, item.k);
      if (item.kind === 'ja') put(BPF_JA, 0, 0, this.offset(positions, pc, item.target));
      if (item.kind !== 'cond') continue;
      const at = pc;
      const trampolines = Number(item.farTrue) + Number(item.farFalse);
      // A far target is reached through the trampoline right after the jump; a near one directly.
      const jt = item.farTrue ? 0 : this.offset(positions, at, item.whenTrue);
      const jf = item.farFalse ? trampolines - 1 : this.offset(positions, at, item.whenFalse);
      put(item.code, jt, jf, item.k);
      if (item.farTrue) put(BPF_JA, 0, 0, this.offset(positions, pc, item.whenTrue));
      if (item.farFalse) put(BPF_JA, 0, 0, this.offset(positions, pc, item.whenFalse));
    }
    return out;
  }

  /** Instructions between the one after `pc` and `target`: what jt, jf and ja's k hold. */
  private offset(positions: Layout, pc: number, target: Label): number {
    const to = positions.labels.get(target);
    if (to === undefined) throw new Error(`bpf: label ${target} never placed`);
    const offset = to - pc - 1;
    if (offset < 0) throw new Error(`bpf: backward jump from ${pc} to ${to}`);
    return offset;
  }

  private layout(): Layout {
    const labels = new Map<Label, number>();
    let pc = 0;
    for (const item of this.items) {
      if (item.kind === 'place') labels.set(item.label, pc);
      else pc += item.kind === 'cond' ? 1 + Number(item.farTrue) + Number(item.farFalse) : 1;
    }
    return { labels, length: pc };
  }

  /** True when some jump was newly found too long for jt/jf. */
  private markFarJumps(positions: Layout): boolean {
    let changed = false;
    let pc = 0;
    for (const item of this.items) {
      if (item.kind === 'place') continue;
      if (item.kind !== 'cond') {
        pc++;
        continue;
      }
      // Offsets are measured in the layout as it was, so the size is taken before marking.
      const size = 1 + Number(item.farTrue) + Number(item.farFalse);
      if (!item.farTrue && this.offset(positions, pc, item.whenTrue) > MAX_SHORT_JUMP) item.farTrue = changed = true;
      if (!item.farFalse && this.offset(positions, pc, item.whenFalse) > MAX_SHORT_JUMP) item.farFalse = changed = true;
      pc += size;
    }
    return changed;
  }
}

interface Layout {
  labels: Map<Label, number>;
  length: number;
}
