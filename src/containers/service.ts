// The container lifecycle: create, start, wait, remove, list, inspect, logs; recovery at daemon start.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { EngineError, invalidArgument, wrap } from '../errors';
import type { ImageStore } from '../images/store';
import { imageDefaults } from '../images/model';
import { lastSeq, matches, readLog, type LogEntry, type LogFilter } from '../io/logs';
import { MonitorStream } from '../tasks/monitor-stream';
import { Attachment, type AttachSelection } from './attachment';
import type { Native } from '../native';
import { isMounted, overlayMount, overlayPaths, prepareOverlay } from '../rootfs/overlay';
import { hostnameFile, hostsFile, resolvConfFile } from '../runtime/etc-files';
import { buildSpec } from '../runtime/plan';
import { resolveUser, type ResolvedUser } from '../runtime/user';
import type { ExitStatus } from '../tasks/manager';
import { TaskManager } from '../tasks/manager';
import { writeFileAtomic } from '../util/atomic-file';
import { randomId } from '../util/ids';
import { log } from '../util/logger';
import { initialState, type ContainerConfig, type ContainerRecord, type HostConfig } from './model';
import { generateName } from './names';
import { ContainerStore } from './store';
import { mergeImageDefaults, validateConfig, validateName } from './validate';

export interface CreateOptions {
  config: ContainerConfig;
  hostConfig: HostConfig;
  name: string;
}

export interface ContainerFiles {
  dir: string;
  logPath: string;
  hostnamePath: string;
  hostsPath: string;
  resolvConfPath: string;
}

const SIGKILL = 9;

interface PendingAttachment {
  attachment: Attachment;
  size?: { rows: number; cols: number };
}

export class ContainerService {
  private readonly containers = new Map<string, ContainerRecord>();
  private readonly names = new Map<string, string>();
  private readonly waiters = new Map<string, (() => void)[]>();
  /** One operation at a time per container (start, exit, remove); the value is the queue's tail. */
  private readonly locks = new Map<string, Promise<void>>();
  /** Attachments waiting for their container's next start. */
  private readonly pending = new Map<string, Set<PendingAttachment>>();
  private readonly store: ContainerStore;
  readonly tasks: TaskManager;

  constructor(private readonly root: string, private readonly images: ImageStore, private readonly native: Native) {
    this.store = new ContainerStore(root);
    this.tasks = new TaskManager(() => native.monitorExecutable(), (id, status) => void this.onExit(id, status));
  }

  files(id: string): ContainerFiles {
    const dir = this.store.containerDir(id);
    return {
      dir,
      logPath: path.join(dir, `${id}-json.log`),
      hostnamePath: path.join(dir, 'hostname'),
      hostsPath: path.join(dir, 'hosts'),
      resolvConfPath: path.join(dir, 'resolv.conf'),
    };
  }

  /** Loads every container and reconciles the ones that were running with their monitors. */
  async load(): Promise<void> {
    for (const record of await this.store.loadAll()) {
      this.containers.set(record.id, record);
      this.names.set(record.name, record.id);
      if (record.state.status !== 'running') {
        await this.unmountRootfs(record.id);
        continue;
      }
      const exited = await this.tasks.recover(record.id, this.files(record.id).dir);
      if (exited) await this.onExit(record.id, exited);
    }
  }

  /** On daemon shutdown: let go of the monitors; containers keep running. */
  detach(): void {
    this.tasks.detachAll();
  }

  list(all: boolean): ContainerRecord[] {
    return [...this.containers.values()]
      .filter((c) => all || c.state.status === 'running')
      .sort((a, b) => b.created.localeCompare(a.created));
  }

  /** Finds a container by name, full id or unique id prefix. */
  find(ref: string, field = 'container_id'): ContainerRecord {
    if (!ref || ref.includes('\0')) throw invalidArgument(field, ref, 'a container id or name is required');
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    const byName = this.names.get(name);
    if (byName) return this.containers.get(byName)!;
    if (/^[0-9a-f]{1,64}$/.test(ref)) {
      const exact = this.containers.get(ref);
      if (exact) return exact;
      const matches = [...this.containers.keys()].filter((id) => id.startsWith(ref));
      if (matches.length === 1) return this.containers.get(matches[0])!;
      if (matches.length > 1) throw invalidArgument(field, ref, `ambiguous id prefix: ${matches.length} containers match`);
    }
    throw new EngineError('NotFound', `container ${ref}: not found`);
  }

