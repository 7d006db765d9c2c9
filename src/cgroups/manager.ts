// Container cgroups on a v1 (or hybrid) or a pure v2 host: create with limits, join, freeze, stats, kill, remove.
// The layout comes from /proc/self/mountinfo; what to write for a limit comes from resources.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import util from 'node:util';
import { EngineError, invalidArgument, kindOf, wrap } from '../errors';
import { fromNative } from '../native/errors';
import type { FileOp, Native } from '../native';
import { sharedNative } from '../native/addon';
import { compileDeviceFilter } from './device-filter';
import { v1Writes, v2Writes, validateResources, type Resources } from './resources';

export type CgroupLayout =
  | { version: 1; mounts: Record<string, string> /* controller -> mount point */; unified?: string }
  | { version: 2; root: string };

export interface CgroupStats {
  cpu: { usageNs: number; userNs: number; systemNs: number; periods: number; throttledPeriods: number; throttledNs: number };
  /** limitBytes 0 = unlimited. */
  memory: { usageBytes: number; limitBytes: number; cacheBytes: number; maxUsageBytes: number };
  /** limit 0 = unlimited. */
  pids: { current: number; limit: number };
  blkio: { readBytes: number; writeBytes: number; readOps: number; writeOps: number };
}

const V1_CONTROLLERS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids'];
const V2_CONTROLLERS = ['cpu', 'cpuset', 'io', 'memory', 'pids'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const SIGKILL = os.constants.signals.SIGKILL;
const WAIT_MS = 5000;
const POLL_MS = 10;
const REFREEZE_MS = 100;

/** v1 when any v1 controller is mounted (a cgroup2 mount beside them is the hybrid's `unified`), else v2. */
export function detectLayout(mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8')): CgroupLayout {
  const mounts: Record<string, string> = {};
  let unified: string | undefined;
  for (const line of mountinfo.split('\n')) {
    // proc(5): id parent dev root mountpoint options [optional...] - fstype source superoptions
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 0) continue;
    const [fstype, , superOptions = ''] = fields.slice(dash + 1);
    const mountPoint = fields[4].replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    if (fstype === 'cgroup2') unified ??= mountPoint;
    if (fstype !== 'cgroup') continue;
    for (const option of superOptions.split(',')) if (V1_CONTROLLERS.includes(option)) mounts[option] ??= mountPoint;
  }
  if (Object.keys(mounts).length > 0) return { version: 1, mounts, ...(unified && { unified }) };
  if (unified) return { version: 2, root: unified };
  throw new EngineError('Unavailable', 'no cgroup filesystem in /proc/self/mountinfo');
}

/** What a cgroup needs of the addon: on cgroup v2, the device controller is a BPF program to attach. */
export type CgroupNative = Pick<Native, 'attachDeviceFilter'>;

export class Cgroups {
  private readonly layout: CgroupLayout;
  /**
   * v1 cpuset directories above the containers that this daemon has given cpus and mems and turned
   * cgroup.clone_children on in: the kernel then copies both into every new child at its mkdir.
   */
  private readonly cpusetReady = new Set<string>();

  /**
   * parent: a relative path under each hierarchy ('berth'), shared by all containers. native: needed to
   * limit devices on cgroup v2 (without it, create with device rules fails there).
   */
  constructor(private readonly parent: string, layout?: CgroupLayout, private readonly native?: CgroupNative) {
    if (!parent.split('/').every((part) => NAME.test(part))) throw invalidArgument('cgroup parent', parent, 'not a relative path');
    this.layout = layout ?? detectLayout();
  }

  /** Idempotent. A limit the host cannot apply removes the cgroup again, unless it existed before. */
  /** devices: the rules after "deny all" (devices.allow lines), or 'all' for a privileged container. */
  async create(id: string, r: Resources, devices?: readonly string[] | 'all'): Promise<ContainerCgroup> {
    const problem = validateResources(r);
    if (problem) throw new EngineError('InvalidArgument', problem);
    const cg = this.open(id);
    let created = false;
    try {
      if (this.layout.version === 1) {
        // v1: the device rules go in the same trip through the pool as the directories.
        const deviceWrites = devices ? cg.deviceWritesV1(devices) : [];
        const made = await makeDirsV1(this.layout, cg.path, this.cpusetReady, deviceWrites);
        created = made.created;
        made.results.forEach((err, i) => { if (err) throw deviceWriteError(deviceWrites[i], err); });
        await cg.apply(r);
      } else {
        created = await makeDirsV2(this.layout, cg.path);
        await cg.apply(r);
        if (devices) await cg.limitDevices(devices);
      }
    } catch (err) {
      // The limit's own error is the one to report; a failed rollback leaves only an empty directory.
      if (created) await cg.destroy().catch(() => undefined);
      throw wrap(err, `create cgroup ${cg.path}`);
    }
    return cg;
  }

