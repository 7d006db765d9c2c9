// Test harness for berth-monitor: builds a busybox rootfs and spec.json in a temp dir,
// spawns the monitor with fd 3 as the handshake socket, and reads its JSON lines.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';

export const MONITOR = path.resolve(__dirname, '../../build/Release/berth-monitor');
const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'echo', 'cat', 'ls', 'hostname', 'id', 'sleep', 'printf', 'head', 'dd', 'tr', 'kill',
  'stty', 'readlink', 'pwd', 'env', 'true', 'seq', 'stat', 'grep', 'mkdir', 'touch', 'wc'];

/** The time of the exit file, as every JSON-lines client gets it in the monitor's last word. */
export const FINISHED_AT = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);

export type Msg = Record<string, unknown> & { type: string };

export function canRunContainers(): boolean {
  return process.getuid?.() === 0 && fs.existsSync(BUSYBOX) && fs.existsSync(MONITOR);
}

export function baseSpec(dir: string, rootfs: string, args: string[]): Record<string, unknown> {
  const id = 'a'.repeat(64);
  const dev = (p: string, major: number, minor: number) => ({ path: p, type: 'c', major, minor, mode: 0o666, uid: 0, gid: 0 });
  return {
    id, rootfs, args,
    env: ['PATH=/usr/bin:/bin', 'HOSTNAME=berthtest'],
    cwd: '/',
    user: { uid: 0, gid: 0, additionalGids: [] },
    hostname: 'berthtest',
    domainname: '',
    mounts: [
      { source: 'proc', target: '/proc', fstype: 'proc', flags: ['nosuid', 'nodev', 'noexec'], data: '', kind: 'dir' },
      { source: 'sysfs', target: '/sys', fstype: 'sysfs', flags: ['nosuid', 'nodev', 'noexec', 'ro'], data: '', kind: 'dir' },
      { source: 'tmpfs', target: '/dev', fstype: 'tmpfs', flags: ['nosuid'], data: 'mode=755,size=65536k', kind: 'dir' },
      { source: 'devpts', target: '/dev/pts', fstype: 'devpts', flags: ['nosuid', 'noexec'], data: 'newinstance,ptmxmode=0666,mode=0620', kind: 'dir' },
      { source: 'shm', target: '/dev/shm', fstype: 'tmpfs', flags: ['nosuid', 'nodev', 'noexec'], data: 'mode=1777,size=65536k', kind: 'dir' },
    ],
    devices: [dev('/dev/null', 1, 3), dev('/dev/zero', 1, 5), dev('/dev/full', 1, 7), dev('/dev/random', 1, 8),
      dev('/dev/urandom', 1, 9), dev('/dev/tty', 5, 0)],
    symlinks: [
      { target: '/proc/self/fd', path: '/dev/fd' }, { target: '/proc/self/fd/0', path: '/dev/stdin' },
      { target: '/proc/self/fd/1', path: '/dev/stdout' }, { target: '/proc/self/fd/2', path: '/dev/stderr' },
      { target: 'pts/ptmx', path: '/dev/ptmx' },
    ],
    logPath: path.join(dir, `${id}-json.log`),
  };
}

/** A container dir with a busybox rootfs; `edit` adjusts the spec before it is written. */
export function makeContainer(args: string[], edit?: (spec: Record<string, unknown>) => void) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-monitor-'));
  const rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
  fs.copyFileSync(BUSYBOX, path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  for (const a of APPLETS) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
  const spec = baseSpec(dir, rootfs, args);
  edit?.(spec);
  fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(spec));
  return { dir, rootfs, spec, logPath: spec.logPath as string, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * For a describe block: `container` is makeContainer whose containers are removed after each test, with
 * whatever else a test pushes on `cleanup`; and each test must leave the host's mount table as it found it.
 */
export function containerScope(): { container: typeof makeContainer; cleanup: Array<() => void> } {
  const mountinfo = () => fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const cleanup: Array<() => void> = [];
  let mountsBefore = '';
  beforeEach(() => { mountsBefore = mountinfo(); });
  afterEach(() => {
    for (const c of cleanup.splice(0)) c();
    expect(mountinfo()).toBe(mountsBefore);
  });
  const container: typeof makeContainer = (args, edit) => {
    const c = makeContainer(args, edit);
    cleanup.push(c.remove);
    return c;
  };
  return { container, cleanup };
}

/** Line-oriented JSON reader/writer over a socket. */
export class JsonLines {
  private buf = '';
  private queue: Msg[] = [];
  private waiters: Array<(m: Msg | null) => void> = [];
  private ended = false;
  readonly closed: Promise<void>;

  constructor(readonly sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        this.push(JSON.parse(line) as Msg);
      }
    });
    this.closed = new Promise((resolve) => sock.on('close', () => resolve()));
    sock.on('error', () => {});
    sock.on('close', () => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w(null);
    });
  }
  private push(m: Msg) {
    const w = this.waiters.shift();
    if (w) w(m);
    else this.queue.push(m);
  }
  /** The next message, or null once the socket closed. */
  next(timeoutMs = 10_000): Promise<Msg | null> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for a monitor message')), timeoutMs);
      this.waiters.push((v) => { clearTimeout(t); resolve(v); });
    });
  }
  send(line: string) { this.sock.write(`${line}\n`); }
}

/** Spawns the monitor for dir (from `exe`, e.g. a sealed memfd path) and returns the fd 3 channel. */
export function startMonitor(dir: string, exe = MONITOR): JsonLines {
  const child = spawn(exe, [dir], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  return new JsonLines(child.stdio[3] as net.Socket);
}

/** Connects to <dir>/monitor.sock through /proc/self/fd, so sun_path's 108 bytes never matter. */
export async function connectControl(dir: string): Promise<{ lines: JsonLines; close: () => void }> {
  const dirFd = fs.openSync(dir, 'r');
  const sock = net.connect({ path: `/proc/self/fd/${dirFd}/monitor.sock` });
  await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  return { lines: new JsonLines(sock), close: () => { sock.destroy(); fs.closeSync(dirFd); } };
}

/** created -> go -> started|failed; then, if started, every message up to and including exit. */
export async function run(dir: string) {
  const ch = startMonitor(dir);
  const created = await ch.next();
  ch.send('go');
  const outcome = await ch.next();
  let exit: Msg | null = null;
  if (outcome?.type === 'started') exit = await ch.next(20_000);
  await ch.closed;
  return { created, outcome, exit };
}

/** created -> go -> started; throws on anything else. */
export async function startContainer(dir: string) {
  const ch = startMonitor(dir);
  const created = await ch.next();
  if (created?.type !== 'created') throw new Error(`monitor: ${JSON.stringify(created)}`);
  ch.send('go');
  const started = await ch.next();
  if (started?.type !== 'started') throw new Error(`monitor: ${JSON.stringify(started)}`);
  return { ch, created };
}

export function readLog(logPath: string): Array<{ log: string; stream: string; time: string; seq: number }> {
  const text = fs.readFileSync(logPath, 'utf8');
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}
