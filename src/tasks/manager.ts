// Live processes: starts each container through its monitor, watches for its exit, signals it, and
// finds running monitors again after a daemon restart.
import fs from 'node:fs';
import path from 'node:path';
import { EngineError } from '../errors';
import type { RuntimeSpec } from '../runtime/spec';
import { readJsonFile, rewriteFile } from '../util/atomic-file';
import { connectMonitor, monitorTime, MonitorZygote, type MonitorConnection, type MonitorDirs, type MonitorMessage, type MonitorSpawner } from './monitor-client';
import { processStartTime } from './proc';
import type { Native } from '../native';

export interface ExitStatus {
  exitCode: number;
  signal: number;
  finishedAt: string;
  /** Set when the exit is not the container's own (its monitor died). */
  error?: string;
}

export interface StartedTask {
  pid: number;
  monitorPid: number;
  /** When the program's exec succeeded, by the monitor's clock (RFC 3339). */
  startedAt: string;
  /** Init's start time in /proc (processStartTime): a later look at the pid can tell it was reused. */
  pidStartTime: number;
}

/** What a daemon start finds of a container's monitor. */
export type Recovered =
  | { state: 'live'; pid: number; monitorPid: number; startedAt: string | undefined }
  | { state: 'exited'; status: ExitStatus }
  | { state: 'gone' };

const MONITOR_DIED = 'monitor exited without an exit status';

/** errno names an exec can fail with that are the request's fault (a bad command), as Docker reports them (400). */
const USER_FAULTS = new Set(['ENOENT', 'EACCES', 'ENOEXEC', 'ENOTDIR', 'ELOOP', 'EISDIR']);

/** The monitor's word on a failed exec step (of a start or an exec) as an EngineError. */
export function execFailure(doing: string, program: string, msg: MonitorMessage): EngineError {
  const kind = USER_FAULTS.has(msg.code ?? '') || msg.code === 'ETXTBSY' ? 'InvalidArgument' : 'Internal';
  return new EngineError(kind, `${doing}: exec ${JSON.stringify(program)}: ${msg.message?.replace(/^exec: /, '')}`);
}

/** errno names meaning the container's files are not as a step needs them (a link, a file for a directory, ...). */
const FILESYSTEM_FAULTS = new Set(['ELOOP', 'EXDEV', 'ENODEV', 'ENOTDIR', 'EEXIST', 'EISDIR', 'ENOENT', 'EACCES']);

/**
 * A failed step other than exec: a working directory or sysctl the request names is its fault; a mount,
 * mask or device the container's own files stand in the way of is the container's state; the rest is ours.
 */
export function stepFailure(doing: string, msg: MonitorMessage): EngineError {
  const step = msg.step ?? '';
  const code = msg.code ?? '';
  let kind: 'InvalidArgument' | 'FailedPrecondition' | 'Internal' = 'Internal';
  if ((step === 'mkdir cwd' || step === 'chdir') && FILESYSTEM_FAULTS.has(code)) kind = 'InvalidArgument';
  else if (step.startsWith('sysctl ') && (code === 'ENOENT' || code === 'EINVAL')) kind = 'InvalidArgument';
  else if (/^(mount|mask|readonly|mknod|symlink) /.test(step) && FILESYSTEM_FAULTS.has(code)) kind = 'FailedPrecondition';
  return new EngineError(kind, `${doing}: ${msg.message}`);
}

export class TaskManager {
  private readonly live = new Map<string, MonitorConnection>();
  /**
   * A monitor started ahead (`berth-monitor --standby`): already detached, with its container's net
   * namespace made, it waits for its container's directory on fd 3. A start takes it and the next is
   * asked for behind the start's answer: the forks and the namespace leave the start's path.
   */
  private standby: MonitorConnection | undefined;
  /** Forks the monitors (and the standbys); berthd spawns only the zygote. */
  private readonly zygote: MonitorZygote;
  private stopped = false;