  usesImage(imageId: string): string | undefined {
    return [...this.containers.values()].find((c) => c.image === imageId)?.id;
  }

  async create(opts: CreateOptions): Promise<ContainerRecord> {
    validateConfig(opts.config);
    if (opts.name) validateName(opts.name);
    const image = this.images.resolve(opts.config.image, 'config.image');
    const config = mergeImageDefaults(opts.config, imageDefaults(image.blob));
    const argv = [...config.entrypoint, ...config.cmd];
    if (argv.length === 0 || argv[0] === '') throw invalidArgument('config.cmd', config.cmd, 'no command specified: the image has none either');
    const name = opts.name || this.uniqueGeneratedName();
    if (this.names.has(name)) {
      throw new EngineError('AlreadyExists', `container name ${JSON.stringify(name)}: already in use by container ${this.names.get(name)!.slice(0, 12)}`);
    }
    const id = randomId();
    const record: ContainerRecord = {
      id, name, created: new Date().toISOString(), path: argv[0], args: argv.slice(1),
      config, hostConfig: opts.hostConfig, image: image.id, state: initialState(),
    };
    // Claim the name before the first await so two concurrent creates cannot both take it.
    this.names.set(name, id);
    try {
      await this.store.create(record);
    } catch (err) {
      this.names.delete(name);
      await fsp.rm(this.files(id).dir, { recursive: true, force: true });
      throw wrap(err, `create container ${name}`);
    }
    this.containers.set(id, record);
    return record;
  }

  /**
   * consoleSize: the size an attaching client asked for. Attachments made before the start connect
   * once it is done, outside the lock (an attach to a container that already exited waits for its exit).
   */
  async start(ref: string, consoleSize?: { rows: number; cols: number }): Promise<void> {
    const c = this.find(ref);
    let pending: PendingAttachment[] = [];
    let firstSeq = 0;
    try {
      await this.withLock(c.id, async () => {
        pending = [...(this.pending.get(c.id) ?? [])];
        this.pending.delete(c.id);
        firstSeq = await this.launch(c, consoleSize ?? pending.find((p) => p.size)?.size);
      });
    } catch (err) {
      for (const p of pending) p.attachment.fail(err as Error);
      throw err;
    }
    const dir = this.files(c.id).dir;
    // They replay this run from its first entry, so nothing before their connect is lost.
    await Promise.all(pending.map((p) => p.attachment.connect(dir, firstSeq).catch((err) => p.attachment.fail(err as Error))));
  }

  /** Mounts, writes the /etc files and the spec, and starts the monitor; returns the run's first log seq. */
  private async launch(c: ContainerRecord, consoleSize: { rows: number; cols: number } | undefined): Promise<number> {
    if (!this.containers.has(c.id)) throw new EngineError('NotFound', `container ${c.id}: not found`);
    if (c.state.status === 'running') throw new EngineError('FailedPrecondition', `start container ${c.id}: status is running`);
    const files = this.files(c.id);
    const rootfs = await this.mountRootfs(c);
    try {
      const hostname = c.config.hostname || c.id.slice(0, 12);
      await writeFileAtomic(files.hostnamePath, hostnameFile(hostname), 0o644);
      await writeFileAtomic(files.hostsPath, hostsFile(hostname, c.config.domainname), 0o644);
      await writeFileAtomic(files.resolvConfPath, resolvConfFile(await readHostFile('/etc/resolv.conf')), 0o644);
      const user = resolveUser(c.config.user, await readRootfsFile(rootfs, 'etc/passwd'), await readRootfsFile(rootfs, 'etc/group'));
      const spec = buildSpec(c, { ...files, rootfs, user, consoleSize, lastSeq: await lastSeq(files.logPath) });
      const task = await this.tasks.start(files.dir, spec);
      c.state = {
        ...c.state, status: 'running', pid: task.pid, monitorPid: task.monitorPid, exitCode: 0, signal: 0,
        error: '', startedAt: new Date().toISOString(), finishedAt: '',
      };
      await this.store.saveState(c);
      return spec.log.firstSeq;
    } catch (err) {
      await this.unmountRootfs(c.id);
      c.state = { ...c.state, error: err instanceof Error ? err.message : String(err), exitCode: 127 };
      await this.store.saveState(c);
      throw err;
    }
  }

