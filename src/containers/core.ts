// The core of the container lifecycle: records and their names, create, start, exit, remove, wait,
// restart policies and auto-remove; every change recorded atomically and told as an event. The
// operations clients call on top of it are in service.ts; recovery at daemon start in recovery.ts.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Cgroups } from '../cgroups/manager';
import { EngineError, invalidArgument, kindOf, wrap } from '../errors';
import type { EventJournal } from '../events/journal';
import type { ImageStore } from '../images/store';
import { imageDefaults } from '../images/model';
import { lastSeq } from '../io/logs';
import type { MountOptions, Native } from '../native';
import { fromNative } from '../native/errors';
import { initLayerPath, isMounted, overlayMount, overlayPaths, overlaysDir, prepareInitLayer, prepareOverlay, shortLayerPaths, volatileMarkPath, type OverlayPaths } from '../rootfs/overlay';
import { RootfsStandby, standbyKey } from '../rootfs/standby';
import type { NetworkManager, NetworkSettings } from '../network/manager';
import { hostnameFile } from '../runtime/etc-files';
import { buildSpec, DEFAULT_DEVICES } from '../runtime/plan';
import { DEFAULT_DEVICE_RULES, hostDevices } from '../security/devices';
import { securitySpec } from '../security/options';
import { resolveUser } from '../runtime/user';
import type { ExitStatus } from '../tasks/manager';
import { TaskManager } from '../tasks/manager';
import { rewriteFile } from '../util/atomic-file';
import { randomId } from '../util/ids';
import { log } from '../util/logger';
import { Trash } from '../util/trash';
import { fillFromImage, removeAnonymousVolumes, startMounts } from '../volumes/container-mounts';
import { planMounts, realizeMounts, removeVolumes, type RealizedMounts } from '../volumes/mounts';
import type { VolumeStore } from '../volumes/store';
import type { Attachment } from './attachment';
import { initialState, isActive, type ContainerConfig, type ContainerRecord, type HostConfig } from './model';
import { generateName } from './names';
import { prepareNetwork, type PreparedNetwork } from './networking';
import { nextDelay, shouldRestart } from './restart-policy';
import { RuntimeDir } from './runtime-dir';
import { ContainerStore } from './store';
import { checkContainerRef, mergeImageDefaults, validateConfig, validateName } from './validate';

export interface CreateOptions {
  config: ContainerConfig;
  hostConfig: HostConfig;
  name: string;
  /**
   * The start follows at once (a run in one call): an auto-remove container's files are then written while
   * the start prepares (ContainerStore.createBehind), about 0.4 ms of a `run --rm` (bench/README.md).
   */
  startsNow?: boolean;
}

export interface ContainerFiles {
  dir: string;
  /** Its runtime directory (on the tmpfs): spec.json and the monitor's socket. */
  runDir: string;
  logPath: string;
  hostnamePath: string;
  hostsPath: string;
  resolvConfPath: string;
}

export const SIGKILL = os.constants.signals.SIGKILL;
/** mount(2) copies its options from one page, NUL included. */
const MOUNT_OPTIONS_MAX = 4096;
/** How long an auto-remove waits for attached clients to read the end of the output. */
const AUTO_REMOVE_GRACE_MS = 60_000;

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface ServiceDeps {
  images: ImageStore;
  native: Native;
  cgroups: Cgroups;
  events: EventJournal;
  volumes: VolumeStore;
  /** The bridge network; without it every container has loopback only. */
  network?: NetworkManager;
}

export interface PendingAttachment {
  attachment: Attachment;
  size?: { rows: number; cols: number };
}

export class ContainerCore {
  /** Read by recovery.ts, which fills them at daemon start. */
  readonly containers = new Map<string, ContainerRecord>();
  readonly names = new Map<string, string>();
  private readonly waiters = new Map<string, (() => void)[]>();
  /** Exits seen per container since the daemon started (Wait's next-exit). */
  private readonly exits = new Map<string, number>();
  /** One operation at a time per container (start, exit, remove); the value is the queue's tail. */
  private readonly locks = new Map<string, Promise<void>>();
  /** Attachments waiting for their container's next start. */
  protected readonly pending = new Map<string, Set<PendingAttachment>>();
  /** Attach sessions open per container: an auto-remove waits for them to read the end of the output. */
  private readonly attachments = new Map<string, Set<Attachment>>();
  private readonly removeWhenDetached = new Set<string>();
  /** Restart policy: the pending start of each restarting container, and the last back-off. */
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  private readonly restartDelays = new Map<string, number>();
  readonly store: ContainerStore;
  /** Where a removed container's directories go to be deleted; recovery.ts opens it. */
  readonly trash: Trash;
  /** The next container's overlay, made ahead (rootfs/standby.ts); recovery.ts discards what a daemon left. */
  readonly standby: RootfsStandby;
  readonly runtime: RuntimeDir;
  readonly tasks: TaskManager;
  readonly cgroups: Cgroups;
  readonly events: EventJournal;
  protected readonly images: ImageStore;
  protected readonly native: Native;
  readonly volumes: VolumeStore;
  readonly network: NetworkManager | undefined;

