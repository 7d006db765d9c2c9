import { describe, expect, it } from 'vitest';
import {
  AUDIT_ARCH_X86_64,
  compileProfile,
  defaultProgram,
  DEFAULT_PROFILE,
  parseProfile,
  ProfileError,
  SECCOMP_OPS,
  SECCOMP_RET,
  unknownSyscalls,
  X32_SYSCALL_BIT,
  type SeccompOp,
  type SeccompProfile,
  type SeccompRule,
} from './seccomp';
import { Assembler, BPF_JEQ_K, BPF_JGT_K } from './bpf';
import { MAX_SYSCALL_X86_64, SYSCALLS_X86_64 } from './syscalls-x86_64';

// A classic BPF interpreter for what a seccomp filter may hold, with the kernel's load-time checks
// (bpf_check_classic + seccomp_check_filter): known opcodes only, jumps inside the program, aligned loads
// inside struct seccomp_data, a ret at the end, at most BPF_MAXINSNS instructions.

interface Insn { code: number; jt: number; jf: number; k: number }

const LD_W_ABS = 0x20, ALU_AND_K = 0x54, JA = 0x05, JEQ_K = 0x15, JGT_K = 0x25, JGE_K = 0x35, JSET_K = 0x45, RET_K = 0x06;
const SECCOMP_DATA_BYTES = 64;

function decode(program: Buffer): Insn[] {
  if (program.length === 0 || program.length % 8 !== 0) throw new Error(`program of ${program.length} bytes`);
  const insns: Insn[] = [];
  for (let at = 0; at < program.length; at += 8) {
    insns.push({ code: program.readUInt16LE(at), jt: program[at + 2], jf: program[at + 3], k: program.readUInt32LE(at + 4) });
  }
  return insns;
}

function verify(insns: Insn[]): void {
  if (insns.length > 4096) throw new Error(`${insns.length} instructions`);
  insns.forEach(({ code, jt, jf, k }, pc) => {
    const inside = (offset: number) => {
      if (pc + 1 + offset >= insns.length) throw new Error(`jump out of the program at ${pc}`);
    };
    switch (code) {
      case LD_W_ABS:
        if (k % 4 !== 0 || k >= SECCOMP_DATA_BYTES) throw new Error(`load of offset ${k} at ${pc}`);
        break;
      case ALU_AND_K:
      case RET_K:
        break;
      case JA:
        inside(k);
        break;
      case JEQ_K: case JGT_K: case JGE_K: case JSET_K:
        inside(jt);
        inside(jf);
        break;
      default:
        throw new Error(`unknown opcode 0x${code.toString(16)} at ${pc}`);
    }
  });
  if (insns[insns.length - 1].code !== RET_K) throw new Error('program does not end in ret');
}

function execute(insns: Insn[], data: Buffer): number {
  let a = 0;
  for (let pc = 0; ; pc++) {
    const { code, jt, jf, k } = insns[pc];
    switch (code) {
      case LD_W_ABS: a = data.readUInt32LE(k); break;
      case ALU_AND_K: a = (a & k) >>> 0; break;
      case JA: pc += k; break;
      case JEQ_K: pc += a === k ? jt : jf; break;
      case JGT_K: pc += a > k ? jt : jf; break;
      case JGE_K: pc += a >= k ? jt : jf; break;
      case JSET_K: pc += (a & k) !== 0 ? jt : jf; break;
      case RET_K: return k;
      default: throw new Error(`unknown opcode 0x${code.toString(16)}`);
    }
  }
}

/** struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]. */
function seccompData(nr: number, args: bigint[] = [], arch = AUDIT_ARCH_X86_64): Buffer {
  const data = Buffer.alloc(SECCOMP_DATA_BYTES);
  data.writeUInt32LE(nr >>> 0, 0);
  data.writeUInt32LE(arch, 4);
  data.writeBigUInt64LE(0x7f00_1234_5678n, 8);
  args.forEach((arg, i) => data.writeBigUInt64LE(arg, 16 + 8 * i));
  return data;
}

const verified = new WeakMap<Buffer, Insn[]>();
function insnsOf(program: Buffer): Insn[] {
  let insns = verified.get(program);
  if (!insns) {
    insns = decode(program);
    verify(insns);
    verified.set(program, insns);
  }
  return insns;
}

function nrOf(name: string): number {
  const nr = SYSCALLS_X86_64.get(name);
  if (nr === undefined) throw new Error(`no syscall ${name}`);
  return nr;
}

/** The filter's answer for syscall `call` (a name or a number) with `args`. */
function decide(program: Buffer, call: string | number, args: (bigint | number)[] = [], arch?: number): number {
  const nr = typeof call === 'number' ? call : nrOf(call);
  return execute(insnsOf(program), seccompData(nr, args.map(BigInt), arch));
}

