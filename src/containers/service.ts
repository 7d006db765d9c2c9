// The operations clients call on a container beyond create, start and remove (core.ts) and its
// filesystem (filesystem.ts): stop, kill, restart, pause, rename, update, prune, logs, attach, resize,
// stats and top.
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Resources } from '../cgroups/resources';
import { EngineError, invalidArgument, kindOf, wrap } from '../errors';
import type { ContainerProcess } from '../gen/berth/v1/containers';
import type { ImageRecord } from '../images/model';
import { matches, readLog, type LogEntry, type LogFilter } from '../io/logs';
import { overlayPaths } from '../rootfs/overlay';
import { resolveUser, type ResolvedUser } from '../runtime/user';
import { MonitorStream } from '../tasks/monitor-stream';
import { sameProcess } from '../tasks/proc';
import { Attachment, type AttachSelection } from './attachment';
import { commitImage, type CommitOptions } from './commit';
import { readRootfsFile, SIGKILL } from './core';
import { ContainerFilesystem } from './filesystem';
import { isActive, type ContainerRecord, type HostConfig, type RestartPolicy } from './model';
import { parseSignal } from './signals';
import type { StatsInput } from './stats';
import { listProcesses } from './top';
import { validateName } from './validate';
import { log } from '../util/logger';

export { type ContainerFiles, type CreateOptions, type ServiceDeps, type WaitCondition } from './core';

const SIGTERM = os.constants.signals.SIGTERM;
/** Seconds Stop waits for the stop signal to work when neither the request nor the container says. */
const DEFAULT_STOP_SECONDS = 10;

export class ContainerService extends ContainerFilesystem {

  /** Sends a signal to init. A paused container takes only KILL (it is thawed to die); a client's kill counts as a stop for restart policies. */
  async kill(ref: string, signal: number): Promise<void> {
    const c = this.find(ref);
    if (!isActive(c.state.status)) throw new EngineError('FailedPrecondition', `kill container ${c.id}: status is ${c.state.status}`);
    if (c.state.status === 'paused' && signal !== SIGKILL) {
      throw new EngineError('FailedPrecondition', `kill container ${c.id}: status is paused: unpause it first (only KILL reaches a paused container)`);
    }
    await this.markStopped(c);
    await this.signal(c, signal);
  }

  /**
   * The stop signal, up to the timeout for the container to exit, then KILL (the seed's Stop). A container
   * that is not running is left as it is; a restarting one stays exited.
   */
  async stop(ref: string, timeoutSeconds?: number): Promise<void> {
    const c = this.find(ref);
    if (c.state.status === 'restarting') {
      await this.withLock(c.id, async () => {
        if (!this.containers.has(c.id)) return; // a forced remove got there first
        this.cancelRestart(c.id);
        c.state = { ...c.state, status: 'exited', manuallyStopped: true };
        await this.store.saveState(c);
      });
      this.emit(c, 'stop');
      return;
    }
    if (!isActive(c.state.status)) return;
    await this.markStopped(c);
    const seconds = timeoutSeconds ?? c.config.stopTimeout ?? DEFAULT_STOP_SECONDS;
    const stopSignal = c.config.stopSignal ? parseSignal(c.config.stopSignal) : SIGTERM;
    if (seconds !== 0) {
      await this.signal(c, stopSignal);
      if (await this.waitFor(c.id, seconds < 0 ? -1 : seconds * 1000)) { this.emit(c, 'stop'); return; }
    }
    if (isActive(c.state.status)) await this.signal(c, SIGKILL);
    await this.wait(c.id);
    this.emit(c, 'stop');
  }

  /** Stop (if it runs), then start; the restart policy's counters start over. */
  async restart(ref: string, timeoutSeconds?: number): Promise<void> {
    const c = this.find(ref);
    await this.stop(c.id, timeoutSeconds);
    await this.start(c.id);
    this.emit(c, 'restart');
  }

  async pause(ref: string): Promise<void> {
    const c = this.find(ref);
    await this.withLock(c.id, async () => {
      if (c.state.status !== 'running') throw new EngineError('FailedPrecondition', `pause container ${c.id}: status is ${c.state.status}`);
      await this.cgroups.open(c.id).freeze();
      c.state = { ...c.state, status: 'paused' };
      await this.store.saveState(c);
    });
    this.emit(c, 'pause');
  }

  async unpause(ref: string): Promise<void> {
    const c = this.find(ref);
    await this.withLock(c.id, () => this.thaw(c));
    this.emit(c, 'unpause');
  }

  async rename(ref: string, newName: string): Promise<void> {
    const c = this.find(ref);
    const name = newName.startsWith('/') ? newName.slice(1) : newName;
    validateName(name, 'new_name');
    const oldName = c.name;
    if (name === oldName) throw invalidArgument('new_name', newName, 'is already the container\'s name');
    if (this.names.has(name)) {
      throw new EngineError('AlreadyExists', `container name ${JSON.stringify(name)}: already in use by container ${this.names.get(name)!.slice(0, 12)}`);
    }
    // Claimed before the first await, as in create.
    this.names.set(name, c.id);
    try {
      await this.withLock(c.id, async () => {
        if (!this.containers.has(c.id)) throw new EngineError('NotFound', `container ${c.id}: not found`);
        c.name = name;
        await this.store.saveConfig(c);
      });
    } catch (err) {
      this.names.delete(name);
      c.name = oldName;
      throw err;
    }
    this.names.delete(oldName);
    this.emit(c, 'rename', { oldName });
  }