  constructor(readonly root: string, deps: ServiceDeps) {
    ({ images: this.images, native: this.native, cgroups: this.cgroups, events: this.events, volumes: this.volumes, network: this.network } = deps);
    this.store = new ContainerStore(root);
    this.trash = new Trash(root);
    this.standby = new RootfsStandby(root, {
      mount: (paths, mount) => this.mountOverlayInPool(paths, mount),
      discard: async (paths) => { await this.trash.discard([paths.dir], [{ op: 'unmount', path: paths.merged }]); },
    });
    this.runtime = new RuntimeDir(root);
    this.tasks = new TaskManager(this.native, (id, status) => void this.onExit(id, status));
  }

  files(id: string): ContainerFiles {
    const dir = this.store.containerDir(id);
    const run = this.runtime.containerDir(id);
    return {
      dir,
      runDir: run,
      logPath: path.join(dir, `${id}-json.log`),
      hostnamePath: path.join(run, 'hostname'),
      hostsPath: path.join(run, 'hosts'),
      resolvConfPath: path.join(run, 'resolv.conf'),
    };
  }

  /** At daemon start, once the store is loaded: the runtime tmpfs, without what no container owns. */
  openRuntimeDir(): void {
    this.runtime.open((opts) => this.native.mount(opts), new Set(this.containers.keys()));
  }