const ALLOW = SECCOMP_RET.ALLOW;
const errno = (n: number) => (SECCOMP_RET.ERRNO | n) >>> 0;
const EPERM = errno(1);
const ENOSYS = errno(38);
const U64_MAX = (1n << 64n) - 1n;

/** Docker's default capability set, as src/security/capabilities.ts has it. */
const DOCKER_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_SYS_CHROOT', 'CAP_MKNOD', 'CAP_AUDIT_WRITE', 'CAP_SETFCAP',
];

function profileOf(syscalls: SeccompRule[], extra: Partial<SeccompProfile> = {}): SeccompProfile {
  return { defaultAction: 'SCMP_ACT_ERRNO', syscalls, ...extra };
}

describe('the interpreter', () => {
  const ret = (k: number) => [RET_K, 0, 0, k];
  const program = (...insns: number[][]) => {
    const out = Buffer.alloc(insns.length * 8);
    insns.forEach(([code, jt, jf, k], i) => {
      out.writeUInt16LE(code, i * 8);
      out[i * 8 + 2] = jt;
      out[i * 8 + 3] = jf;
      out.writeUInt32LE(k, i * 8 + 4);
    });
    return out;
  };

  it('runs loads, ANDs, jumps and returns', () => {
    const p = program([LD_W_ABS, 0, 0, 16], [ALU_AND_K, 0, 0, 0xf0], [JEQ_K, 0, 1, 0x30], ret(1), [JSET_K, 1, 0, 0x80], ret(2), ret(3));
    expect(decide(p, 0, [0x3fn])).toBe(1);
    expect(decide(p, 0, [0x8fn])).toBe(3);
    expect(decide(p, 0, [0x4fn])).toBe(2);
  });

  it.each([
    ['an unknown opcode', program([0x07, 0, 0, 0], ret(0))],
    ['a conditional jump past the end', program([JEQ_K, 1, 0, 0], ret(0))],
    ['a ja past the end', program([JA, 0, 0, 1], ret(0))],
    ['an unaligned load', program([LD_W_ABS, 0, 0, 2], ret(0))],
    ['a load past seccomp_data', program([LD_W_ABS, 0, 0, 64], ret(0))],
    ['no final ret', program(ret(0), [LD_W_ABS, 0, 0, 0])],
    ['an empty program', Buffer.alloc(0)],
  ])('rejects %s', (_, p) => expect(() => decide(p, 0)).toThrow());
});

describe('Assembler', () => {
  it.each([
    ['the true target', 300, 1],
    ['the false target', 1, 300],
    ['both targets', 300, 600],
    ['neither target', 10, 20],
  ])('reaches %s far away through a trampoline', (_, trueDistance, falseDistance) => {
    // A = arg 0; if (A == 7) ret 1 else ret 2, with each ret placed `distance` loads further on.
    const asm = new Assembler();
    const [whenTrue, whenFalse] = [asm.label(), asm.label()];
    asm.load(16);
    asm.jump(BPF_JEQ_K, 7, whenTrue, whenFalse);
    const targets = [[trueDistance, whenTrue, 1], [falseDistance, whenFalse, 2]].sort((a, b) => a[0] - b[0]);
    let at = 0;
    for (const [distance, label, k] of targets) {
      for (; at < distance; at++) asm.load(0);
      asm.place(label);
      asm.ret(k);
    }
    const program = asm.assemble();
    expect(decide(program, 0, [7])).toBe(1);
    expect(decide(program, 0, [8])).toBe(2);
    const jumps = insnsOf(program).filter((insn) => insn.code === JA);
    expect(jumps.length).toBe(Number(trueDistance > 255) + Number(falseDistance > 255));
  });

  it('refuses a label never placed', () => {
    const asm = new Assembler();
    asm.jump(BPF_JGT_K, 1, asm.label(), asm.label());
    expect(() => asm.assemble()).toThrow(/never placed/);
  });
});