  /** native: the sealed monitor to execute, and how to start it (posix_spawn, not a fork of berthd). */
  constructor(private readonly native: MonitorSpawner & Pick<Native, 'monitorExecutable'>, private readonly onExit: (id: string, status: ExitStatus) => void) {
    this.zygote = new MonitorZygote(native, () => native.monitorExecutable());
  }

  /**
   * Writes spec.json, starts the monitor and waits for exec; throws with the failing step on failure.
   * beforeGo runs while init waits, with its pid (DESIGN.md, start step 3: cgroup, network).
   */
  async start(dirs: MonitorDirs, spec: RuntimeSpec, beforeGo?: (pid: number) => Promise<void>): Promise<StartedTask> {
    try {
      return await this.launch(dirs, spec, beforeGo);
    } finally {
      // The next standby, once this start has its answer: its forks would compete with the answer.
      setImmediate(() => this.prepareStandby());
    }
  }

  private async launch(dirs: MonitorDirs, spec: RuntimeSpec, beforeGo?: (pid: number) => Promise<void>): Promise<StartedTask> {
    // The monitor runs in the runtime directory (spec.json, its socket) and writes its exit file into the
    // container's (exitDir), or, for an auto-remove container, into the runtime directory (buildSpec).
    const exitFile = path.join(spec.exitDir ?? dirs.runDir, 'exit');
    // Looked for first: a new container has none, and a removal that finds none costs an exception.
    if (fs.lstatSync(exitFile, { throwIfNoEntry: false })) fs.unlinkSync(exitFile);
    // Written again at every start, before the monitor that reads it exists.
    rewriteFile(path.join(dirs.runDir, 'spec.json'), JSON.stringify(spec), 0o600);
    let conn = this.takeStandby(dirs.runDir);
    let created = conn ? await conn.next() : undefined;
    // No standby, or it is gone (someone killed it): a monitor of its own.
    if (!conn || !created) {
      conn = this.zygote.start(dirs.runDir);
      created = await conn.next();
    }
    if (created?.type !== 'created' || !created.pid) {
      conn.close();
      throw startFailure(spec, created);
    }
    // Read while init surely lives: it waits for go. After the start a short program may be gone already.
    const pidStartTime = processStartTime(created.pid) ?? 0;
    if (beforeGo) {
      try {
        await beforeGo(created.pid);
      } catch (err) {
        conn.close(); // the monitor sees berthd go before go: init never runs, the monitor exits
        throw err;
      }
    }
    conn.send('go');
    const result = await conn.next();
    if (result?.type !== 'started') {
      conn.close();
      throw startFailure(spec, result);
    }
    conn.release();
    this.watch(spec.id, [exitFile], conn);
    return { pid: created.pid, monitorPid: created.monitorPid ?? 0, startedAt: monitorTime(result.startedAt) ?? new Date().toISOString(), pidStartTime };
  }

  /**
   * After a daemon restart: reattaches to a container's monitor if one answers (and asks it for the
   * pids, which may be newer than what was stored), else reads the exit file it left.
   */
  async recover(id: string, dirs: MonitorDirs): Promise<Recovered> {
    let conn: MonitorConnection;
    try {
      conn = await connectMonitor(dirs);
    } catch {
      const status = await readExit(exitFiles(dirs));
      return status ? { state: 'exited', status } : { state: 'gone' };
    }
    conn.send('state');
    const answer = await conn.next();
    if (answer?.type !== 'state' || !answer.pid) {
      // It exited between the connect and the question: its exit file tells.
      conn.close();
      const status = await readExit(exitFiles(dirs));
      return status ? { state: 'exited', status } : { state: 'gone' };
    }
    conn.release();
    this.watch(id, exitFiles(dirs), conn);
    return { state: 'live', pid: answer.pid, monitorPid: answer.monitorPid ?? 0, startedAt: monitorTime(answer.startedAt) };
  }