  /** A handle for a cgroup made earlier, e.g. by a daemon before its restart; nothing is checked. */
  open(id: string): ContainerCgroup {
    if (!NAME.test(id)) throw invalidArgument('cgroup id', id, 'not a single path component');
    return new ContainerCgroup(id, `${this.parent}/${id}`, this.layout, this.native);
  }

  /** Ids of the container cgroups under the parent in any hierarchy, so leftovers can be cleaned up. */
  async list(): Promise<string[]> {
    const ids = new Set<string>();
    for (const root of hierarchyRoots(this.layout)) {
      const entries = await fs.promises.readdir(path.join(root, this.parent), { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return []; // no container was ever created here
        throw systemError(`readdir ${path.join(root, this.parent)}`, err);
      });
      for (const e of entries) if (e.isDirectory()) ids.add(e.name);
    }
    return [...ids].sort();
  }
}

/** One container's cgroup: `path` (parent/id) in every hierarchy. Get one from Cgroups. */
export class ContainerCgroup {
  constructor(readonly id: string, readonly path: string, private readonly layout: CgroupLayout, private readonly native?: CgroupNative) {}

  async addProcess(pid: number): Promise<void> {
    if (!Number.isSafeInteger(pid) || pid <= 0) throw invalidArgument('pid', pid, 'not a process id');
    // One write per hierarchy, all on one thread of the pool (each takes cgroup_mutex).
    const failed = (await cgroupfs(this.dirs().map((dir) => ({ op: 'write', path: path.join(dir, 'cgroup.procs'), data: String(pid) })))).find((e) => e);
    if (failed) throw systemError(`cgroup.procs ${pid}`, failed);
  }

  async update(r: Resources): Promise<void> {
    const problem = validateResources(r);
    if (problem) throw new EngineError('InvalidArgument', problem);
    await this.apply(r).catch((err: unknown) => {
      throw wrap(err, `update cgroup ${this.path}`);
    });
  }

