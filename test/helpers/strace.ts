// strace attached to a running berthd, for tests of what reaches the disk and in which order.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempRoot } from './daemon';

export const HAS_STRACE = spawnSync('strace', ['-V']).status === 0;

/** Every thread of pid has tracer as its TracerPid: strace is attached and sees each syscall from now on. */
function tracedBy(pid: number, tracer: number): boolean {
  return fs.readdirSync(`/proc/${pid}/task`).every((tid) => {
    const status = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    return Number(/^TracerPid:\s*(\d+)/m.exec(status)?.[1]) === tracer;
  });
}

/**
 * Runs fn with strace following pid and its threads for the given syscalls (fds shown with their paths:
 * `fsync(25</root/containers/ID/.config.json.tmp-...>)`); returns strace's lines, in the order they ran.
 */
export async function traceSyscalls(pid: number, syscalls: string[], fn: () => Promise<void>): Promise<string[]> {
  const dir = tempRoot();
  const out = path.join(dir, 'strace.out');
  const strace = spawn('strace', ['-f', '-qq', '-y', '-e', `trace=${syscalls.join(',')}`, '-o', out, '-p', String(pid)], { stdio: 'ignore' });
  try {
    for (const deadline = Date.now() + 10_000; !tracedBy(pid, strace.pid!);) {
      if (Date.now() > deadline) throw new Error('strace did not attach');
      await new Promise((r) => setTimeout(r, 20));
    }
    await fn();
  } finally {
    strace.kill('SIGINT');
    await new Promise((r) => strace.once('exit', r));
  }
  const lines = fs.readFileSync(out, 'utf8').split('\n');
  fs.rmSync(dir, { recursive: true, force: true });
  return lines;
}