describe('the default profile', () => {
  const plain = defaultProgram(DOCKER_CAPS);
  const admin = defaultProgram([...DOCKER_CAPS, 'CAP_SYS_ADMIN']);
  const THREAD_FLAGS = 0x3d0f00; // what glibc's pthread_create passes
  const SIGCHLD = 17;

  it('fits well under the kernel limit', () => {
    expect(plain.length / 8).toBeLessThan(256);
    expect(admin.length / 8).toBeLessThan(256);
  });

  it.each([
    'read', 'write', 'openat', 'close', 'execve', 'mmap', 'brk', 'getrandom', 'statx', 'rseq', 'membarrier',
    'close_range', 'faccessat2', 'epoll_pwait2', 'openat2', 'pidfd_open', 'pidfd_send_signal', 'wait4',
    'futex', 'set_robust_list', 'rt_sigaction', 'nanosleep', 'clock_nanosleep', 'connect', 'sendto', 'fork',
    'vfork', 'newfstatat', 'getdents64', 'prlimit64', 'sched_getaffinity', 'arch_prctl', 'setuid', 'chroot',
    'io_setup', 'seccomp', 'landlock_create_ruleset', 'memfd_create', 'capset', 'uname',
  ])('allows %s', (name) => expect(decide(plain, name)).toBe(ALLOW));

  it.each([
    'unshare', 'setns', 'mount', 'umount2', 'pivot_root', 'keyctl', 'add_key', 'request_key', 'bpf', 'ptrace',
    'kexec_load', 'kexec_file_load', 'reboot', 'init_module', 'finit_module', 'delete_module', 'swapon',
    'swapoff', 'acct', 'settimeofday', 'clock_settime', 'adjtimex', 'clock_adjtime', 'open_by_handle_at',
    'name_to_handle_at', 'perf_event_open', 'userfaultfd', 'lookup_dcookie', 'quotactl', 'iopl', 'ioperm',
    'create_module', 'get_kernel_syms', 'query_module', 'nfsservctl', 'uselib', 'io_uring_setup',
    'io_uring_enter', 'io_uring_register', 'fanotify_init', 'process_vm_readv', 'kcmp', 'syslog', 'mbind',
    'open_tree', 'fsopen', 'move_mount', 'sethostname', 'vhangup', '_sysctl',
  ])('refuses %s with EPERM', (name) => expect(decide(plain, name)).toBe(EPERM));

  it('allows clone for threads and processes', () => {
    expect(decide(plain, 'clone', [THREAD_FLAGS])).toBe(ALLOW);
    expect(decide(plain, 'clone', [SIGCHLD])).toBe(ALLOW);
    expect(decide(plain, 'clone', [0x1_0000_0000n | BigInt(SIGCHLD)])).toBe(ALLOW);
  });

  it.each([
    ['CLONE_NEWNS', 0x0002_0000], ['CLONE_NEWCGROUP', 0x0200_0000], ['CLONE_NEWUTS', 0x0400_0000],
    ['CLONE_NEWIPC', 0x0800_0000], ['CLONE_NEWUSER', 0x1000_0000], ['CLONE_NEWPID', 0x2000_0000],
    ['CLONE_NEWNET', 0x4000_0000],
  ])('refuses clone with %s unless CAP_SYS_ADMIN', (_, flag) => {
    expect(decide(plain, 'clone', [SIGCHLD | flag])).toBe(EPERM);
    expect(decide(plain, 'clone', [THREAD_FLAGS | flag])).toBe(EPERM);
    expect(decide(admin, 'clone', [SIGCHLD | flag])).toBe(ALLOW);
  });

  it('answers clone3 with ENOSYS, so libc falls back to clone, unless CAP_SYS_ADMIN', () => {
    expect(decide(plain, 'clone3')).toBe(ENOSYS);
    expect(decide(admin, 'clone3')).toBe(ALLOW);
  });

  it('allows every socket family but AF_VSOCK', () => {
    for (const family of [1, 2, 10, 16, 17]) expect(decide(plain, 'socket', [family])).toBe(ALLOW);
    expect(decide(plain, 'socket', [40])).toBe(EPERM);
    expect(decide(plain, 'socket', [0x1_0000_0028n])).toBe(ALLOW);
  });

  it('allows only the usual personality values', () => {
    for (const value of [0, 8, 0x20000, 0x20008, 0xffffffff]) expect(decide(plain, 'personality', [value])).toBe(ALLOW);
    for (const value of [1, 0x0040_0000, 0xffff_ffff_ffff_ffffn]) expect(decide(plain, 'personality', [value])).toBe(EPERM);
  });

  it.each<[string, string[]]>([
    ['CAP_SYS_ADMIN', ['mount', 'umount2', 'unshare', 'setns', 'pivot_root', 'bpf', 'quotactl', 'fsopen', 'sethostname']],
    ['CAP_SYS_PTRACE', ['ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd']],
    ['CAP_SYS_MODULE', ['init_module', 'finit_module', 'delete_module']],
    ['CAP_SYS_BOOT', ['reboot']],
    ['CAP_SYS_TIME', ['settimeofday', 'clock_settime', 'adjtimex', 'clock_adjtime']],
    ['CAP_SYS_PACCT', ['acct']],
    ['CAP_SYS_RAWIO', ['iopl', 'ioperm']],
    ['CAP_SYS_NICE', ['get_mempolicy', 'set_mempolicy', 'mbind']],
    ['CAP_SYSLOG', ['syslog']],
    ['CAP_DAC_READ_SEARCH', ['open_by_handle_at']],
  ])('%s opens its syscalls', (cap, names) => {
    const program = defaultProgram([cap]);
    for (const name of names) {
      expect(decide(plain, name), name).toBe(EPERM);
      expect(decide(program, name), name).toBe(ALLOW);
    }
  });

  it('needs CAP_SYS_CHROOT for chroot', () => {
    expect(decide(defaultProgram([]), 'chroot')).toBe(EPERM);
    expect(decide(defaultProgram(['sys_chroot']), 'chroot')).toBe(ALLOW);
  });

  it('keeps keyrings, kexec, swap and io_uring closed even with every capability', () => {
    const all = defaultProgram([...DOCKER_CAPS, 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO']);
    for (const name of ['keyctl', 'add_key', 'request_key', 'kexec_load', 'swapon', 'userfaultfd', 'io_uring_setup']) {
      expect(decide(all, name), name).toBe(EPERM);
    }
  });

  it('kills a call from another architecture (i386 through int 0x80)', () => {
    expect(decide(plain, 'read', [], 0x4000_0003)).toBe(SECCOMP_RET.KILL_PROCESS);
    expect(decide(plain, 'read', [], 0xc000_00b7)).toBe(SECCOMP_RET.KILL_PROCESS);
  });

  it('answers x32 calls with ENOSYS, even for syscalls x86_64 allows', () => {
    expect(decide(plain, X32_SYSCALL_BIT | nrOf('read'))).toBe(ENOSYS);
    expect(decide(plain, X32_SYSCALL_BIT | nrOf('mount'))).toBe(ENOSYS);
    expect(decide(plain, 0xffff_ffff)).toBe(ENOSYS);
  });

  it('answers syscalls the table lacks with ENOSYS, so libc falls back to older ones', () => {
    expect(decide(plain, MAX_SYSCALL_X86_64 + 1)).toBe(ENOSYS);
    expect(decide(plain, 1000)).toBe(ENOSYS);
    expect(decide(plain, 0x3fff_ffff)).toBe(ENOSYS);
    for (let nr = 0; nr <= MAX_SYSCALL_X86_64; nr++) {
      if (![...SYSCALLS_X86_64.values()].includes(nr)) expect(decide(plain, nr), `${nr}`).toBe(ENOSYS);
    }
  });

  it('lists the names newer than the table, and only those', () => {
    for (const name of unknownSyscalls(DEFAULT_PROFILE)) expect(SYSCALLS_X86_64.has(name)).toBe(false);
  });
});

describe('argument comparisons', () => {
  const VALUES = [
    0n, 1n, 0x7fff_ffffn, 0xffff_fffen, 0xffff_ffffn, 0x1_0000_0000n, 0x1_0000_0001n, 0x1_ffff_ffffn,
    0x2_0000_0000n, (1n << 53n) + 1n, 0x8000_0000_0000_0000n, U64_MAX - 1n, U64_MAX,
  ];
  const holds: Record<Exclude<SeccompOp, 'SCMP_CMP_MASKED_EQ'>, (arg: bigint, value: bigint) => boolean> = {
    SCMP_CMP_NE: (a, v) => a !== v,
    SCMP_CMP_LT: (a, v) => a < v,
    SCMP_CMP_LE: (a, v) => a <= v,
    SCMP_CMP_EQ: (a, v) => a === v,
    SCMP_CMP_GE: (a, v) => a >= v,
    SCMP_CMP_GT: (a, v) => a > v,
  };

  it.each(Object.keys(holds) as (keyof typeof holds)[])('%s compares all 64 bits', (op) => {
    for (const value of VALUES) {
      const program = compileProfile(
        profileOf([{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 2, value, op }] }]),
        { capabilities: [] },
      );
      for (const arg of VALUES) {
        const want = holds[op](arg, value) ? ALLOW : EPERM;
        expect(decide(program, 'read', [0n, 0n, arg]), `${arg} ${op} ${value}`).toBe(want);
      }
    }
  });

  it('SCMP_CMP_MASKED_EQ compares (arg & value) with valueTwo in both words', () => {
    const MASKS = [0n, 0xffn, 0x7e02_0000n, 0xffff_ffffn, 0xff_0000_0000n, 0xffff_ffff_0000_0000n, 0x1_0000_0001n, U64_MAX];
    const EXPECTED = [0n, 0x10n, 0x1_0000_0000n, 0x1_0000_0001n, 0xff_0000_0000n, 0x0200_0000n];
    for (const value of MASKS) {
      for (const valueTwo of EXPECTED) {
        const program = compileProfile(
          profileOf([{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 5, value, valueTwo, op: 'SCMP_CMP_MASKED_EQ' }] }]),
          { capabilities: [] },
        );
        for (const arg of [...VALUES, ...EXPECTED, 0x1_0200_0010n]) {
          const want = (arg & value) === valueTwo ? ALLOW : EPERM;
          expect(decide(program, 'read', [0n, 0n, 0n, 0n, 0n, arg]), `(${arg} & ${value}) == ${valueTwo}`).toBe(want);
        }
      }
    }
  });

  it('reads each argument index from its own slot', () => {
    for (let index = 0; index < 6; index++) {
      const program = compileProfile(
        profileOf([{ names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [{ index, value: 0x1_0000_0007n, op: 'SCMP_CMP_EQ' }] }]),
        { capabilities: [] },
      );
      const args = [0n, 1n, 2n, 3n, 4n, 5n];
      expect(decide(program, 'ioctl', args)).toBe(EPERM);
      args[index] = 0x1_0000_0007n;
      expect(decide(program, 'ioctl', args)).toBe(ALLOW);
      expect(decide(program, 'ioctl', args.map((a, i) => (i === index ? 7n : a)))).toBe(EPERM);
    }
  });

  it('ANDs the comparisons of one rule', () => {
    const program = compileProfile(
      profileOf([{
        names: ['mmap'], action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: 5, op: 'SCMP_CMP_GT' }, { index: 2, value: 4, op: 'SCMP_CMP_MASKED_EQ', valueTwo: 0 }],
      }]),
      { capabilities: [] },
    );
    expect(decide(program, 'mmap', [6, 0, 3])).toBe(ALLOW);
    expect(decide(program, 'mmap', [5, 0, 3])).toBe(EPERM);
    expect(decide(program, 'mmap', [6, 0, 7])).toBe(EPERM);
  });

  it('ORs the comparisons of a rule that names one index twice, as runc does', () => {
    const program = compileProfile(
      profileOf([{
        names: ['personality'], action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }, { index: 0, value: 8, op: 'SCMP_CMP_EQ' }],
      }]),
      { capabilities: [] },
    );
    expect(decide(program, 'personality', [0])).toBe(ALLOW);
    expect(decide(program, 'personality', [8])).toBe(ALLOW);
    expect(decide(program, 'personality', [4])).toBe(EPERM);
  });
});