  /** @internal The writes behind Cgroups.create and update; r is already validated. */
  async apply(r: Resources): Promise<void> {
    if (this.layout.version === 2) {
      for (const w of v2Writes(r)) await this.set(w.file.split('.')[0], w.file, w.value, w.optional);
      return;
    }
    const writes = v1Writes(r);
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i];
      const next = writes[i + 1];
      try {
        await this.set(w.controller, w.file, w.value, w.optional);
      } catch (err) {
        // The kernel keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes, so raising both needs memsw first.
        const swapFirst = w.file === 'memory.limit_in_bytes' && next?.file === 'memory.memsw.limit_in_bytes';
        if (!swapFirst || kindOf(err) !== 'InvalidArgument') throw err;
        await this.set(next.controller, next.file, next.value, next.optional);
        await this.set(w.controller, w.file, w.value, w.optional);
        i++;
      }
    }
  }

  /**
   * Deny every device, then allow the rules (devices.allow lines); 'all' denies nothing. cgroup v1: the
   * devices controller's files. cgroup v2 has none: the kernel runs an eBPF program attached to the
   * cgroup (device-filter.ts), as runc and crun attach one.
   */
  async limitDevices(rules: readonly string[] | 'all'): Promise<void> {
    if (this.layout.version === 2) return this.attachDeviceFilter(rules);
    const writes = this.deviceWritesV1(rules);
    const results = await cgroupfs(writes);
    results.forEach((err, i) => { if (err) throw deviceWriteError(writes[i], err); });
  }

  /** @internal cgroup v1: the writes that limit devices; none without a devices controller. */
  deviceWritesV1(rules: readonly string[] | 'all'): (FileOp & { op: 'write' })[] {
    const dir = this.dirOf('devices');
    if (!dir) return [];
    const write = (file: string, data: string) => ({ op: 'write' as const, path: path.join(dir, file), data });
    if (rules === 'all') return [write('devices.allow', 'a')];
    return [write('devices.deny', 'a'), ...rules.map((rule) => write('devices.allow', rule))];
  }

  private attachDeviceFilter(rules: readonly string[] | 'all'): void {
    if (rules === 'all') return; // privileged: no program, so nothing is denied
    const program = compileDeviceFilter(rules);
    if (!this.native) throw new EngineError('Unimplemented', 'device rules on cgroup v2: no native addon to attach a BPF program with');
    this.mustExist();
    try {
      this.native.attachDeviceFilter(this.dirs()[0], program);
    } catch (err) {
      throw wrap(err, 'device filter');
    }
  }

  freeze(): Promise<void> {
    return this.setFrozen(true);
  }

  thaw(): Promise<void> {
    return this.setFrozen(false);
  }

  async isFrozen(): Promise<boolean> {
    if (this.layout.version === 1) return (await this.read('freezer', 'freezer.state'))?.trim() === 'FROZEN';
    return keyValues(await this.read('cgroup', 'cgroup.events')).get('frozen') === 1;
  }

  /** Host pids of every process in the cgroup. */
  async pids(): Promise<number[]> {
    this.mustExist();
    return ((await this.read('cgroup', 'cgroup.procs')) ?? '').split('\n').filter(Boolean).map(Number);
  }

  /** Zeros where a controller is missing. */
  async stats(): Promise<CgroupStats> {
    this.mustExist();
    return this.layout.version === 1 ? this.statsV1() : this.statsV2();
  }

  private async statsV1(): Promise<CgroupStats> {
    const read = (controller: string, file: string) => this.read(controller, file);
    const cpu = keyValues(await read('cpu', 'cpu.stat'));
    const bytes = blkioTotals(await read('blkio', 'blkio.throttle.io_service_bytes'));
    const ops = blkioTotals(await read('blkio', 'blkio.throttle.io_serviced'));
    return {
      cpu: {
        usageNs: count(await read('cpuacct', 'cpuacct.usage')), userNs: count(await read('cpuacct', 'cpuacct.usage_user')),
        systemNs: count(await read('cpuacct', 'cpuacct.usage_sys')), periods: cpu.get('nr_periods') ?? 0,
        throttledPeriods: cpu.get('nr_throttled') ?? 0, throttledNs: cpu.get('throttled_time') ?? 0,
      },
      memory: {
        usageBytes: count(await read('memory', 'memory.usage_in_bytes')), limitBytes: limit(await read('memory', 'memory.limit_in_bytes')),
        cacheBytes: keyValues(await read('memory', 'memory.stat')).get('total_cache') ?? 0,
        maxUsageBytes: count(await read('memory', 'memory.max_usage_in_bytes')),
      },
      pids: { current: count(await read('pids', 'pids.current')), limit: limit(await read('pids', 'pids.max')) },
      blkio: { readBytes: bytes.read, writeBytes: bytes.write, readOps: ops.read, writeOps: ops.write },
    };
  }

  private async statsV2(): Promise<CgroupStats> {
    const read = (controller: string, file: string) => this.read(controller, file);
    // cgroup-v2.rst: cpu.stat has usage in every cgroup, the throttling fields only with the cpu controller.
    const cpu = keyValues(await read('cpu', 'cpu.stat'));
    const io = ioTotals(await read('io', 'io.stat'));
    return {
      cpu: {
        usageNs: (cpu.get('usage_usec') ?? 0) * 1000, userNs: (cpu.get('user_usec') ?? 0) * 1000,
        systemNs: (cpu.get('system_usec') ?? 0) * 1000, periods: cpu.get('nr_periods') ?? 0,
        throttledPeriods: cpu.get('nr_throttled') ?? 0, throttledNs: (cpu.get('throttled_usec') ?? 0) * 1000,
      },
      memory: {
        usageBytes: count(await read('memory', 'memory.current')), limitBytes: limit(await read('memory', 'memory.max')),
        cacheBytes: keyValues(await read('memory', 'memory.stat')).get('file') ?? 0,
        maxUsageBytes: count(await read('memory', 'memory.peak')),
      },
      pids: { current: count(await read('pids', 'pids.current')), limit: limit(await read('pids', 'pids.max')) },
      blkio: { readBytes: io.rbytes, writeBytes: io.wbytes, readOps: io.rios, writeOps: io.wios },
    };
  }

  /** Processes the OOM killer killed in this cgroup; 0 without a memory controller. */
  async oomKills(): Promise<number> {
    this.mustExist();
    const file = this.layout.version === 1 ? 'memory.oom_control' : 'memory.events';
    return keyValues(await this.read('memory', file)).get('oom_kill') ?? 0;
  }

  /** Signals every process; returns without waiting for them to exit (destroy() waits). */
  async killAll(signal: number = SIGKILL): Promise<void> {
    const dir = this.dirs()[0];
    if (this.layout.version === 2 && signal === SIGKILL && fs.existsSync(path.join(dir, 'cgroup.kill'))) {
      return writeValue(path.join(dir, 'cgroup.kill'), '1');
    }
    // Signalling pid by pid races with fork; frozen, nothing forks (runc's signalAllProcesses).
    const canFreeze = this.layout.version === 1 ? this.layout.mounts.freezer !== undefined : fs.existsSync(path.join(dir, 'cgroup.freeze'));
    const wasFrozen = canFreeze && (await this.isFrozen());
    if (canFreeze) await this.freeze();
    try {
      for (const pid of await this.pids()) {
        try {
          process.kill(pid, signal);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw systemError(`kill ${pid}`, err); // ESRCH: it exited meanwhile
        }
      }
    } finally {
      // A paused container stays paused, unless killed: a frozen process acts on SIGKILL only once thawed.
      if (canFreeze && (!wasFrozen || signal === SIGKILL)) await this.thaw();
    }
  }

  /** Removes the cgroup from every hierarchy; rmdir fails with EBUSY until the last process has exited. */
  async destroy(): Promise<void> {
    // One trip for every hierarchy; one never made, or removed already, is ENOENT.
    let left = this.dirs();
    const deadline = Date.now() + WAIT_MS;
    while (left.length > 0) {
      const results = await cgroupfs(left.map((dir) => ({ op: 'rmdir', path: dir })));
      const busy: string[] = [];
      for (const [i, err] of results.entries()) {
        if (!err || err.code === 'ENOENT') continue; // removed, or by someone else meanwhile
        if (err.code !== 'EBUSY' || Date.now() > deadline) throw systemError(`rmdir ${left[i]}`, err);
        busy.push(left[i]);
      }
      left = busy;
      if (left.length > 0) await sleep(POLL_MS);
    }
  }

  /** A missing cgroup is NotFound, not a missing feature or zeros. */
  private mustExist(): void {
    if (!fs.existsSync(this.dirs()[0])) throw new EngineError('NotFound', `cgroup ${this.path}: does not exist`);
  }

  /** The cgroup.procs file of every hierarchy: writing a pid there moves that process in. */
  procsFiles(): string[] {
    return this.dirs().map((dir) => path.join(dir, 'cgroup.procs'));
  }

  private dirs(): string[] {
    return hierarchyRoots(this.layout).map((root) => path.join(root, this.path));
  }

  /** The directory holding a controller's files ('cgroup' for the core files), undefined when it is not mounted. */
  private dirOf(controller: string): string | undefined {
    if (this.layout.version === 2) return path.join(this.layout.root, this.path);
    const mount = controller === 'cgroup' ? Object.values(this.layout.mounts)[0] : this.layout.mounts[controller];
    return mount && path.join(mount, this.path);
  }

  private async read(controller: string, file: string): Promise<string | undefined> {
    const dir = this.dirOf(controller);
    return dir && readOptional(path.join(dir, file));
  }

  /** A missing file means the host lacks the feature: fine for an optional write, an error naming it otherwise. */
  private async set(controller: string, file: string, value: string, optional = false): Promise<void> {
    const dir = this.dirOf(controller);
    if (dir && fs.existsSync(path.join(dir, file))) return writeValue(path.join(dir, file), value);
    this.mustExist();
    if (optional) return;
    let why = 'not supported by this kernel';
    if (!dir) why = `cgroup controller ${controller} is not mounted`;
    else if (this.layout.version === 2 && V2_CONTROLLERS.includes(controller)) why = `cgroup controller ${controller} is not available`;
    throw new EngineError('Unimplemented', `${file} ${value}: ${why}`);
  }

  /**
   * Writes the state, then polls until the kernel reports it: v1 passes through FREEZING, v2 sets cgroup.events.
   * A v1 freeze that a task held up stays FREEZING until FROZEN is written again (cgroup-v1/freezer-subsystem.rst;
   * runc retries too), so it is written again every REFREEZE_MS meanwhile.
   */
  private async setFrozen(frozen: boolean): Promise<void> {
    const [controller, file, value] = this.layout.version === 1
      ? ['freezer', 'freezer.state', frozen ? 'FROZEN' : 'THAWED']
      : ['cgroup', 'cgroup.freeze', frozen ? '1' : '0'];
    await this.set(controller, file, value);
    let written = Date.now();
    for (const deadline = Date.now() + WAIT_MS; Date.now() < deadline; await sleep(POLL_MS)) {
      if ((await this.isFrozen()) === frozen) return;
      if (frozen && this.layout.version === 1 && Date.now() - written >= REFREEZE_MS) {
        await this.set(controller, file, value);
        written = Date.now();
      }
    }
    // Half frozen is the worst state to leave a container in.
    if (frozen) await this.setFrozen(false).catch(() => undefined);
    throw new EngineError('DeadlineExceeded', `${file} ${value}: not reached within ${WAIT_MS}ms`);
  }
}

