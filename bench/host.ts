// Host helpers for the benchmarks: running commands and timing them, reading a process's memory,
// and removing what a run leaves behind (cgroups, mounts).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export class CommandError extends Error {
  constructor(readonly argv: string[], readonly status: number | null, readonly stderr: string) {
    super(`${argv.join(' ')}: exit ${status}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    this.name = 'CommandError';
  }
}

/** Runs argv to its end with stdin and stdout on /dev/null; resolves with its wall time in ms, rejects on a non-zero exit. */
export function timed(argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (status) => (status === 0 ? resolve(performance.now() - t0) : reject(new CommandError(argv, status, stderr))));
  });
}

/** Runs argv to its end and returns its stdout; throws CommandError on a non-zero exit. */
export function output(argv: string[], opts: { timeoutMs?: number } = {}): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000 });
  if (r.error) throw new CommandError(argv, null, r.error.message);
  if (r.status !== 0) throw new CommandError(argv, r.status, r.stderr);
  return r.stdout;
}

/** The first line of what a failed command said, for "skipped because" lines. */
export function reason(err: unknown): string {
  if (err instanceof CommandError) return err.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit ${err.status}`;
  return err instanceof Error ? err.message : String(err);
}

/** The absolute path of a command on PATH, or undefined. */
export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir, name);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* not here */ }
  }
  return undefined;
}

function statusField(file: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(fs.readFileSync(file, 'utf8'));
  if (!m) throw new Error(`${file}: no ${field}`);
  return Number(m[1]);
}

/** Resident set of a process, KiB. */
export function rssKiB(pid: number): number {
  return statusField(`/proc/${pid}/status`, 'VmRSS');
}

/** Proportional set (shared pages divided among their users), KiB. */
export function pssKiB(pid: number): number {
  return statusField(`/proc/${pid}/smaps_rollup`, 'Pss');
}

export function parentPid(pid: number): number {
  return statusField(`/proc/${pid}/status`, 'PPid');
}

/** Mount points at or under dir, deepest last (as /proc/self/mountinfo lists them). */
export function mountsUnder(dir: string): string[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4])
    .filter((m) => m && (m === dir || m.startsWith(`${dir}/`)));
}

/** Unmounts whatever is left under dir, deepest first, and removes it. */
export function removeTree(dir: string): void {
  for (const m of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', m]);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Removes a cgroup and everything under it, in every hierarchy (v1 and the v2 one); busy ones stay and are returned. */
export function removeCgroup(name: string): string[] {
  const busy: string[] = [];
  const rmdirDeep = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmdirDeep(path.join(dir, e.name));
    try { fs.rmdirSync(dir); } catch { busy.push(dir); }
  };
  for (const hierarchy of ['', ...fs.readdirSync('/sys/fs/cgroup')]) {
    const dir = path.join('/sys/fs/cgroup', hierarchy, name);
    if (fs.existsSync(dir) && fs.statSync(dir).isDirectory()) rmdirDeep(dir);
  }
  return busy;
}

/** Runs fn over items with at most `limit` at a time. */
export async function inBatches<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuTicks(): Map<number, { comm: string; ticks: number }> {
  const out = new Map<number, { comm: string; ticks: number }>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // comm may hold spaces and parentheses: the fields after it start past the last ')'.
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      out.set(Number(name), { comm: stat.slice(stat.indexOf('(') + 1, close), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch { /* exited while we read */ }
  }
  return out;
}

/** Processes other than ours that used more than minPercent of a core over the next ms, busiest first. */
export async function busyProcesses(ms = 1000, minPercent = 10): Promise<string[]> {
  const a = cpuTicks();
  await sleep(ms);
  const b = cpuTicks();
  const hz = 100; // USER_HZ: 100 on every Linux we run on
  const busy: [number, string][] = [];
  for (const [pid, { comm, ticks }] of b) {
    const before = a.get(pid);
    if (!before || pid === process.pid) continue;
    const percent = (((ticks - before.ticks) / hz) / (ms / 1000)) * 100;
    if (percent >= minPercent) busy.push([percent, `${comm} ${percent.toFixed(0)}%`]);
  }
  return busy.sort((x, y) => y[0] - x[0]).map(([, s]) => s);
}

/** 'v2', 'hybrid' (v1 controllers and a v2 mount at /sys/fs/cgroup/unified) or 'v1'. */
export function cgroupLayout(): string {
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => {
    const [pre, post] = l.split(' - ');
    return { point: pre?.split(' ')[4], type: post?.split(' ')[0] };
  });
  if (mounts.some((m) => m.point === '/sys/fs/cgroup' && m.type === 'cgroup2')) return 'v2';
  return mounts.some((m) => m.type === 'cgroup2') ? 'hybrid' : 'v1';
}

/** Pids of processes (other than ours) whose command line contains text. */
export function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text)) pids.push(Number(name));
    } catch { /* exited while we read */ }
  }
  return pids;
}

/** Waits up to ms for every process mentioning text to exit; returns the ones still there. */
export async function waitGone(text: string, ms: number): Promise<number[]> {
  const deadline = performance.now() + ms;
  for (;;) {
    const left = processesMentioning(text);
    if (!left.length || performance.now() > deadline) return left;
    await sleep(50);
  }
}