describe('rules', () => {
  it('are tried in profile order: the first that matches decides', () => {
    const program = compileProfile(
      profileOf([
        { names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: 5, args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
        { names: ['read'], action: 'SCMP_ACT_TRAP', args: [{ index: 0, value: 2, op: 'SCMP_CMP_LE' }] },
        { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
        { names: ['read'], action: 'SCMP_ACT_KILL_PROCESS' },
      ]),
      { capabilities: [] },
    );
    expect(decide(program, 'read', [1])).toBe(errno(5));
    expect(decide(program, 'read', [0])).toBe(SECCOMP_RET.TRAP);
    expect(decide(program, 'read', [3])).toBe(ALLOW);
    expect(decide(program, 'write', [1])).toBe(ALLOW);
  });

  it.each<[SeccompRule['action'], number | undefined, number]>([
    ['SCMP_ACT_ALLOW', undefined, SECCOMP_RET.ALLOW],
    ['SCMP_ACT_ERRNO', undefined, errno(1)],
    ['SCMP_ACT_ERRNO', 0, errno(0)],
    ['SCMP_ACT_ERRNO', 4095, errno(4095)],
    ['SCMP_ACT_KILL', undefined, SECCOMP_RET.KILL_THREAD],
    ['SCMP_ACT_KILL_THREAD', undefined, SECCOMP_RET.KILL_THREAD],
    ['SCMP_ACT_KILL_PROCESS', undefined, SECCOMP_RET.KILL_PROCESS],
    ['SCMP_ACT_TRAP', undefined, SECCOMP_RET.TRAP],
    ['SCMP_ACT_TRACE', undefined, SECCOMP_RET.TRACE | 1],
    ['SCMP_ACT_TRACE', 0xffff, SECCOMP_RET.TRACE | 0xffff],
    ['SCMP_ACT_LOG', undefined, SECCOMP_RET.LOG],
  ])('%s (errnoRet %s) returns %i', (action, errnoRet, ret) => {
    const rule: SeccompRule = errnoRet === undefined ? { names: ['getpid'], action } : { names: ['getpid'], action, errnoRet };
    const asRule = compileProfile(profileOf([rule], { defaultAction: 'SCMP_ACT_ALLOW' }), { capabilities: [] });
    const asDefault = compileProfile({ defaultAction: action, defaultErrnoRet: errnoRet, syscalls: [] }, { capabilities: [] });
    expect(decide(asRule, 'getpid')).toBe(ret);
    expect(decide(asRule, 'getppid')).toBe(ALLOW);
    expect(decide(asDefault, 'getpid')).toBe(ret);
  });

  it('lets syscalls newer than the table through when the default allows them', () => {
    const program = compileProfile(profileOf([{ names: ['mount'], action: 'SCMP_ACT_ERRNO' }], { defaultAction: 'SCMP_ACT_ALLOW' }), { capabilities: [] });
    expect(decide(program, MAX_SYSCALL_X86_64 + 2)).toBe(ALLOW);
    expect(decide(program, 400)).toBe(ALLOW);
    expect(decide(program, 'mount')).toBe(EPERM);
    expect(decide(program, X32_SYSCALL_BIT | nrOf('mount'))).toBe(ENOSYS);
    const strict = compileProfile(profileOf([], { defaultAction: 'SCMP_ACT_KILL_PROCESS' }), { capabilities: [] });
    expect(decide(strict, MAX_SYSCALL_X86_64 + 2)).toBe(ENOSYS);
    expect(decide(strict, 'read')).toBe(SECCOMP_RET.KILL_PROCESS);
  });

  it('are chosen by capabilities, arch and kernel release as Docker chooses them', () => {
    const profile = profileOf([
      { names: ['read'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'] } },
      { names: ['write'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN', 'CAP_BPF'] } },
      { names: ['open'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm64', 'amd64'] } },
      { names: ['close'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm64', 'x32'] } },
      { names: ['stat'], action: 'SCMP_ACT_ALLOW', excludes: { arches: ['amd64'] } },
      { names: ['fstat'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '5.10' } },
      { names: ['lstat'], action: 'SCMP_ACT_ALLOW', excludes: { minKernel: '5.10' } },
      { names: ['poll'], action: 'SCMP_ACT_ALLOW', includes: {}, excludes: { arches: [] } },
    ]);
    const answers = (capabilities: string[], kernelRelease?: string) => {
      const program = compileProfile(profile, { capabilities, kernelRelease });
      return ['read', 'write', 'open', 'close', 'stat', 'fstat', 'lstat', 'poll'].map((name) => decide(program, name) === ALLOW);
    };
    expect(answers([])).toEqual([false, true, true, false, false, true, false, true]);
    expect(answers(['CAP_SYS_ADMIN'])).toEqual([false, false, true, false, false, true, false, true]);
    expect(answers(['net_admin', 'CAP_SYS_ADMIN'])).toEqual([true, false, true, false, false, true, false, true]);
    expect(answers([], '5.4.0-150-generic')).toEqual([false, true, true, false, false, false, true, true]);
    expect(answers([], '5.10.0')).toEqual([false, true, true, false, false, true, false, true]);
    expect(() => compileProfile(profile, { capabilities: [], kernelRelease: 'unknown' })).toThrow(/kernelRelease "unknown"/);
  });

  it('skips syscall names the table does not know, as libseccomp does', () => {
    const profile = parseProfile('{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["no_such_call","read"],"action":"SCMP_ACT_ALLOW"}]}');
    expect(unknownSyscalls(profile)).toEqual(['no_such_call']);
    expect(decide(compileProfile(profile, { capabilities: [] }), 'read')).toBe(ALLOW);
  });

  it('work across jumps longer than 255 instructions', () => {
    // Every syscall gets its own rule with a 64-bit comparison, so no two share a block and the search
    // tree's jumps to the blocks at the end span thousands of instructions.
    const names = [...SYSCALLS_X86_64.keys()];
    const valueOf = (nr: number) => (BigInt(nr) << 32n) | 0xabcdn;
    const profile = profileOf(names.map((name) => ({
      names: [name],
      action: 'SCMP_ACT_ALLOW' as const,
      args: [{ index: 1, value: valueOf(nrOf(name)), op: 'SCMP_CMP_EQ' as const }],
    })));
    const program = compileProfile(profile, { capabilities: [] });
    const insns = insnsOf(program);
    expect(insns.length).toBeGreaterThan(1000);
    expect(insns.length).toBeLessThanOrEqual(4096);
    expect(insns.some((insn) => insn.code === JA && insn.k > 255)).toBe(true);
    for (const name of names) {
      const nr = nrOf(name);
      expect(decide(program, nr, [0, valueOf(nr)]), name).toBe(ALLOW);
      expect(decide(program, nr, [0, valueOf(nr) + 1n]), name).toBe(EPERM);
      expect(decide(program, nr, [0, valueOf(nr + 1)]), name).toBe(EPERM);
    }
  });

  it('refuses a profile that compiles to more than 4096 instructions', () => {
    // Distinct values per syscall, so that no two share a block.
    const argsOf = (nr: number) => [0, 1, 2, 3, 4, 5].map((index) => ({ index, value: nr * 8 + index, op: 'SCMP_CMP_LT' as const }));
    const profile = profileOf([...SYSCALLS_X86_64.entries()].map(([name, nr]) => ({ names: [name], action: 'SCMP_ACT_ALLOW' as const, args: argsOf(nr) })));
    expect(() => compileProfile(profile, { capabilities: [] })).toThrow(/syscalls: compiles to \d+ BPF instructions, above the kernel's 4096/);
  });
});

describe('parseProfile', () => {
  const rule = (fields: string) => `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"},${fields}]}`;

  it('reads the Docker format, legacy name included, with u64 values intact', () => {
    const profile = parseProfile(`{
      "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
      "archMap": [
        { "architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] },
        { "architecture": "SCMP_ARCH_RISCV64", "subArchitectures": null }
      ],
      "syscalls": [
        { "name": "write", "action": "SCMP_ACT_ALLOW", "args": null, "comment": "legacy" },
        { "names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [
          { "index": 0, "value": 18446744073709551615, "valueTwo": 0, "op": "SCMP_CMP_EQ" },
          { "index": 1, "value": 9007199254740993, "op": "SCMP_CMP_GE" } ],
          "includes": { "caps": ["CAP_SYS_ADMIN"], "arches": ["amd64"], "minKernel": "4.8" }, "excludes": {} }
      ]
    }`);
    expect(profile).toEqual({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      archMap: [
        { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
        { architecture: 'SCMP_ARCH_RISCV64' },
      ],
      syscalls: [
        { names: ['write'], action: 'SCMP_ACT_ALLOW', comment: 'legacy' },
        {
          names: ['read'], action: 'SCMP_ACT_ALLOW',
          args: [
            { index: 0, value: U64_MAX, valueTwo: 0n, op: 'SCMP_CMP_EQ' },
            { index: 1, value: (1n << 53n) + 1n, valueTwo: 0n, op: 'SCMP_CMP_GE' },
          ],
          includes: { caps: ['CAP_SYS_ADMIN'], arches: ['amd64'], minKernel: '4.8' },
          excludes: {},
        },
      ],
    });
    const program = compileProfile(profile, { capabilities: ['CAP_SYS_ADMIN'] });
    expect(decide(program, 'read', [U64_MAX, 1n << 53n])).toBe(EPERM);
    expect(decide(program, 'read', [U64_MAX, (1n << 53n) + 1n])).toBe(ALLOW);
    expect(decide(program, 'read', [U64_MAX - 1n, (1n << 53n) + 1n])).toBe(EPERM);
  });

  it('accepts the default profile as JSON', () => {
    const json = JSON.stringify(DEFAULT_PROFILE);
    expect(compileProfile(parseProfile(json), { capabilities: [] })).toEqual(defaultProgram([]));
  });

  it.each([
    ['not json', 'profile: invalid JSON at offset 0: unexpected "n"'],
    ['{"defaultAction":"SCMP_ACT_ALLOW"} x', 'profile: invalid JSON at offset 35: unexpected text after the value'],
    ['[]', 'profile: expected an object, got an array'],
    ['{"syscalls":[]}', 'defaultAction: expected a string, got nothing'],
    ['{"defaultAction":"SCMP_ACT_DENY"}', 'defaultAction: unknown action "SCMP_ACT_DENY"'],
    ['{"defaultAction":"SCMP_ACT_NOTIFY"}', 'defaultAction: SCMP_ACT_NOTIFY is not supported'],
    ['{"defaultAction":"SCMP_ACT_ALLOW","defaultErrnoRet":1}', 'defaultErrnoRet: set for SCMP_ACT_ALLOW; only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one'],
    ['{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":4096}', 'defaultErrnoRet: expected an integer in 0..4095, got 4096'],
    ['{"defaultAction":"SCMP_ACT_ALLOW","defaultAction2":1}', 'defaultAction2: unknown field'],
    ['{"defaultAction":"SCMP_ACT_ALLOW","constructor":1}', 'constructor: unknown field'],
    ['{"defaultAction":"SCMP_ACT_ALLOW","__proto__":{}}', '__proto__: unknown field'],
    ['{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG"]}', 'flags: seccomp filter flags are not supported'],
    ['{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_VAX"]}', 'architectures[0]: unknown architecture "SCMP_ARCH_VAX"'],
    ['{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}', 'archMap: set with architectures; use one of them'],
    ['{"defaultAction":"SCMP_ACT_ALLOW","syscalls":{}}', 'syscalls: expected an array, got an object'],
    [rule('{"names":["read"],"action":"SCMP_ACT_ALLOW","exclude":{}}'), 'syscalls[1].exclude: unknown field'],
    [rule('{"action":"SCMP_ACT_ALLOW"}'), 'syscalls[1].names: missing'],
    [rule('{"names":[],"action":"SCMP_ACT_ALLOW"}'), 'syscalls[1].names: empty'],
    [rule('{"name":"read","names":["read"],"action":"SCMP_ACT_ALLOW"}'), 'syscalls[1]: both name and names are set; use names'],
    [rule('{"names":["read",7],"action":"SCMP_ACT_ALLOW"}'), 'syscalls[1].names[1]: expected a string, got 7'],
    [rule('{"names":["read",""],"action":"SCMP_ACT_ALLOW"}'), 'syscalls[1].names[1]: empty syscall name'],
    [rule('{"names":["Read me"],"action":"SCMP_ACT_ALLOW"}'), 'syscalls[1].names[0]: malformed syscall name "Read me"'],
    [rule('{"name":null,"names":null,"action":"SCMP_ACT_ALLOW"}'), 'syscalls[1].names: missing'],
    [rule('{"names":["read"],"action":"allow"}'), 'syscalls[1].action: unknown action "allow"'],
    [rule('{"names":["read"],"action":"SCMP_ACT_ALLOW","errnoRet":1}'), 'syscalls[1].errnoRet: set for SCMP_ACT_ALLOW; only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one'],
    [rule('{"names":["read"],"action":"SCMP_ACT_TRACE","errnoRet":65536}'), 'syscalls[1].errnoRet: expected an integer in 0..65535, got 65536'],
    [rule('{"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":-1}'), 'syscalls[1].errnoRet: expected an integer in 0..4095, got -1'],
    [rule('{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":6,"value":0,"op":"SCMP_CMP_EQ"}]}'), 'syscalls[1].args[0].index: expected an integer in 0..5, got 6'],
    [rule('{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":0,"op":"SCMP_CMP_BETWEEN"}]}'), 'syscalls[1].args[0].op: unknown comparison "SCMP_CMP_BETWEEN"'],
    [rule('{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"op":"SCMP_CMP_EQ"}]}'), 'syscalls[1].args[0].value: expected an integer in 0..2^64-1, got nothing'],
    [rule('{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":-1,"op":"SCMP_CMP_EQ"}]}'), 'syscalls[1].args[0].value: expected an integer in 0..2^64-1, got -1'],
    [rule('{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":18446744073709551616,"op":"SCMP_CMP_EQ"}]}'), 'syscalls[1].args[0].value: expected an integer in 0..2^64-1, got 18446744073709551616'],
    [rule('{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1.5,"op":"SCMP_CMP_EQ"}]}'), 'syscalls[1].args[0].value: expected an integer in 0..2^64-1, got 1.5'],
    [rule('{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":"1","op":"SCMP_CMP_EQ"}]}'), 'syscalls[1].args[0].value: expected an integer in 0..2^64-1, got "1"'],
    [rule('{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"valueTwo":true,"op":"SCMP_CMP_EQ"}]}'), 'syscalls[1].args[0].valueTwo: expected an integer in 0..2^64-1, got true'],
    [rule('{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ","why":1}]}'), 'syscalls[1].args[0].why: unknown field'],
    [rule('{"names":["read"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["SYS_ADMIN"]}}'), 'syscalls[1].includes.caps[0]: malformed capability "SYS_ADMIN"'],
    [rule('{"names":["read"],"action":"SCMP_ACT_ALLOW","excludes":{"arches":["x86_64"]}}'), 'syscalls[1].excludes.arches[0]: unknown architecture "x86_64"'],
    [rule('{"names":["read"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"4"}}'), 'syscalls[1].includes.minKernel: malformed kernel release "4"'],
    [rule('{"names":["read"],"action":"SCMP_ACT_ALLOW","includes":[]}'), 'syscalls[1].includes: expected an object, got an array'],
  ])('refuses %s naming the field', (text, message) => {
    let caught: unknown;
    try {
      parseProfile(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ProfileError);
    expect((caught as ProfileError).message).toBe(message);
    expect((caught as ProfileError).kind).toBe('InvalidArgument');
  });

  it('checks a profile built in code when compiling it', () => {
    const bad = profileOf([{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2 ** 60, op: 'SCMP_CMP_EQ' }] }]);
    expect(() => compileProfile(bad, { capabilities: [] })).toThrow(
      `syscalls[0].args[0].value: expected an integer in 0..2^64-1, got ${2 ** 60} (above 2^53 write it as a bigint)`,
    );
    const op = 'SCMP_CMP_SOMETIMES' as SeccompOp;
    expect(() => compileProfile(profileOf([{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op }] }]), { capabilities: [] }))
      .toThrow('syscalls[0].args[0].op: unknown comparison "SCMP_CMP_SOMETIMES"');
  });

  it('knows every op the compiler does', () => {
    expect([...SECCOMP_OPS].sort()).toEqual(['SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_LE', 'SCMP_CMP_LT', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_NE']);
  });
});