  /** Resolves when the container is not running; returns its last exit. */
  async wait(ref: string, signal?: AbortSignal): Promise<{ exitCode: number; signal: number }> {
    const c = this.find(ref);
    while (c.state.status === 'running' || this.locks.has(c.id)) {
      await new Promise<void>((resolve, reject) => {
        const list = this.waiters.get(c.id) ?? [];
        list.push(resolve);
        this.waiters.set(c.id, list);
        signal?.addEventListener('abort', () => reject(new EngineError('Canceled', `wait for container ${c.id}: cancelled`)), { once: true });
      });
      if (!this.containers.has(c.id)) break;
    }
    return { exitCode: c.state.exitCode, signal: c.state.signal };
  }

  async kill(ref: string, signal: number): Promise<void> {
    const c = this.find(ref);
    if (c.state.status !== 'running') throw new EngineError('FailedPrecondition', `kill container ${c.id}: status is ${c.state.status}`);
    await this.tasks.kill(c.id, signal);
  }

  async remove(ref: string, force: boolean): Promise<void> {
    const c = this.find(ref);
    if (c.state.status === 'running') {
      if (!force) throw new EngineError('FailedPrecondition', `remove container ${c.id}: status is running: stop it first or use force`);
      // It may have exited since the check; then there is nothing to kill, only the exit to wait for.
      if (this.tasks.isLive(c.id)) await this.tasks.kill(c.id, SIGKILL);
      await this.wait(c.id);
    }
    await this.withLock(c.id, async () => {
      if (!this.containers.has(c.id)) return; // a concurrent remove got there first
      if (c.state.status === 'running') throw new EngineError('FailedPrecondition', `remove container ${c.id}: status is running`);
      await this.unmountRootfs(c.id);
      await fsp.rm(overlayPaths(this.root, c.id).dir, { recursive: true, force: true });
      await this.store.remove(c.id);
      this.containers.delete(c.id);
      this.names.delete(c.name);
    });
    this.wake(c.id);
  }

