// berthd's side of the monitor protocol (native/README.md): the start handshake on fd 3, and later
// connections to monitor.sock that carry commands and the exit message.
import { EventEmitter, once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { EngineError } from '../errors';
import type { Native } from '../native';

export interface MonitorMessage {
  type: 'created' | 'started' | 'failed' | 'exit' | 'ok' | 'error' | 'attached' | 'exec-started' | 'state';
  /** attached: entries before this seq are in the log file, the rest come on the connection. */
  nextSeq?: number;
  pid?: number;
  monitorPid?: number;
  /** started and state: when init's exec succeeded, "<seconds>.<nanoseconds>" since the epoch. */
  startedAt?: string;
  exitCode?: number;
  signal?: number;
  /** exit, as the monitor's last word: the time in its exit file. */
  finishedAt?: string;
  step?: string;
  errno?: number;
  code?: string;
  message?: string;
}

/** The monitor's "<seconds>.<nanoseconds>" as berthd's times are written (RFC 3339, milliseconds); undefined if absent. */
export function monitorTime(stamp: string | undefined): string | undefined {
  const m = /^(\d+)\.(\d{9})$/.exec(stamp ?? '');
  return m ? new Date(Number(m[1]) * 1000 + Math.floor(Number(m[2]) / 1e6)).toISOString() : undefined;
}

/** A JSON-lines connection to one monitor. Emits 'message' and 'close'. */
export class MonitorConnection extends EventEmitter {
  private buffered = '';
  private readonly queue: MonitorMessage[] = [];
  private waiting: ((m: MonitorMessage | undefined) => void) | undefined;
  private released = false;
  closed = false;

  constructor(private readonly socket: net.Socket) {
    super();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => this.onClose()); // a reset peer is a closed peer; 'close' follows
    socket.on('close', () => this.onClose());
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      if (!line) continue;
      const msg = JSON.parse(line) as MonitorMessage;
      this.emit('message', msg);
      if (this.released) continue;
      if (this.waiting) { const w = this.waiting; this.waiting = undefined; w(msg); } else this.queue.push(msg);
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.waiting) { const w = this.waiting; this.waiting = undefined; w(undefined); }
    this.emit('close');
  }

  /** The next message, or undefined when the monitor hung up. */
  next(): Promise<MonitorMessage | undefined> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => { this.waiting = resolve; });
  }

  send(line: string): void {
    if (!this.closed) this.socket.write(`${line}\n`);
  }

  /** Messages after the handshake are handled by listeners; stop queueing them. */
  release(): void {
    this.released = true;
    this.queue.length = 0;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** What starting a monitor takes of the addon (src/native). */
export type MonitorSpawner = Pick<Native, 'spawnWithSocket' | 'sendWithSocket' | 'reapChild'>;

/**
 * Starts `berth-monitor <dir>` with fd 3 one end of a socketpair. The first process forks and exits at
 * once (berthd is never the monitor's parent); the grandchild keeps fd 3 and speaks on it.
 */
export function spawnMonitor(spawner: MonitorSpawner, monitorPath: string, containerDir: string): MonitorConnection {
  const { pid, fd } = spawner.spawnWithSocket(monitorPath, [monitorPath, containerDir]);
  reapSoon(spawner, pid);
  return new MonitorConnection(new net.Socket({ fd, readable: true, writable: true }));
}

/**
 * berthd's `berth-monitor --zygote` (native/src/monitor/zygote.cc), started at the first need: it forks each
 * monitor berthd asks for. A start then costs berthd's event loop one sendmsg, where a posix_spawn held it
 * 0.7 ms until the exec, and the monitor no exec of its own (bench/README.md). When the zygote is gone it is
 * started again, once; when that fails too, the monitor is spawned as before.
 */
export class MonitorZygote {
  private fd: number | undefined;

  constructor(private readonly spawner: MonitorSpawner, private readonly monitorPath: () => string) {}

  /** A monitor, as `berth-monitor <arg>` would be (arg: a directory, or '--standby'). */
  start(arg: string): MonitorConnection {
    const fd = arg.includes('\n') ? undefined : this.ask(arg);
    if (fd === undefined) return spawnMonitor(this.spawner, this.monitorPath(), arg);
    return new MonitorConnection(new net.Socket({ fd, readable: true, writable: true }));
  }

  /** Lets the zygote go: it exits when its socket closes; the monitors it made run on. */
  close(): void {
    if (this.fd === undefined) return;
    try { fs.closeSync(this.fd); } catch { /* closed already */ }
    this.fd = undefined;
  }

  private ask(arg: string): number | undefined {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        if (this.fd === undefined) this.fd = this.spawn();
        return this.spawner.sendWithSocket(this.fd, arg);
      } catch {
        this.close(); // it died (EPIPE) or never started
      }
    }
    return undefined;
  }

  private spawn(): number {
    const executable = this.monitorPath();
    const { pid, fd } = this.spawner.spawnWithSocket(executable, [executable, '--zygote']);
    reapSoon(this.spawner, pid);
    return fd;
  }
}

/** The first process exits right after its fork; it is reaped without blocking, however long it takes. */
function reapSoon(spawner: MonitorSpawner, pid: number, delayMs = 1): void {
  setTimeout(() => {
    if (spawner.reapChild(pid) === null) reapSoon(spawner, pid, Math.min(delayMs * 2, 1000));
  }, delayMs).unref();
}

/**
 * Where a container's monitor listens: its runtime directory, where its spec.json is too; a monitor an
 * earlier berthd started listens in the container's directory, and keeps doing so until its container exits.
 */
export interface MonitorDirs {
  dir: string;
  runDir: string;
}

/**
 * Connects to a monitor's socket. The path goes through /proc/self/fd so that a long data root never
 * hits the 108-byte sun_path limit. With `onread`, what arrives goes to its callback, into the buffers
 * it hands out, not to 'data' events.
 */
export async function connectMonitorSocket(dirs: MonitorDirs, onread?: net.OnReadOpts): Promise<net.Socket> {
  const sock = (dir: string) => fs.existsSync(path.join(dir, 'monitor.sock'));
  const listening = !sock(dirs.runDir) && sock(dirs.dir) ? dirs.dir : dirs.runDir;
  let dirFd: number | undefined;
  try {
    dirFd = fs.openSync(listening, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    const socket = net.connect({ path: path.join(`/proc/self/fd/${dirFd}`, 'monitor.sock'), onread });
    await once(socket, 'connect');
    return socket;
  } catch (err) {
    throw new EngineError('Unavailable', `monitor of ${path.basename(dirs.dir)}: not reachable`, { cause: err });
  } finally {
    if (dirFd !== undefined) fs.closeSync(dirFd);
  }
}

export async function connectMonitor(dirs: MonitorDirs): Promise<MonitorConnection> {
  return new MonitorConnection(await connectMonitorSocket(dirs));
}