  isLive(id: string): boolean {
    return this.live.has(id);
  }

  async kill(id: string, signal: number): Promise<void> {
    this.control(id, `kill ${signal}`);
  }

  /** Sends a control line (kill, resize, close-stdin) on the container's monitor connection. */
  control(id: string, line: string): void {
    const conn = this.live.get(id);
    if (!conn) throw new EngineError('FailedPrecondition', `container ${id}: not running`);
    conn.send(line);
  }

  /** Starts the standby monitor if there is none; a failure only means the next start spawns its own. */
  private prepareStandby(): void {
    if (this.standby || this.stopped) return;
    let conn: MonitorConnection;
    try {
      conn = this.zygote.start('--standby');
    } catch {
      return;
    }
    this.standby = conn;
    conn.once('close', () => { if (this.standby === conn) this.standby = undefined; });
  }

  /** The standby monitor, sent dir; undefined when there is none (the path must fit on one line). */
  private takeStandby(dir: string): MonitorConnection | undefined {
    const conn = this.standby;
    this.standby = undefined;
    if (!conn || conn.closed || dir.includes('\n')) {
      conn?.close();
      return undefined;
    }
    conn.send(dir);
    return conn;
  }

  /** Drops every connection; the monitors and their containers go on without us (a standby exits). */
  detachAll(): void {
    this.stopped = true;
    this.standby?.close();
    this.standby = undefined;
    this.zygote.close();
    for (const conn of this.live.values()) {
      conn.removeAllListeners('close');
      conn.close();
    }
    this.live.clear();
  }

  /** files: where its exit file may be, in the order to look. */
  private watch(id: string, files: string[], conn: MonitorConnection): void {
    this.live.set(id, conn);
    let told = false;
    // The monitor's last word carries what its exit file says, written (durably where the spec asks) before it:
    // the exit is taken from it at once, not after the monitor's flush to its clients and the file's read.
    conn.on('message', (msg: MonitorMessage) => {
      if (msg.type !== 'exit' || !msg.finishedAt || told) return;
      told = true;
      this.live.delete(id);
      this.onExit(id, { exitCode: msg.exitCode ?? 0, signal: msg.signal ?? 0, finishedAt: msg.finishedAt });
    });
    // A monitor that hangs up without it (an older one, or one that died): its exit file, if it wrote one.
    conn.on('close', () => {
      if (told) return;
      told = true;
      this.live.delete(id);
      void readExit(files).then((status) => this.onExit(id, status ?? monitorDied()));
    });
  }
}

/** The monitor's word on a failed start as an error; an exec the request got wrong is its fault, as Docker says (400). */
function startFailure(spec: RuntimeSpec, msg: MonitorMessage | undefined): EngineError {
  const doing = `start container ${spec.id}`;
  if (!msg) return new EngineError('Internal', `${doing}: the monitor exited without a word`);
  if (msg.type !== 'failed') return new EngineError('Internal', `${doing}: unexpected monitor message ${JSON.stringify(msg)}`);
  if (msg.step === 'exec') return execFailure(doing, spec.args[0], msg);
  return stepFailure(doing, msg);
}

/** The exit recorded for a container whose monitor vanished without writing one (killed, crashed). */
export function monitorDied(): ExitStatus {
  return { exitCode: 255, signal: 0, finishedAt: new Date().toISOString(), error: MONITOR_DIED };
}

/**
 * Where a monitor berthd did not start writes its exit file: in the container's directory, or an auto-remove
 * container's in its runtime directory.
 */
function exitFiles(dirs: MonitorDirs): string[] {
  return [path.join(dirs.dir, 'exit'), path.join(dirs.runDir, 'exit')];
}

/** The first of files that exists, read. */
async function readExit(files: string[]): Promise<ExitStatus | undefined> {
  for (const file of files) {
    const status = await readJsonFile<ExitStatus>(file);
    if (status) return status;
  }
  return undefined;
}