/** The distinct mount points to mkdir, join and rmdir in: co-mounted v1 controllers share one. */
function hierarchyRoots(layout: CgroupLayout): string[] {
  if (layout.version === 2) return [layout.root];
  return [...new Set([...Object.values(layout.mounts), ...(layout.unified ? [layout.unified] : [])])];
}

/**
 * mkdir -p of rel in every hierarchy, then `then` (writes into the new cgroup), in one trip through the pool;
 * created: the last level was new in the first hierarchy; results: those of `then`.
 */
async function makeDirsV1(layout: CgroupLayout & { version: 1 }, rel: string, cpusetReady: Set<string>, then: FileOp[]):
  Promise<{ created: boolean; results: (NodeJS.ErrnoException | null)[] }> {
  // rel is the parent (one level or more, Cgroups' constructor) and the container's id. Top-down within each
  // hierarchy: a level that exists is EEXIST at the lookup, before cgroupfs (and its lock) is reached.
  const levels = rel.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  const roots = hierarchyRoots(layout);
  const inEvery = (of: string[]) => roots.flatMap((root) => of.map((level) => path.join(root, level)));
  const mkdirs = (dirs: string[], results: (NodeJS.ErrnoException | null)[]) =>
    results.forEach((err, i) => { if (err && err.code !== 'EEXIST') throw systemError(`mkdir ${dirs[i]}`, err); });
  const dirs = inEvery(levels);
  // A v1 cpuset cgroup starts with no cpus and mems, and refuses tasks until given some. The levels above
  // the container get theirs once, before its mkdir, and clone_children, so the kernel gives the container
  // its parent's at its mkdir (cgroup-v1/cpusets.rst): no reads and writes of our own at each create.
  const cpuset = layout.mounts.cpuset;
  const parent = cpuset && path.join(cpuset, levels[levels.length - 2]);
  if (cpuset && !cpusetReady.has(parent!)) {
    const above = inEvery(levels.slice(0, -1));
    mkdirs(above, await cgroupfs(above.map((dir) => ({ op: 'mkdir', path: dir }))));
    let from = cpuset;
    for (const level of levels.slice(0, -1)) {
      const dir = path.join(cpuset, level);
      await inheritCpuset(from, dir);
      writeValue(path.join(dir, 'cgroup.clone_children'), '1');
      from = dir;
    }
    cpusetReady.add(parent!);
  }
  const results = await cgroupfs([...dirs.map((dir) => ({ op: 'mkdir' as const, path: dir })), ...then]);
  mkdirs(dirs, results.slice(0, dirs.length));
  return { created: results[levels.length - 1] === null, results: results.slice(dirs.length) };
}

