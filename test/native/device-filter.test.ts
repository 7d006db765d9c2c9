// attachDeviceFilter for real: a cgroup v2 directory gets the compiled default rules, and a process
// moved into it may open /dev/full but not a kmsg node it made itself. Root and a cgroup2 mount only
// (on a hybrid host, the v1 devices controller of the test process is its root cgroup's: it allows all).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileDeviceFilter, encodeInsns, OP } from '../../src/cgroups/device-filter';
import { AddonNative } from '../../src/native/addon';
import { DEFAULT_DEVICE_RULES } from '../../src/security/devices';

const addon = createRequire(__filename)(path.resolve(__dirname, '../../build/Release/berth.node')) as {
  attachDeviceFilter(dir: unknown, program: unknown): void;
};

function cgroup2Mount(): string | undefined {
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash > 0 && fields[dash + 1] === 'cgroup2') return fields[4];
  }
  return undefined;
}

const UNIFIED = cgroup2Mount();
const IS_ROOT = process.getuid?.() === 0;

function thrown(fn: () => unknown): Error & Record<string, unknown> {
  try {
    fn();
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected a throw');
}

/** What the probe does once inside: each access's outcome, 'ok' or the errno code. */
const PROBE = `
const fs = require('node:fs');
const dir = process.argv[1];
const out = {};
const tryIt = (name, fn) => { try { fn(); out[name] = 'ok'; } catch (err) { out[name] = err.code; } };
const open = (p, flags) => fs.closeSync(fs.openSync(p, flags));
process.stdin.once('data', () => {
  tryIt('read /dev/full', () => open('/dev/full', fs.constants.O_RDONLY));
  tryIt('write /dev/null', () => open('/dev/null', fs.constants.O_WRONLY));
  tryIt('mknod c 1:11', () => require('node:child_process').execFileSync('mknod', [dir + '/kmsg', 'c', '1', '11']));
  tryIt('write c 1:11', () => open(dir + '/kmsg', fs.constants.O_WRONLY));
  tryIt('read c 1:11', () => open(dir + '/kmsg', fs.constants.O_RDONLY));
  tryIt('mknod b 8:0', () => require('node:child_process').execFileSync('mknod', [dir + '/sda', 'b', '8', '0']));
  tryIt('read b 8:0', () => open(dir + '/sda', fs.constants.O_RDONLY | fs.constants.O_NONBLOCK));
  process.stdout.write(JSON.stringify(out));
  process.stdin.destroy();
});
`;

/** Starts the probe, moves it into cgroupDir (when given), lets it run and returns what it saw. */
async function probe(cgroupDir: string | undefined, nodesDir: string): Promise<Record<string, string>> {
  fs.rmSync(nodesDir, { recursive: true, force: true });
  fs.mkdirSync(nodesDir);
  const child = spawn(process.execPath, ['-e', PROBE, nodesDir], { stdio: ['pipe', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (cgroupDir) fs.writeFileSync(path.join(cgroupDir, 'cgroup.procs'), String(child.pid));
  child.stdin.write('go\n');
  expect(await exited).toBe(0);
  return JSON.parse(stdout) as Record<string, string>;
}

describe.skipIf(!IS_ROOT || !UNIFIED)('attachDeviceFilter on a cgroup v2 directory', () => {
  const native = new AddonNative();
  const cgroupDir = path.join(UNIFIED ?? '/', `berth-devfilter-${process.pid}`);
  let nodes = '';

  beforeAll(() => {
    nodes = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-devfilter-'));
    fs.mkdirSync(cgroupDir);
  });

  afterAll(async () => {
    fs.rmSync(nodes, { recursive: true, force: true });
    // The probes have exited and been reaped; the kernel may take a moment to empty the cgroup.
    for (let i = 0; ; i++) {
      try {
        fs.rmdirSync(cgroupDir);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        if (i >= 50) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  });

  it('outside the cgroup, the same accesses pass the device checks', async () => {
    const seen = await probe(undefined, path.join(nodes, 'outside'));
    expect(seen['write c 1:11']).toBe('ok');
    // No disk 8:0 on many hosts: the open gets as far as the driver (ENXIO), past the device cgroup.
    expect(['ok', 'ENXIO', 'ENODEV', 'ENOMEDIUM']).toContain(seen['read b 8:0']);
  });

  it('the default rules: standard nodes and mknod pass; other nodes are EPERM', async () => {
    native.attachDeviceFilter(cgroupDir, compileDeviceFilter(DEFAULT_DEVICE_RULES));
    expect(await probe(cgroupDir, path.join(nodes, 'default'))).toEqual({
      'read /dev/full': 'ok', 'write /dev/null': 'ok',
      'mknod c 1:11': 'ok', 'write c 1:11': 'EPERM', 'read c 1:11': 'EPERM',
      'mknod b 8:0': 'ok', 'read b 8:0': 'EPERM',
    });
  });

  it('attaching again replaces the program: allow-all then lets kmsg be opened', async () => {
    native.attachDeviceFilter(cgroupDir, compileDeviceFilter('all'));
    const seen = await probe(cgroupDir, path.join(nodes, 'replaced'));
    expect(seen['write c 1:11']).toBe('ok');
  });

  it('a program the verifier refuses is EINVAL quoting the verifier log', () => {
    // r0 = 1 and no exit: the verifier sees the program fall off its end.
    const bad = encodeInsns([{ code: OP.ALU_MOV_K, dst: 0, src: 0, off: 0, imm: 1 }]);
    const err = thrown(() => addon.attachDeviceFilter(cgroupDir, bad));
    expect(err).toMatchObject({ code: 'EINVAL', errno: 22, syscall: 'bpf', command: 'BPF_PROG_LOAD', path: cgroupDir });
    expect(err.message).toMatch(/^EINVAL: invalid argument, bpf BPF_PROG_LOAD '.*': verifier: .+/);
    expect(typeof err.verifierLog).toBe('string');
    expect(err.message).toContain(String(err.verifierLog).trim().split('\n').pop());
  });

  it('a directory outside cgroupfs fails with the bpf command that refused it', () => {
    const err = thrown(() => addon.attachDeviceFilter(nodes, compileDeviceFilter(DEFAULT_DEVICE_RULES)));
    expect(err).toMatchObject({ syscall: 'bpf', path: nodes });
    expect(typeof err.code).toBe('string');
  });

  it('a missing directory is ENOENT from open', () => {
    const missing = path.join(nodes, 'missing');
    expect(thrown(() => addon.attachDeviceFilter(missing, compileDeviceFilter([])))).toMatchObject({ code: 'ENOENT', syscall: 'open', path: missing });
  });
});

describe('attachDeviceFilter arguments', () => {
  it.each<[string, unknown[]]>([
    ['no arguments', []],
    ['a program that is not a Buffer', ['/sys/fs/cgroup', 'x']],
    ['a program that is not whole instructions', ['/sys/fs/cgroup', Buffer.alloc(12)]],
    ['an empty program', ['/sys/fs/cgroup', Buffer.alloc(0)]],
    ['a program over 4096 instructions', ['/sys/fs/cgroup', Buffer.alloc(4097 * 8)]],
  ])('%s is a TypeError', (_, args) => {
    expect(() => (addon.attachDeviceFilter as (...a: unknown[]) => void)(...args)).toThrow(TypeError);
  });
});
