// Loads build/Release (then build/Debug) berth.node and checks arguments before they cross into C++.
import path from 'node:path';
import fs from 'node:fs';
import type { DeviceSpec, FileOp, LogScan, OpenAtOptions, LogScanRequest, LogScanRun, LogScanStop, MountOptions, Native } from './index';
import { fromNative } from './errors';

interface AddonBinding {
  mount(opts: MountOptions): void;
  unmount(target: string, opts: { detach: boolean }): void;
  mknod(path: string, spec: DeviceSpec): void;
  setXattr(path: string, name: string, value: string): void;
  openAt(dirFd: number, path: string, opts: OpenAtOptions): number;
  mknodAt(dirFd: number, name: string, spec: DeviceSpec): void;
  getXattr(path: string, name: string): Buffer | null;
  lockFile(path: string): number;
  sealedExecutable(path: string): number;
  scanLogRuns(req: LogScanRequest & { beforeSeq: number }): LogScanStop & { next: number; outAt: number; lastSeq: number; runs: Float64Array };
  attachDeviceFilter(cgroupDir: string, program: Buffer): void;
  spawnWithSocket(path: string, argv: string[]): { pid: number; fd: number };
  sendWithSocket(fd: number, line: string): number;
  spawnPiped(file: string, argv: string[]): { pid: number; stdout: number; stderr: number };
  reapChild(pid: number): { exitCode: number; signal: number } | null;
  releaseMemory(): void;
  spreadSubdirectories(path: string): boolean;
  widenSendBuffer(fd: number, bytes: number): number;
  syncFilesystem(path: string): Promise<void>;
  fileOps(ops: FileOp[]): Promise<(NodeJS.ErrnoException | null)[]>;
}

const ROOT = path.resolve(__dirname, '..', '..', '..');
const PROJECT_ROOT = fs.existsSync(path.join(ROOT, 'binding.gyp')) ? ROOT : path.resolve(__dirname, '..', '..');

function buildDir(): string {
  for (const kind of ['Release', 'Debug']) {
    const dir = path.join(PROJECT_ROOT, 'build', kind);
    if (fs.existsSync(path.join(dir, 'berth.node'))) return dir;
  }
  throw new Error(`berth.node is not built under ${PROJECT_ROOT}/build: run npm run build`);
}

function checkPath(name: string, value: string): void {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) {
    throw new TypeError(`${name}: expected a non-empty path without NUL, got ${JSON.stringify(value)}`);
  }
}

function checkUint(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new TypeError(`${name}: expected an unsigned integer, got ${value}`);
  }
}

function checkSeq(name: string, value: number): void {
  if (!Number.isSafeInteger(value)) throw new TypeError(`${name}: expected an integer, got ${value}`);
}

export class AddonNative implements Native {
  private readonly monitorPath: string;
  private readonly binding: AddonBinding;
  private sealedMonitor: string | undefined;

  constructor() {
    const dir = buildDir();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    this.binding = require(path.join(dir, 'berth.node')) as AddonBinding;
    this.monitorPath = path.join(dir, 'berth-monitor');
  }

  mount(opts: MountOptions): void {
    checkPath('mount target', opts.target);
    try { this.binding.mount(opts); } catch (err) { throw fromNative(err); }
  }

  unmount(target: string, opts: { detach?: boolean } = {}): void {
    checkPath('unmount target', target);
    try { this.binding.unmount(target, { detach: opts.detach ?? false }); } catch (err) { throw fromNative(err); }
  }

  mknod(file: string, spec: DeviceSpec): void {
    checkPath('mknod path', file);
    checkUint('major', spec.major);
    checkUint('minor', spec.minor);
    checkUint('mode', spec.mode);
    try { this.binding.mknod(file, spec); } catch (err) { throw fromNative(err); }
  }

  setXattr(file: string, name: string, value: string): void {
    checkPath('setXattr path', file);
    if (typeof name !== 'string' || !/^[a-z]+\.[\x21-\x7e]+$/.test(name)) throw new TypeError(`xattr name: expected "namespace.name", got ${JSON.stringify(name)}`);
    if (typeof value !== 'string' || value.includes('\0')) throw new TypeError(`xattr value: expected a string without NUL, got ${JSON.stringify(value)}`);
    try { this.binding.setXattr(file, name, value); } catch (err) { throw fromNative(err); }
  }

  fileOps(ops: FileOp[]): Promise<(NodeJS.ErrnoException | null)[]> {
    for (const op of ops) {
      checkPath(`fileOps ${op.op} path`, op.path);
      if (op.op === 'rename') checkPath('fileOps rename to', op.to);
    }
    return this.binding.fileOps(ops);
  }

  async syncFilesystem(file: string): Promise<void> {
    checkPath('syncFilesystem path', file);
    try { await this.binding.syncFilesystem(file); } catch (err) { throw fromNative(err); }
  }

  openAt(dirFd: number, file: string, opts: OpenAtOptions): number {
    checkUint('dirFd', dirFd);
    if (typeof file !== 'string' || file.includes('\0')) throw new TypeError(`openAt path: expected a string without NUL, got ${JSON.stringify(file)}`);
    try { return this.binding.openAt(dirFd, file, opts); } catch (err) { throw fromNative(err); }
  }

