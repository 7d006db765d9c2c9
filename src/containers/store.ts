// The container store: one directory per container with config.json, hostconfig.json and state.json,
// each written atomically; loaded back when the daemon starts.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { EngineError } from '../errors';
import { sharedNative } from '../native/addon';
import { fromNative } from '../native/errors';
import { readJsonFile, syncDirectory, tempPathFor, writeFileAtomic, type AtomicWriteOptions } from '../util/atomic-file';
import { FULL_ID } from '../util/ids';
import { log } from '../util/logger';
import { initialState, type ContainerRecord, type ContainerState, type HostConfig } from './model';

type StoredConfig = Omit<ContainerRecord, 'state' | 'hostConfig'>;

/** A stored file that is there but not whole JSON: written without an fsync, then a power loss. */
const TORN = Symbol('torn');

async function readStored<T>(file: string): Promise<T | undefined | typeof TORN> {
  try {
    return await readJsonFile<T>(file);
  } catch (err) {
    if (err instanceof SyntaxError) return TORN;
    throw err;
  }
}

const REMOVING = '.removing-';

/** What each of a container's three files holds. */
const hostConfigText = (hostConfig: HostConfig) => JSON.stringify(hostConfig);
const stateText = (record: ContainerRecord) => JSON.stringify(record.state, null, 2);
function configText(record: ContainerRecord): string {
  const { state: _state, hostConfig: _host, ...config } = record;
  return JSON.stringify(config, null, 2);
}

function alreadyExists(id: string, cause: unknown): EngineError {
  return new EngineError('AlreadyExists', `container ${id}: directory exists`, { cause });
}

/** How long the error of a createBehind stays for written() to report. */
const FAILED_CREATE_KEPT_MS = 60_000;

export class ContainerStore {
  readonly dir: string;
  /** Creates under way that the caller did not wait for (createBehind): what writes into their directory waits. */
  private readonly creating = new Map<string, Promise<void>>();

  constructor(root: string) {
    this.dir = path.join(root, 'containers');
  }

  /**
   * create() for an auto-remove container whose start follows at once (a run in one call): the files are
   * written while the start prepares, and everything that writes into the directory, or renames it, waits for
   * them first (written). A crash meanwhile loses nothing a client could miss: such a container is removed
   * at the next daemon start if it does not run, and the monitor, which runs it, starts only once they are
   * written.
   */
  createBehind(record: ContainerRecord): Promise<void> {
    if (!record.hostConfig.autoRemove) throw new Error('createBehind: only for an auto-remove container');
    const done = this.create(record);
    this.creating.set(record.id, done);
    // A failure stays to be seen a while: the start under way may ask only after it.
    const forget = () => { this.creating.delete(record.id); };
    done.then(forget, () => setTimeout(forget, FAILED_CREATE_KEPT_MS).unref());
    return done;
  }

  /** Resolves once the container's files are written (at once, but for a createBehind under way); its error. */
  async written(id: string): Promise<void> {
    await this.creating.get(id);
  }

  containerDir(id: string): string {
    return path.join(this.dir, id);
  }