/** A device rule's write that failed: a kernel without the file cannot limit devices at all. */
function deviceWriteError(write: FileOp & { op: 'write' }, err: NodeJS.ErrnoException): EngineError {
  const what = `${path.basename(write.path)} ${write.data}`;
  return err.code === 'ENOENT' ? new EngineError('Unimplemented', `${what}: not supported by this kernel`) : systemError(what, err);
}

/** cgroup v2 (one hierarchy): a level at a time, each parent's controllers enabled before its child is made. */
async function makeDirsV2(layout: CgroupLayout & { version: 2 }, rel: string): Promise<boolean> {
  let created = false;
  let dir = layout.root;
  for (const part of rel.split('/')) {
    // cgroup-v2.rst, top-down constraint: a cgroup may use only what its parent's subtree_control enables.
    await enableControllers(dir);
    dir = path.join(dir, part);
    const [err] = await cgroupfs([{ op: 'mkdir', path: dir }]);
    if (err && err.code !== 'EEXIST') throw systemError(`mkdir ${dir}`, err);
    created = !err;
  }
  return created;
}

async function enableControllers(dir: string): Promise<void> {
  const available = ((await readOptional(path.join(dir, 'cgroup.controllers'))) ?? '').split(/\s+/);
  const enabled = ((await readOptional(path.join(dir, 'cgroup.subtree_control'))) ?? '').split(/\s+/);
  for (const c of V2_CONTROLLERS) {
    if (available.includes(c) && !enabled.includes(c)) await writeValueOffLoop(path.join(dir, 'cgroup.subtree_control'), `+${c}`);
  }
}