  /**
   * The directories every container gets one of (its own, its overlay's) are marked for ext4 to spread their
   * subdirectories over its block groups (Native.spreadSubdirectories): a container's inodes then come from a
   * group of their own, not all from the one every container's were just freed in (bench/README.md).
   */
  spreadContainerDirectories(): void {
    for (const dir of [this.store.dir, overlaysDir(this.root)]) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      try {
        this.native.spreadSubdirectories(dir);
      } catch (err) {
        log.warn('could not mark a directory to spread its subdirectories', { dir, error: String(err) });
      }
    }
  }

  /** On daemon shutdown: let go of the monitors (containers keep running) and of pending restarts (the next daemon resumes them). */
  detach(): void {
    for (const timer of this.restartTimers.values()) clearTimeout(timer);
    this.restartTimers.clear();
    this.tasks.detachAll();
  }

  /** Tells event subscribers about a container (name and image ride along, as in Docker's events). */
  emit(c: ContainerRecord, action: string, attributes: Record<string, string> = {}): void {
    // As Docker: the container's labels ride along, so `events --filter label=...` finds its events.
    this.events.append({ type: 'container', action, actorId: c.id, attributes: { ...c.config.labels, name: c.name, image: c.config.image, ...attributes } });
  }

  list(all: boolean): ContainerRecord[] {
    return [...this.containers.values()]
      .filter((c) => all || isActive(c.state.status) || c.state.status === 'restarting')
      .sort((a, b) => b.created.localeCompare(a.created));
  }

  /** Finds a container by name, full id or unique id prefix. */
  find(ref: string, field = 'container_id'): ContainerRecord {
    checkContainerRef(ref, field);
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

  /** A container of the image, a running one first: only a running one keeps a forced remove from untagging. */
  usesImage(imageId: string): { id: string; running: boolean } | undefined {
    const users = [...this.containers.values()].filter((c) => c.image === imageId);
    const c = users.find((u) => isActive(u.state.status)) ?? users[0];
    return c && { id: c.id, running: isActive(c.state.status) };
  }

  /** Where a running container is on the bridge (inspect); undefined when it has no address of its own. */
  networkSettings(c: ContainerRecord): NetworkSettings | undefined {
    return isActive(c.state.status) ? this.network?.settings(c.id, c.config.exposedPorts ?? []) : undefined;
  }

  /** Ids of the containers whose mounts name the volume. */
  volumeUsers(name: string): string[] {
    return [...this.containers.values()].filter((c) => c.hostConfig.mounts?.some((m) => m.type === 'volume' && m.name === name)).map((c) => c.id);
  }

  async create(opts: CreateOptions): Promise<ContainerRecord> {
    validateConfig(opts.config);
    if (opts.name) validateName(opts.name);
    const image = this.images.resolve(opts.config.image, 'config.image');
    const defaults = imageDefaults(image.blob);
    const config = mergeImageDefaults(opts.config, defaults);
    // The image's volume paths come along, as Docker shows them in Config.Volumes.
    const volumePaths = [...new Set([...defaults.volumes, ...(opts.config.volumes ?? [])])];
    if (volumePaths.length) config.volumes = volumePaths;
    const argv = [...config.entrypoint, ...config.cmd];
    if (argv.length === 0 || argv[0] === '') throw invalidArgument('config.cmd', config.cmd, 'no command specified: the image has none either');
    // Every bind, volumes-from entry and volume path is checked before anything is made.
    const planned = await planMounts(
      { volumes: volumePaths, binds: opts.hostConfig.binds ?? [], volumesFrom: config.volumesFrom ?? '' },
      { findContainer: (ref) => this.find(ref, 'config.volumes_from') },
    );
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
    // Held until the record is in the map: volume Remove and Prune must not take a volume in between.
    const claim = this.volumes.claim();
    let made: RealizedMounts | undefined;
    try {
      if (planned.length) {
        made = await realizeMounts(planned, this.volumes, claim);
        record.hostConfig = { ...opts.hostConfig, mounts: made.mounts };
        if (made.fill.length) await this.fillVolumes(record, made);
      }
      if (opts.startsNow && opts.hostConfig.autoRemove && !planned.length) {
        this.store.createBehind(record).catch((err) => this.dropUnwritten(record, err));
      } else {
        await this.store.create(record);
      }
    } catch (err) {
      this.names.delete(name);
      await fsp.rm(this.files(id).dir, { recursive: true, force: true });
      await fsp.rm(overlayPaths(this.root, id).dir, { recursive: true, force: true });
      if (made) await removeVolumes(this.volumes, made.created);
      claim.release();
      throw wrap(err, `create container ${name}`);
    }
    this.containers.set(id, record);
    claim.release();
    for (const v of made?.created ?? []) this.events.append({ type: 'volume', action: 'create', actorId: v, attributes: { driver: 'local' } });
    this.emit(record, 'create');
    return record;
  }

  /** A container whose files could not be written (createBehind) goes, as if its create had failed; its start fails. */
  private dropUnwritten(record: ContainerRecord, err: unknown): void {
    log.warn('writing a new container failed: it goes', { id: record.id, error: String(err) });
    if (this.containers.get(record.id) !== record) return;
    this.containers.delete(record.id);
    if (this.names.get(record.name) === record.id) this.names.delete(record.name);
    // Its files go with the failed start (launch); a directory the write left without a config goes at the next
    // daemon start (ContainerStore.loadAll).
    this.emit(record, 'destroy');
  }

  /** Copies the image's files into the container's empty volumes (its rootfs is mounted for the while). */
  private async fillVolumes(c: ContainerRecord, made: RealizedMounts): Promise<void> {
    const rootfs = await this.mountRootfs(c);
    try {
      await fillFromImage(rootfs, made.fill, this.volumes, (p, spec) => this.native.mknod(p, spec));
    } catch (err) {
      throw wrap(err, 'fill volumes from the image');
    } finally {
      await this.unmountRootfs(c.id);
    }
  }

  /**
   * consoleSize: the size an attaching client asked for. Attachments made before the start connect
   * once it is done, outside the lock (an attach to a container that already exited waits for its exit).
   */
  async start(ref: string, consoleSize?: { rows: number; cols: number }, byPolicy = false): Promise<void> {
    const c = this.find(ref);
    let pending: PendingAttachment[] = [];
    let firstSeq = 0;
    try {
      await this.withLock(c.id, async () => {
        if (isActive(c.state.status)) throw new EngineError('FailedPrecondition', `start container ${c.id}: status is ${c.state.status}`);
        if (c.state.status === 'restarting' && !byPolicy) throw new EngineError('FailedPrecondition', `start container ${c.id}: status is restarting: its restart policy starts it, or stop it first`);
        this.cancelRestart(c.id);
        if (byPolicy) c.state.restartCount++;
        else c.state = { ...c.state, restartCount: 0, manuallyStopped: false };
        pending = [...(this.pending.get(c.id) ?? [])];
        this.pending.delete(c.id);
        firstSeq = await this.launch(c, consoleSize ?? pending.find((p) => p.size)?.size, pending);
      });
    } catch (err) {
      for (const p of pending) p.attachment.fail(err as Error);
      throw err;
    }
    const files = this.files(c.id);
    // They replay this run from its first entry, so nothing before their connect is lost.
    await Promise.all(pending.map((p) => p.attachment.connect(files, firstSeq).catch((err) => p.attachment.fail(err as Error))));
  }

  /** Mounts, writes the /etc files and the spec, and starts the monitor; returns the run's first log seq. */
  private async launch(c: ContainerRecord, consoleSize: { rows: number; cols: number } | undefined, pending: PendingAttachment[]): Promise<number> {
    if (!this.containers.has(c.id)) throw new EngineError('NotFound', `container ${c.id}: not found`);
    const files = this.files(c.id);
    // The cgroup is made while the rootfs is mounted and the files are written: neither needs the other.
    const privileged = Boolean(c.hostConfig.privileged);
    const cgroup = this.cgroups.create(c.id, c.hostConfig.resources ?? {}, privileged ? 'all' : DEFAULT_DEVICE_RULES);
    cgroup.catch(() => undefined); // awaited below, or cleaned up on the way out
    let net: PreparedNetwork | undefined;
    let launched!: () => void;
    const done = new Promise<void>((resolve) => { launched = resolve; });
    try {
      const rootfs = await this.mountRootfs(c, done);
      const hostname = c.config.hostname || c.id.slice(0, 12);
      net = await prepareNetwork({
        network: this.network, find: (ref, field) => this.find(ref, field),
        hostsPathOf: (id) => this.files(id).hostsPath, resolvConfPathOf: (id) => this.files(id).resolvConfPath,
      }, c);
      this.runtime.make(c.id);
      rewriteFile(files.hostnamePath, hostnameFile(hostname), 0o644);
      rewriteFile(files.hostsPath, net.hosts, 0o644);
      rewriteFile(files.resolvConfPath, net.resolvConf, 0o644);
      const user = resolveUser(c.config.user, await readRootfsFile(rootfs, 'etc/passwd'), await readRootfsFile(rootfs, 'etc/group'));
      const mounts = await startMounts(c.hostConfig.mounts ?? [], this.volumes);
      const security = securitySpec({
        privileged, capAdd: c.hostConfig.capAdd ?? [], capDrop: c.hostConfig.capDrop ?? [], securityOpt: c.hostConfig.securityOpt ?? [],
        readonlyRootfs: Boolean(c.hostConfig.readonlyRootfs), sysctls: c.hostConfig.sysctls ?? {},
      });
      const extraDevices = privileged ? hostDevices('/dev', new Set(DEFAULT_DEVICES.map((d) => d.path))) : [];
      const spec = buildSpec(c, {
        ...files, rootfs, user, consoleSize, lastSeq: await lastSeq(files.logPath), mounts, netns: net.netns, netInterface: net.netInterface, linkEnv: net.env, security, extraDevices,
        cgroupProcs: this.cgroups.open(c.id).procsFiles(),
      });
      await cgroup;
      // The monitor writes the log into the container's directory, and nothing runs before its files are written.
      await this.store.written(c.id);
      // Init joins its cgroup before it runs (the monitor writes its pid there before go, no trip of
      // ours); everything it starts is born inside. The monitor makes its veth meanwhile and init
      // brings eth0 up before the program; the published ports' rules (begun at prepareNetwork) are in
      // before go, so the program is reachable from its start.
      const { attach } = net;
      // The monitor listens from "created" on. The attachments' requests are in its socket before go, and it
      // answers them before init runs: their answers are here by the time the start is (twelfth round).
      const task = await this.tasks.start(files, spec, async (pid) => {
        await Promise.all([attach(pid), ...pending.map((p) => p.attachment.preopen(files))]);
      });
      c.state = {
        ...c.state, status: 'running', pid: task.pid, monitorPid: task.monitorPid, exitCode: 0, signal: 0, oomKilled: false,
        error: '', startedAt: task.startedAt, finishedAt: '', pidStartTime: task.pidStartTime,
      };
      // Only a container with a restart policy needs "it was running" to survive a power loss (to be started
      // again at boot); for the others a lost record of the start means what the reboot did anyway. An
      // auto-remove container's is not written at all: berthd's start finds it running through its monitor
      // (which tells the start time too), or removes it (recovery.ts).
      if (!c.hostConfig.autoRemove) await this.store.saveState(c, { durable: (c.hostConfig.restartPolicy?.name ?? 'no') !== 'no' });
      this.emit(c, 'start');
      return spec.log.firstSeq;
    } catch (err) {
      await cgroup.then((cg) => cg.destroy(), () => undefined).catch(() => undefined);
      await net?.release().catch((e) => log.warn('releasing the network of a failed start failed', { id: c.id, error: String(e) }));
      await this.unmountRootfs(c.id);
      c.state = { ...c.state, status: c.state.status === 'restarting' ? 'exited' : c.state.status, error: err instanceof Error ? err.message : String(err), exitCode: 127 };
      if (this.containers.has(c.id)) {
        await this.store.saveState(c);
      } else {
        // Gone already: its files could not be written (dropUnwritten). What the write and the start made goes.
        await this.cleanUpRemoved(c.id, this.store.containerDir(c.id));
      }
      throw err;
    } finally {
      launched();
    }
  }

  /**
   * not-running: resolves once the container is not running (at once if it is not); next-exit: at its
   * next exit from now; removed: once it is gone. Returns the last exit.
   */
  async wait(ref: string, signal?: AbortSignal, condition: WaitCondition = 'not-running'): Promise<{ exitCode: number; signal: number }> {
    return this.waitOn(this.find(ref), signal, condition);
  }

  protected async waitOn(c: ContainerRecord, signal?: AbortSignal, condition: WaitCondition = 'not-running'): Promise<{ exitCode: number; signal: number }> {
    const exitsBefore = this.exits.get(c.id) ?? 0;
    const done = (): boolean => {
      if (!this.containers.has(c.id)) return true;
      if (condition === 'removed') return false;
      const settled = !isActive(c.state.status) && !this.locks.has(c.id);
      return settled && (condition === 'not-running' || (this.exits.get(c.id) ?? 0) > exitsBefore);
    };
    // One abort listener for the whole wait, however many times the container changes under it.
    let cancel: (() => void) | undefined;
    const onAbort = () => cancel?.();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      while (!done()) {
        if (signal?.aborted) throw new EngineError('Canceled', `wait for container ${c.id}: cancelled`);
        await new Promise<void>((resolve, reject) => {
          cancel = () => reject(new EngineError('Canceled', `wait for container ${c.id}: cancelled`));
          const list = this.waiters.get(c.id) ?? [];
          list.push(resolve);
          this.waiters.set(c.id, list);
        });
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return { exitCode: c.state.exitCode, signal: c.state.signal };
  }

  /** wait(), but gives up after ms (then false); -1 waits for ever. */
  protected async waitFor(id: string, ms: number): Promise<boolean> {
    if (ms < 0) { await this.wait(id); return true; }
    const timeout = AbortSignal.timeout(Math.max(ms, 1));
    try {
      await this.wait(id, timeout);
      return true;
    } catch (err) {
      if (timeout.aborted) return false;
      throw err;
    }
  }

  /** volumes: also remove its anonymous volumes that no other container uses (docker rm -v). */
  async remove(ref: string, force: boolean, volumes = false): Promise<void> {
    const c = this.find(ref);
    if (isActive(c.state.status) || c.state.status === 'restarting') {
      if (!force) throw new EngineError('FailedPrecondition', `remove container ${c.id}: status is ${c.state.status}: stop it first or use force`);
      await this.markStopped(c);
      this.cancelRestart(c.id);
      // It may have exited since the check; then there is nothing to kill, only the exit to wait for.
      if (this.tasks.isLive(c.id)) await this.signal(c, SIGKILL);
      await this.wait(c.id);
    }
    await this.withLock(c.id, async () => {
      // Its files first (createBehind); if they could not be written, it is gone already.
      await this.store.written(c.id).catch(() => undefined);
      if (!this.containers.has(c.id)) return; // a concurrent remove got there first
      if (isActive(c.state.status)) throw new EngineError('FailedPrecondition', `remove container ${c.id}: status is ${c.state.status}`);
      this.cancelRestart(c.id);
      // The rename is the point of no return; the rest is cleanup a restarted daemon would also finish.
      const doomed = this.store.markRemoved(c.id);
      this.containers.delete(c.id);
      this.names.delete(c.name);
      // Gone for every client from here: Wait(removed) answers now, while the cleanup goes on under the lock
      // (an auto-remove container's rootfs is still mounted: its unmount syncs the disk, bench/README.md).
      this.emit(c, 'destroy');
      this.wake(c.id);
      await this.cleanUpRemoved(c.id, doomed);
    });
    // After the container is gone, so that it no longer counts as a user.
    if (volumes) {
      await removeAnonymousVolumes(c, this.volumes, (name) => this.volumeUsers(name).length > 0, (name) =>
        this.events.append({ type: 'volume', action: 'destroy', actorId: name, attributes: { driver: 'local' } }));
    }
  }

  /**
   * A cgroup under our parent that no running container owns. For a known container this runs under its
   * lock, so a restart-policy start that is due at the same moment either finds it gone or runs after.
   */
  async removeStrayCgroup(id: string): Promise<void> {
    const clean = async () => {
      const cg = this.cgroups.open(id);
      await cg.killAll().catch(() => undefined);
      await cg.destroy().catch((err) => {
        if (kindOf(err) !== 'NotFound') log.warn('removing a stray cgroup failed', { id, error: String(err) });
      });
    };
    if (!this.containers.has(id)) return clean();
    await this.withLock(id, async () => {
      const c = this.containers.get(id);
      if (c && !isActive(c.state.status)) await clean();
    });
  }

  /**
   * Everything of a removed container outside its (renamed) directory, then the directory. The overlay's
   * unmount (it syncs the filesystem under the upper dir), the runtime files and the two directories' way
   * to the trash are one trip through the pool: the event loop goes on meanwhile (the next container's
   * start, the answer to Wait). The directories' files are deleted behind.
   */
  async cleanUpRemoved(id: string, doomedDir: string): Promise<void> {
    this.releaseNetworkBehind(id);
    const { dir, merged } = overlayPaths(this.root, id);
    const [, [unmounted, runtime]] = await Promise.all([
      this.cgroups.open(id).destroy().catch((err) => log.warn('removing a cgroup failed', { id, error: String(err) })),
      // Detached, as unmountRootfs: a process still inside keeps it alive, unseen. EINVAL: it was not mounted.
      this.trash.discard([dir, doomedDir], [{ op: 'unmount', path: merged }, { op: 'removeTree', path: this.runtime.containerDir(id) }]),
    ]);
    if (unmounted && unmounted.code !== 'EINVAL' && unmounted.code !== 'ENOENT') throw fromNative(unmounted);
    if (runtime) throw fromNative(runtime);
  }

  /**
   * Starts releasing the container's network and returns: deleting a published port's rule is an
   * nf_tables commit that waits for an RCU grace period (6-19 ms here, bench/README.md), and nothing
   * of an exit or a remove needs it done. What the network holds stays held until then, and a start
   * that needs it waits (NetworkManager.allocate); a crash before the end is swept by repair().
   */
  private releaseNetworkBehind(id: string): void {
    this.network?.release(id).catch((err) => log.warn('releasing a network failed', { id, error: String(err) }));
  }

  /** A client's stop or kill: the restart policy leaves the container alone (unless-stopped stays stopped). */
  protected async markStopped(c: ContainerRecord): Promise<void> {
    if (c.state.manuallyStopped) return;
    c.state = { ...c.state, manuallyStopped: true };
    // Written under the lock, and only while the container is there: the exit it is about to see may be
    // its last, and an auto-remove then takes its directory (`berth run --rm` removes it too).
    await this.withLock(c.id, async () => {
      if (this.containers.has(c.id)) await this.store.saveState(c);
    });
  }

  /** A signal to init; a paused container is thawed so that it arrives. */
  protected async signal(c: ContainerRecord, signal: number): Promise<void> {
    await this.tasks.kill(c.id, signal);
    this.emit(c, 'kill', { signal: String(signal) });
    if (c.state.status === 'paused') {
      await this.withLock(c.id, () => this.thaw(c));
      this.emit(c, 'unpause');
    }
  }

  protected async thaw(c: ContainerRecord): Promise<void> {
    if (c.state.status !== 'paused') throw new EngineError('FailedPrecondition', `unpause container ${c.id}: status is ${c.state.status}`);
    await this.cgroups.open(c.id).thaw();
    c.state = { ...c.state, status: 'running' };
    await this.store.saveState(c);
  }

  /**
   * Records an exit under the container's lock, so Wait returns only once the rootfs is released and the
   * state saved (an auto-remove container's rootfs goes with its removal); then the restart policy or
   * auto-remove takes it from there.
   */
  onExit(id: string, status: ExitStatus): Promise<void> {
    let autoRemove = false;
    return this.withLock(id, async () => {
      const c = this.containers.get(id);
      if (!c) return;
      const ranMs = c.state.startedAt ? Date.parse(status.finishedAt) - Date.parse(c.state.startedAt) : 0;
      const cgroup = this.cgroups.open(id);
      const [ooms, left] = await Promise.all([cgroup.oomKills().catch(() => 0), cgroup.pids().catch(() => [])]);
      const oomKilled = ooms > 0;
      // Whatever is left (the monitor died and init's tree lives on) goes with the cgroup. Normally
      // nothing is: init's death took its pid namespace along.
      if (left.length > 0) await cgroup.killAll().catch(() => undefined);
      this.releaseNetworkBehind(id);
      // An auto-remove container is removed next (its attached clients first read the end): its cgroup and
      // rootfs go with the removal, after Wait has its answer (cleanUpRemoved).
      if (!c.hostConfig.autoRemove) {
        // The cgroup and the rootfs do not depend on each other: they go side by side.
        await Promise.all([
          cgroup.destroy().catch((err) => log.warn('removing a cgroup failed', { id, error: String(err) })),
          this.unmountRootfs(id),
        ]);
      }
      c.state = {
        ...c.state, status: 'exited', pid: 0, monitorPid: 0, pidStartTime: 0, exitCode: status.exitCode, signal: status.signal,
        finishedAt: status.finishedAt, error: status.error ?? '', oomKilled,
      };
      if (status.error) log.warn('container ended without its own exit status', { id, error: status.error });
      if (shouldRestart(c.hostConfig.restartPolicy, c.state)) {
        c.state.status = 'restarting';
        this.scheduleRestart(c, ranMs);
      }
      autoRemove = Boolean(c.hostConfig.autoRemove) && c.state.status === 'exited';
      // The monitor's exit file (fsynced) backs this record: recovery reads it if the record is lost.
      // An auto-remove container is removed next, and a daemon that stops first finds the exit file
      // and removes it at its start: its record need not be written at all.
      if (!autoRemove) await this.store.saveState(c, { durable: false });
      this.exits.set(id, (this.exits.get(id) ?? 0) + 1);
      if (oomKilled) this.emit(c, 'oom');
      this.emit(c, 'die', { exitCode: String(status.exitCode), ...(status.signal && { signal: String(status.signal) }) });
    }).then(async () => {
      if (autoRemove) await this.autoRemove(id);
    }).catch((err) => log.error('recording a container exit failed', { id, error: String(err) }));
  }

  /** Removes an exited auto-remove container, once its attached clients have read to the end. */
  private async autoRemove(id: string): Promise<void> {
    // As docker run --rm: its anonymous volumes go with it.
    if ((this.attachments.get(id)?.size ?? 0) === 0) {
      await this.remove(id, false, true);
      return;
    }
    this.removeWhenDetached.add(id);
    // A client that never reads its end must not keep the container for ever.
    setTimeout(() => this.removeDetached(id), AUTO_REMOVE_GRACE_MS).unref();
  }

  protected track(id: string, attachment: Attachment): void {
    const set = this.attachments.get(id) ?? new Set();
    set.add(attachment);
    this.attachments.set(id, set);
    attachment.onClose(() => {
      set.delete(attachment);
      if (set.size === 0) {
        this.attachments.delete(id);
        this.removeDetached(id);
      }
    });
  }

  private removeDetached(id: string): void {
    if (!this.removeWhenDetached.delete(id)) return;
    this.remove(id, false, true).catch((err) => {
      if (kindOf(err) !== 'NotFound') log.warn('auto-remove failed', { id, error: String(err) });
    });
  }

  /** The restart policy's next start, after the back-off. */
  scheduleRestart(c: ContainerRecord, ranMs: number): void {
    const delay = nextDelay(this.restartDelays.get(c.id) ?? 0, ranMs);
    this.restartDelays.set(c.id, delay);
    this.cancelRestart(c.id);
    const timer = setTimeout(() => {
      this.restartTimers.delete(c.id);
      if (this.containers.get(c.id)?.state.status !== 'restarting') return;
      this.start(c.id, undefined, true).catch((err) => log.warn('restart policy: start failed', { id: c.id, error: String(err) }));
    }, delay);
    this.restartTimers.set(c.id, timer);
  }

  protected cancelRestart(id: string): void {
    const timer = this.restartTimers.get(id);
    if (timer) clearTimeout(timer);
    this.restartTimers.delete(id);
  }

  private wake(id: string): void {
    const list = this.waiters.get(id) ?? [];
    this.waiters.delete(id);
    for (const w of list) w();
  }

  protected withLock(id: string, fn: () => Promise<void>): Promise<void> {
    const run = (this.locks.get(id) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => undefined).then(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
      this.wake(id);
    });
    this.locks.set(id, tail);
    return run;
  }

  /**
   * Mounts the container's overlay (once: a mounted one is left as it is), or takes the standby made for its
   * image; returns the merged dir. launched: for a start, settled once it is done; the image's overlay may then
   * be made ahead for the next start (rootfs/standby.ts).
   */
  protected async mountRootfs(c: ContainerRecord, launched?: Promise<void>): Promise<string> {
    const paths = overlayPaths(this.root, c.id);
    if (isMounted(paths.merged)) return paths.merged;
    const image = this.images.resolve(c.image);
    try {
      const layers = this.images.layerPaths(image);
      const init = initLayerPath(this.root, image.id);
      await prepareInitLayer(init, layers);
      const links = await shortLayerPaths(this.root, layers);
      const lowers = links.map((link) => path.join(this.root, link));
      // The start of an auto-remove container: its upper dir goes with it, unsynced (overlayMount, volatile).
      const volatile = launched !== undefined && Boolean(c.hostConfig.autoRemove);
      const absolute = overlayMount(paths, init, lowers, volatile);
      if (absolute.data.length < MOUNT_OPTIONS_MAX) {
        const key = `${this.images.deletions}|${standbyKey(absolute)}`;
        if (!this.standby.take(key, paths)) await this.mountOverlayInPool(paths, absolute);
        if (launched) this.standby.started(key, (p) => overlayMount(p, init, lowers, volatile), launched);
      } else {
        prepareOverlay(paths);
        // The options hold the links relative to the data root: the mount runs there (synchronously:
        // nothing else of ours runs meanwhile, and berthd uses no relative paths), then the working
        // directory goes back.
        const cwd = process.cwd();
        process.chdir(this.root);
        try {
          this.native.mount(overlayMount(paths, path.relative(this.root, init), links, volatile));
        } finally {
          process.chdir(cwd);
        }
      }
    } catch (err) {
      throw wrap(err, `mount rootfs of container ${c.id}`);
    }
    return paths.merged;
  }

  /**
   * The overlay's directories (those there already are fine), a volatile mount's mark (volatileMarkPath) and
   * the mount, in one trip through the pool: with many containers made and removed at once, each of these
   * calls waited 0.5-1 ms for ext4 and for the kernel's mount lock on the event loop (bench/README.md).
   */
  private async mountOverlayInPool(paths: OverlayPaths, mount: MountOptions): Promise<void> {
    const dirs = [{ path: path.dirname(paths.dir), mode: 0o700 }, { path: paths.dir, mode: 0o700 }, ...[paths.upper, paths.work, paths.merged].map((d) => ({ path: d, mode: 0o755 }))];
    const results = await this.native.fileOps([
      ...dirs.map((d) => ({ op: 'mkdir' as const, ...d })),
      { op: 'removeTree', path: volatileMarkPath(paths) },
      { op: 'mount', path: mount.target, source: mount.source, fstype: mount.fstype, data: mount.data },
    ]);
    const failed = results.find((err, i) => err !== null && !(i < dirs.length && err.code === 'EEXIST'));
    if (failed) throw fromNative(failed);
  }

  /**
   * Detached: a process still inside keeps it alive, unseen. In the pool: an overlay's unmount syncs the
   * filesystem under its upper dir, 1.3 ms per exit on the event loop with 8 containers ending at a time
   * (bench/README.md), and longer while the disk is busy.
   */
  async unmountRootfs(id: string): Promise<void> {
    const { merged } = overlayPaths(this.root, id);
    if (!isMounted(merged)) return;
    const [err] = await this.native.fileOps([{ op: 'unmount', path: merged }]);
    if (err) throw fromNative(err);
  }

  private uniqueGeneratedName(): string {
    for (;;) {
      const name = generateName();
      if (!this.names.has(name)) return name;
    }
  }
}

/**
 * Reads /etc/<file> of the container's rootfs, refusing a symlinked /etc or file so that an image
 * cannot point us at the host's files; missing reads as empty. TODO(#7): openat2 RESOLVE_IN_ROOT.
 */
export async function readRootfsFile(rootfs: string, rel: string): Promise<string> {
  const full = path.join(rootfs, rel);
  // Synchronous: two lstats and a small read, cheaper than three trips through the thread pool.
  try {
    if (!fs.lstatSync(path.dirname(full)).isDirectory()) return '';
    if (!fs.lstatSync(full).isFile()) return '';
    return fs.readFileSync(full, 'utf8');
  } catch {
    return ''; // an image without /etc/passwd: numeric users still work
  }
}