  /** New limits (applied at once when it runs) and restart policy; fields left undefined keep their value. */
  async update(ref: string, resources: Resources, restartPolicy?: RestartPolicy | null): Promise<void> {
    const c = this.find(ref);
    await this.withLock(c.id, async () => {
      if (restartPolicy && c.hostConfig.autoRemove) {
        throw invalidArgument('restart_policy.name', restartPolicy.name, 'the container is removed when it exits (auto_remove): it cannot also restart');
      }
      const merged: Resources = { ...c.hostConfig.resources };
      for (const [k, v] of Object.entries(resources)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
      if (isActive(c.state.status)) {
        try {
          await this.cgroups.open(c.id).update(resources);
        } catch (err) {
          throw wrap(err, `update container ${c.id}`);
        }
      }
      const hostConfig: HostConfig = { ...c.hostConfig, resources: merged };
      if (restartPolicy !== undefined) {
        if (restartPolicy) hostConfig.restartPolicy = restartPolicy;
        else delete hostConfig.restartPolicy;
      }
      await this.store.saveHostConfig(c.id, hostConfig);
      c.hostConfig = hostConfig;
    });
    this.emit(c, 'update');
  }

  /** Removes every container that is not running; returns their ids and the bytes freed. */
  async prune(): Promise<{ removed: string[]; bytes: number }> {
    const removed: string[] = [];
    let bytes = 0;
    for (const c of [...this.containers.values()]) {
      if (c.state.status !== 'created' && c.state.status !== 'exited') continue;
      const size = await diskUsage(overlayPaths(this.root, c.id).dir) + await diskUsage(this.files(c.id).dir);
      try {
        await this.remove(c.id, false);
        removed.push(c.id);
        bytes += size;
      } catch (err) {
        // Started (or removed) meanwhile: not ours to prune any more.
        if (kindOf(err) !== 'FailedPrecondition' && kindOf(err) !== 'NotFound') throw err;
      }
    }
    return { removed, bytes };
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
        const { stream, answer } = await MonitorStream.open(files, `attach ${JSON.stringify({ stdin: false, stdout: filter.stdout, stderr: filter.stderr })}`);
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
      // By the record, not the id: an auto-removed container may be gone by the time this is asked.
      waitExit: () => this.waitOn(c),
    });
    this.track(c.id, attachment);
    this.emit(c, 'attach');
    if (c.state.status === 'running' && this.tasks.isLive(c.id)) {
      await attachment.connect(files);
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

  /**
   * docker commit: a running container is paused while its layer is read (unless told not to), so the
   * layer is one instant of it; a paused one stays paused.
   */
  async commit(ref: string, opts: CommitOptions & { pause: boolean }): Promise<ImageRecord> {
    const c = this.find(ref);
    const pause = opts.pause && c.state.status === 'running';
    if (pause) await this.pause(c.id);
    try {
      const image = await commitImage(this.images, c, overlayPaths(this.root, c.id).upper, opts);
      this.emit(c, 'commit', { imageID: image.id, ...(image.repoTags[0] && { imageName: image.repoTags[0] }) });
      return image;
    } finally {
      if (pause) await this.unpause(c.id).catch((err) => log.warn('commit: unpause failed', { id: c.id, error: String(err) }));
    }
  }

  /** What a stats sample needs; init's pid only while its start time says it is still init. */
  statsInput(ref: string): StatsInput {
    const c = this.find(ref);
    if (!isActive(c.state.status)) throw new EngineError('FailedPrecondition', `stats of container ${c.id}: status is ${c.state.status}`);
    const pid = sameProcess(c.state.pid, c.state.pidStartTime) ? c.state.pid : 0;
    return { id: c.id, name: c.name, cgroup: this.cgroups.open(c.id), pid, startedAt: new Date(c.state.startedAt) };
  }

  /** The processes in the container's cgroup, with users named from its own /etc/passwd. */
  async top(ref: string): Promise<ContainerProcess[]> {
    const c = this.find(ref);
    if (!isActive(c.state.status)) throw new EngineError('FailedPrecondition', `top of container ${c.id}: status is ${c.state.status}`);
    const pids = await this.cgroups.open(c.id).pids();
    return listProcesses(pids, await readRootfsFile(overlayPaths(this.root, c.id).merged, 'etc/passwd'));
  }

  /** Reads /etc/passwd and /etc/group of a running container's rootfs to resolve a user. */
  async resolveUserIn(c: ContainerRecord, spec: string, field: string): Promise<ResolvedUser> {
    const rootfs = overlayPaths(this.root, c.id).merged;
    return resolveUser(spec, await readRootfsFile(rootfs, 'etc/passwd'), await readRootfsFile(rootfs, 'etc/group'), field);
  }
}

/** Bytes used by the files under dir (0 when it is missing). */
async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) total += await diskUsage(full);
    else total += await fsp.lstat(full).then((st) => st.blocks * 512, () => 0);
  }
  return total;
}