async function inheritCpuset(above: string, dir: string): Promise<void> {
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    if ((await readOptional(path.join(dir, file)))?.trim() === '') {
      await writeValue(path.join(dir, file), ((await readOptional(path.join(above, file))) ?? '').trim());
    }
  }
}

/*
 * Most cgroupfs reads and writes run on the event loop: they touch memory only and take microseconds, less
 * than a trip through libuv's pool (a device list was a dozen such trips, 3 ms of a start). The ones that
 * take cgroup_mutex go through the pool: a cgroup.procs write holds it across an RCU grace period (up to
 * 20 ms, bench/README.md), and a mkdir, rmdir or cgroup.subtree_control write behind it waits as long.
 */

// O_WRONLY without O_CREAT or O_TRUNC: cgroupfs files exist or the feature is missing, and some are write-only.
function writeValue(file: string, value: string): void {
  try {
    const fd = fs.openSync(file, fs.constants.O_WRONLY);
    try {
      fs.writeSync(fd, value);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw systemError(`${path.basename(file)} ${value}`, err);
  }
}

/**
 * The calls that take cgroup_mutex, in order on one thread of the pool: one trip for a container's nine
 * hierarchies instead of nine threads taking turns at the lock (native/README.md, fileOps).
 */
function cgroupfs(ops: FileOp[]): Promise<(NodeJS.ErrnoException | null)[]> {
  return sharedNative().fileOps(ops);
}

/** writeValue through the thread pool, for the writes that take cgroup_mutex. */
async function writeValueOffLoop(file: string, value: string): Promise<void> {
  const [err] = await cgroupfs([{ op: 'write', path: file, data: value }]);
  if (err) throw systemError(`${path.basename(file)} ${value}`, err);
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw systemError(`read ${file}`, err);
  }
}

/** `${what}: invalid argument (EINVAL)`, classified by errno like the addon's errors. */
function systemError(what: string, err: unknown): EngineError {
  const sys = err as NodeJS.ErrnoException;
  // libuv's errors carry errno negated, the addon's as errno.h has it; the map is keyed by libuv's.
  const text = typeof sys.errno === 'number' ? util.getSystemErrorMap().get(-Math.abs(sys.errno))?.[1] : undefined;
  const why = text && sys.code ? `${text} (${sys.code})` : String(err);
  return new EngineError(kindOf(fromNative(err)) ?? 'Internal', `${what}: ${why}`, { cause: err });
}

/** "key value" lines (cpu.stat, memory.stat, memory.events, cgroup.events) as numbers. */
function keyValues(text = ''): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.split(' ');
    if (key && value !== undefined) map.set(key, Number(value));
  }
  return map;
}

function count(text = ''): number {
  return Number(text.trim()) || 0;
}

/** 0 for unlimited: "max" (v2, pids) or v1 memory's page-counter maximum, near 2^63. */
function limit(text = ''): number {
  const n = Number(text.trim());
  return Number.isFinite(n) && n > 0 && n < 2 ** 62 ? n : 0;
}

/** blkio.throttle.* lines "8:0 Read 4096" summed over devices; the "Total" lines are skipped. */
function blkioTotals(text = ''): { read: number; write: number } {
  const totals = { read: 0, write: 0 };
  for (const [, op, value] of text.split('\n').map((line) => line.split(' '))) {
    if (op === 'Read') totals.read += Number(value);
    if (op === 'Write') totals.write += Number(value);
  }
  return totals;
}

/** io.stat lines "8:0 rbytes=4096 wbytes=0 rios=1 wios=0 ..." summed over devices. */
function ioTotals(text = ''): Record<'rbytes' | 'wbytes' | 'rios' | 'wios', number> {
  const totals = { rbytes: 0, wbytes: 0, rios: 0, wios: 0 };
  for (const pair of text.split(/\s+/)) {
    const [key, value] = pair.split('=');
    if (Object.hasOwn(totals, key)) totals[key as keyof typeof totals] += Number(value);
  }
  return totals;
}