  mknodAt(dirFd: number, name: string, spec: DeviceSpec): void {
    checkUint('dirFd', dirFd);
    if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || /[/\0]/.test(name)) {
      throw new TypeError(`mknodAt name: expected one path component, got ${JSON.stringify(name)}`);
    }
    checkUint('major', spec.major);
    checkUint('minor', spec.minor);
    checkUint('mode', spec.mode);
    try { this.binding.mknodAt(dirFd, name, spec); } catch (err) { throw fromNative(err); }
  }

  getXattr(file: string, name: string): Buffer | undefined {
    checkPath('getXattr path', file);
    try { return this.binding.getXattr(file, name) ?? undefined; } catch (err) { throw fromNative(err); }
  }

  /** Made once per daemon: the memfd stays open (and sealed) for as long as berthd runs. */
  monitorExecutable(): string {
    if (!this.sealedMonitor) {
      let fd: number;
      try { fd = this.binding.sealedExecutable(this.monitorPath); } catch (err) { throw fromNative(err); }
      this.sealedMonitor = `/proc/${process.pid}/fd/${fd}`;
    }
    return this.sealedMonitor;
  }

  spawnWithSocket(file: string, argv: string[]): { pid: number; fd: number } {
    checkPath('spawn path', file);
    for (const a of argv) if (typeof a !== 'string' || a.includes('\0')) throw new TypeError(`spawn argv: expected strings without NUL, got ${JSON.stringify(a)}`);
    try { return this.binding.spawnWithSocket(file, argv); } catch (err) { throw fromNative(err); }
  }

  sendWithSocket(fd: number, line: string): number {
    if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`sendWithSocket fd: expected a file descriptor, got ${fd}`);
    if (typeof line !== 'string' || line === '' || /[\n\0]/.test(line)) throw new TypeError(`sendWithSocket line: expected one line without NUL, got ${JSON.stringify(line)}`);
    try { return this.binding.sendWithSocket(fd, line); } catch (err) { throw fromNative(err); }
  }

  spawnPiped(file: string, argv: string[]): { pid: number; stdout: number; stderr: number } {
    checkPath('spawn file', file);
    for (const a of argv) if (typeof a !== 'string' || a.includes('\0')) throw new TypeError(`spawn argv: expected strings without NUL, got ${JSON.stringify(a)}`);
    try { return this.binding.spawnPiped(file, argv); } catch (err) { throw fromNative(err); }
  }

  reapChild(pid: number): { exitCode: number; signal: number } | null {
    if (!Number.isInteger(pid) || pid <= 0) throw new TypeError(`reapChild pid: expected a positive integer, got ${pid}`);
    try { return this.binding.reapChild(pid); } catch (err) { throw fromNative(err); }
  }

  releaseMemory(): void {
    this.binding.releaseMemory();
  }

  spreadSubdirectories(dir: string): boolean {
    checkPath('spread path', dir);
    try { return this.binding.spreadSubdirectories(dir); } catch (err) { throw fromNative(err); }
  }

  widenSendBuffer(fd: number, bytes: number): number {
    try { return this.binding.widenSendBuffer(fd, bytes); } catch (err) { throw fromNative(err); }
  }

  lockFile(file: string): number {
    checkPath('lock path', file);
    try { return this.binding.lockFile(file); } catch (err) { throw fromNative(err); }
  }

  scanLogRuns(req: LogScanRequest): LogScan {
    checkUint('from', req.from);
    checkUint('outAt', req.outAt);
    checkUint('maxRunBytes', req.maxRunBytes);
    checkSeq('lastSeq', req.lastSeq);
    checkSeq('afterSeq', req.afterSeq);
    if (req.beforeSeq !== undefined) checkSeq('beforeSeq', req.beforeSeq);
    let scan: ReturnType<AddonBinding['scanLogRuns']>;
    try { scan = this.binding.scanLogRuns({ ...req, beforeSeq: req.beforeSeq ?? Infinity }); } catch (err) { throw fromNative(err); }
    // The binding gives (stream, start, end) triples, stream 1 for stdout and 2 for stderr.
    const flat = scan.runs;
    const runs: LogScanRun[] = [];
    for (let i = 0; i < flat.length; i += 3) runs.push({ stream: flat[i] === 1 ? 'stdout' : 'stderr', start: flat[i + 1], end: flat[i + 2] });
    return { ...scan, runs };
  }

  attachDeviceFilter(cgroupDir: string, program: Buffer): void {
    checkPath('cgroup dir', cgroupDir);
    // struct bpf_insn is 8 bytes; BPF_MAXINSNS is 4096.
    if (!Buffer.isBuffer(program) || program.length === 0 || program.length % 8 !== 0 || program.length > 4096 * 8) {
      throw new TypeError(`device filter: expected 1 to 4096 eBPF instructions (8 bytes each), got ${Buffer.isBuffer(program) ? `${program.length} bytes` : typeof program}`);
    }
    try { this.binding.attachDeviceFilter(cgroupDir, program); } catch (err) { throw fromNative(err); }
  }
}

let shared: AddonNative | undefined;

/**
 * One AddonNative for code that is handed none: readLogRuns is a free function its callers reach
 * without a Native (src/io/logs.ts). Loaded on first use, so importing it needs no addon.
 */
export function sharedNative(): Native {
  shared ??= new AddonNative();
  return shared;
}