  /** The containers, and the removals a crash interrupted (id and renamed directory): the caller finishes those. */
  async loadAll(): Promise<{ records: ContainerRecord[]; removals: { id: string; dir: string }[] }> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const records: ContainerRecord[] = [];
    const removals: { id: string; dir: string }[] = [];
    for (const entry of await fsp.readdir(this.dir)) {
      const dir = path.join(this.dir, entry);
      // The rename already took it out of the store; what is left is cleanup.
      if (entry.startsWith(REMOVING)) { removals.push({ id: entry.slice(REMOVING.length), dir }); continue; }
      if (!FULL_ID.test(entry)) continue;
      const config = await readStored<StoredConfig>(path.join(dir, 'config.json'));
      let state = await readStored<ContainerState>(path.join(dir, 'state.json'));
      const hostConfig = await readStored<HostConfig>(path.join(dir, 'hostconfig.json'));
      if (!config || config === TORN || !hostConfig || hostConfig === TORN) {
        // Create answers only once config and hostconfig are written and fsynced (later writes replace them
        // whole): without one the create never finished, so nothing was promised; torn, a disk failed. An
        // auto-remove container's are not fsynced: lost or torn, a power loss came first, and recovery would
        // remove it anyway.
        log.warn('dropping a container whose create did not finish', { id: entry });
        await fsp.rm(dir, { recursive: true, force: true });
        continue;
      }
      if (!state || state === TORN) {
        // No state.json write is fsynced unless a restart policy needs it (create's holds the initial state):
        // after a power loss it may be torn, or missing where the filesystem had not written its inode. The
        // monitor's exit file and the running monitor are what recovery reconciles the record with.
        log.warn('a container\'s state.json was lost or torn by a power loss; its state is taken from its monitor', { id: entry });
        state = initialState();
      }
      // Fields added since the record was written take their defaults.
      records.push({ ...config, config: { ...config.config, stopSignal: config.config.stopSignal ?? '' }, hostConfig, state: { ...initialState(), ...state } });
    }
    return { records, removals };
  }

  /** Creates the directory and writes every file; config and hostconfig present means "created" (loadAll). */
  async create(record: ContainerRecord): Promise<void> {
    const dir = this.containerDir(record.id);
    if (record.hostConfig.autoRemove) {
      // No fsync at all: an auto-remove container that is not running when berthd starts is removed then
      // (recovery.ts, as dockerd's restore does), and after a power loss nothing runs. A file the power loss
      // tore or lost drops the container here (loadAll), as the removal would have. A crash of berthd alone
      // loses nothing: the page cache holds what was written.
      await this.createQuickly(dir, record);
      return;
    }
    try {
      // On the event loop: a mkdir takes microseconds, a trip through the pool longer (STYLE.md).
      fs.mkdirSync(dir, { mode: 0o710 });
    } catch (err) {
      // Anything else (EPERM, ENOSPC) is the disk's answer, not a name taken.
      throw (err as NodeJS.ErrnoException).code === 'EEXIST' ? alreadyExists(record.id, err) : err;
    }
    // Three files side by side, then one fsync of their directory, and one of ours for the directory's
    // own entry: without it a power loss could lose the container with all its fsynced files. state.json
    // holds the initial state, which loadAll takes for one that is torn or missing: it is not fsynced
    // (the fsyncs of one directory's files queue behind each other: without this one a `run --rm` took
    // 0.60-0.68 ms less, bench/README.md).
    const batch = { syncDir: false };
    await Promise.all([this.saveHostConfig(record.id, record.hostConfig, batch), this.saveState(record, { durable: false }), this.saveConfig(record, batch)]);
    await Promise.all([syncDirectory(dir), syncDirectory(this.dir)]);
  }

  /**
   * The directory and its three files, each written to a temporary name and renamed, all in one trip
   * through the pool: many containers made and removed at once contend for the `containers` directory
   * and ext4's inode allocator, and each of these calls then waited 0.5-1 ms on the event loop
   * (bench/README.md).
   */
  private async createQuickly(dir: string, record: ContainerRecord): Promise<void> {
    const files = [['hostconfig.json', hostConfigText(record.hostConfig)], ['state.json', stateText(record)], ['config.json', configText(record)]];
    const named = files.map(([name, data]) => ({ target: path.join(dir, name), data, tmp: tempPathFor(path.join(dir, name)) }));
    const results = await sharedNative().fileOps([
      { op: 'mkdir', path: dir, mode: 0o710 },
      ...named.map(({ tmp, data }) => ({ op: 'create' as const, path: tmp, data, mode: 0o600 })),
      ...named.map(({ tmp, target }) => ({ op: 'rename' as const, path: tmp, to: target })),
    ]);
    const [made, ...rest] = results;
    if (made) throw (made.code === 'EEXIST' ? alreadyExists(record.id, made) : fromNative(made));
    const failed = rest.find((err) => err !== null);
    if (failed) throw fromNative(failed);
  }

  async saveHostConfig(id: string, hostConfig: HostConfig, opts: AtomicWriteOptions = {}): Promise<void> {
    await this.written(id);
    await writeFileAtomic(path.join(this.containerDir(id), 'hostconfig.json'), hostConfigText(hostConfig), 0o600, opts);
  }

  async saveConfig(record: ContainerRecord, opts: AtomicWriteOptions = {}): Promise<void> {
    await this.written(record.id);
    await writeFileAtomic(path.join(this.containerDir(record.id), 'config.json'), configText(record), 0o600, opts);
  }

  /**
   * durable false: atomic, not fsynced. For the state a start or an exit records, which the monitor's own
   * files back: after a power loss, recovery finds an unrecorded start through the live monitor (there is
   * none after a reboot) and an unrecorded exit through the exit file, which the monitor fsyncs.
   */
  async saveState(record: ContainerRecord, opts: AtomicWriteOptions = {}): Promise<void> {
    await this.written(record.id);
    await writeFileAtomic(path.join(this.containerDir(record.id), 'state.json'), stateText(record), 0o600, opts);
  }

  /**
   * Takes the container out of the store with one rename: a crash after it leaves no half container,
   * only the renamed directory, which the next loadAll reports. Returns that directory.
   */
  markRemoved(id: string): string {
    const doomed = path.join(this.dir, `${REMOVING}${id}`);
    // On the event loop: one rename takes microseconds, a trip through the pool longer (STYLE.md).
    fs.renameSync(this.containerDir(id), doomed);
    return doomed;
  }
}