  /**
   * The log, then (follow) live entries until the container exits. The live stream is opened first and
   * tells which seq it starts at, so the file part stops just before it: no gap, no duplicate.
   */
  async *logs(ref: string, filter: LogFilter, follow: boolean, signal?: AbortSignal): AsyncGenerator<LogEntry> {
    const c = this.find(ref);
    const files = this.files(c.id);
    let live: MonitorStream | undefined;
    if (follow && c.state.status === 'running') {
      try {
        const { stream, answer } = await MonitorStream.open(files.dir, `attach ${JSON.stringify({ stdin: false, stdout: filter.stdout, stderr: filter.stderr })}`);
        live = stream;
        if (stream) yield* readLog(files.logPath, { ...filter, beforeSeq: answer.nextSeq }, signal);
      } catch (err) {
        // Exited between the look and the connect: the file has everything.
        if (!(err instanceof EngineError && err.kind === 'Unavailable')) throw err;
      }
    }
    if (!live) { yield* readLog(files.logPath, filter, signal); return; }
    const stop = () => live!.close();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      for await (const f of live) {
        if (f.type !== 'stdout' && f.type !== 'stderr') continue;
        const entry: LogEntry = { stream: f.type, data: f.data, time: f.time, seq: f.seq };
        if (filter.until && entry.time >= filter.until) return;
        if (matches(entry, { ...filter, tail: undefined })) yield entry;
      }
    } finally {
      signal?.removeEventListener('abort', stop);
      live.close();
    }
  }

  /**
   * Attaches to a container's stdio. A container that is not running gets a pending attachment that
   * its next start connects before init runs; with start, this call starts it.
   */
  async attach(ref: string, selection: AttachSelection, opts: { start: boolean; size?: { rows: number; cols: number } }): Promise<Attachment> {
    const c = this.find(ref);
    if (selection.stdin && !c.config.openStdin) {
      throw new EngineError('FailedPrecondition', `attach to container ${c.id}: stdin was not opened (create it with open_stdin)`);
    }
    const files = this.files(c.id);
    const attachment = new Attachment(selection, c.config.stdinOnce, files.logPath, {
      waitExit: () => this.wait(c.id),
    });
    if (c.state.status === 'running' && this.tasks.isLive(c.id)) {
      await attachment.connect(files.dir);
      if (opts.size && c.config.tty) this.tasks.control(c.id, `resize ${opts.size.rows} ${opts.size.cols}`);
      return attachment;
    }
    const entry = { attachment, size: opts.size };
    const set = this.pending.get(c.id) ?? new Set();
    set.add(entry);
    this.pending.set(c.id, set);
    attachment.onClose(() => this.pending.get(c.id)?.delete(entry));
    if (opts.start) {
      try {
        await this.start(c.id, opts.size);
      } catch (err) {
        set.delete(entry);
        throw err;
      }
    }
    return attachment;
  }

  resize(ref: string, size: { rows: number; cols: number }): void {
    const c = this.find(ref);
    if (c.state.status !== 'running') throw new EngineError('FailedPrecondition', `resize container ${c.id}: status is ${c.state.status}`);
    if (!c.config.tty) throw new EngineError('FailedPrecondition', `resize container ${c.id}: it has no tty`);
    this.tasks.control(c.id, `resize ${size.rows} ${size.cols}`);
  }

  /** Reads /etc/passwd and /etc/group of a running container's rootfs to resolve a user. */
  async resolveUserIn(c: ContainerRecord, spec: string, field: string): Promise<ResolvedUser> {
    const rootfs = overlayPaths(this.root, c.id).merged;
    return resolveUser(spec, await readRootfsFile(rootfs, 'etc/passwd'), await readRootfsFile(rootfs, 'etc/group'), field);
  }

  /** Records an exit under the container's lock, so Wait returns only once the rootfs is released and the state saved. */
  private onExit(id: string, status: ExitStatus): Promise<void> {
    return this.withLock(id, async () => {
      const c = this.containers.get(id);
      if (!c) return;
      c.state = {
        ...c.state, status: 'exited', pid: 0, monitorPid: 0, exitCode: status.exitCode, signal: status.signal,
        finishedAt: status.finishedAt, error: status.error ?? '',
      };
      if (status.error) log.warn('container ended without its own exit status', { id, error: status.error });
      await this.unmountRootfs(id);
      await this.store.saveState(c);
    }).catch((err) => log.error('recording a container exit failed', { id, error: String(err) }));
  }

  private wake(id: string): void {
    const list = this.waiters.get(id) ?? [];
    this.waiters.delete(id);
    for (const w of list) w();
  }

  private withLock(id: string, fn: () => Promise<void>): Promise<void> {
    const run = (this.locks.get(id) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => undefined).then(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
      this.wake(id);
    });
    this.locks.set(id, tail);
    return run;
  }

  private async mountRootfs(c: ContainerRecord): Promise<string> {
    const paths = overlayPaths(this.root, c.id);
    await prepareOverlay(paths);
    if (!(await isMounted(paths.merged))) {
      const image = this.images.resolve(c.image);
      try {
        this.native.mount(overlayMount(paths, this.images.layerPaths(image)));
      } catch (err) {
        throw wrap(err, `mount rootfs of container ${c.id}`);
      }
    }
    return paths.merged;
  }

  private async unmountRootfs(id: string): Promise<void> {
    const { merged } = overlayPaths(this.root, id);
    if (await isMounted(merged)) this.native.unmount(merged, { detach: true });
  }

  private uniqueGeneratedName(): string {
    for (;;) {
      const name = generateName();
      if (!this.names.has(name)) return name;
    }
  }
}

async function readHostFile(file: string): Promise<string> {
  return fsp.readFile(file, 'utf8').catch(() => '');
}

/**
 * Reads /etc/<file> of the container's rootfs, refusing a symlinked /etc or file so that an image
 * cannot point us at the host's files; missing reads as empty. TODO(#7): openat2 RESOLVE_IN_ROOT.
 */
async function readRootfsFile(rootfs: string, rel: string): Promise<string> {
  const full = path.join(rootfs, rel);
  try {
    if (!(await fsp.lstat(path.dirname(full))).isDirectory()) return '';
    const st = await fsp.lstat(full);
    if (!st.isFile()) return '';
    return await fsp.readFile(full, 'utf8');
  } catch {
    return ''; // an image without /etc/passwd: numeric users still work
  }
}

