// A real berthd on a temporary data root and socket, with typed clients and a cleanup that
// leaves no container, mount or directory behind.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { call, connect, type Clients } from '../../src/cli/client';
import { ImageConfig, type ImportImageRequest, type ImportImageResponse } from '../../src/gen/berth/v1/images';
import { ContainerLogsRequest, type Config, type CreateContainerResponse, type ListContainersResponse, type PathStat } from '../../src/gen/berth/v1/containers';
import { removeBridge } from '../../src/network/bridge';
import { berthdNodeFlags } from '../../bench/daemon';
import { BERTH_CLI, BERTHD, BUSYBOX_TAR, PROJECT_ROOT } from './paths';

export interface TestDaemon {
  root: string;
  socket: string;
  host: string;
  clients: Clients;
  process: ChildProcess;
  stderr: () => string;
}

export function tempRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'berth-it-'));
}

/** The cgroup parent of a test root's daemon: its own, and the same across restarts on that root. */
export function cgroupParent(root: string): string {
  return `berth-test-${path.basename(root)}`;
}

/**
 * The bridge of a test root's daemon: its own name and /24, the same across restarts on that root, so
 * tests never share one with each other or with a system berthd (berth0, 10.88.0.0/16).
 */
export function testBridge(root: string): { name: string; subnet: string } {
  const h = createHash('sha256').update(root).digest();
  return { name: `bt${h.subarray(0, 3).toString('hex')}`, subnet: `10.${100 + (h[3] % 100)}.${h[4]}.0/24` };
}

export interface StartOptions {
  /** More berthd flags, after the usual ones (another --listen adds an address; the root's socket stays). */
  args?: string[];
  /** The directory berthd is started in (this process's by default). */
  cwd?: string;
}

/** Starts berthd on root (a new temp dir by default) and waits until it answers. */
export async function startDaemon(root = tempRoot(), opts: StartOptions = {}): Promise<TestDaemon> {
  const socket = path.join(root, 'berth.sock');
  // A daemon killed with SIGKILL leaves its socket behind; we wait for the new one.
  fs.rmSync(socket, { force: true });
  const bridge = testBridge(root);
  // The node flags bin/berthd runs with, so a test daemon runs as an installed one.
  const args = [...berthdNodeFlags(path.join(PROJECT_ROOT, 'bin', 'berthd')), BERTHD, '--root', root, '--listen', `unix://${socket}`, '--cgroup-parent', cgroupParent(root),
    '--bridge-name', bridge.name, '--bridge-subnet', bridge.subnet, ...(opts.args ?? [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: opts.cwd });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const host = `unix://${socket}`;
  const deadline = Date.now() + 15_000;
  while (!fs.existsSync(socket)) {
    if (child.exitCode !== null) throw new Error(`berthd exited with ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`berthd did not start: ${stderr}`); }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { root, socket, host, clients: connect(host), process: child, stderr: () => stderr };
}

/** SIGTERM, as an operator stops it; running containers stay with their monitors. */
export async function stopDaemon(d: TestDaemon): Promise<void> {
  d.clients.close();
  if (d.process.exitCode !== null || d.process.signalCode !== null) return;
  const exited = once(d.process, 'exit');
  d.process.kill('SIGTERM');
  await exited;
}

export async function importBusybox(d: TestDaemon, reference = 'busybox'): Promise<string> {
  const res = await new Promise<ImportImageResponse>((resolve, reject) => {
    const stream = d.clients.images.import((err, r) => (err ? reject(err) : resolve(r)));
    const header: ImportImageRequest = { part: { $case: 'header', value: { reference, config: ImageConfig.fromPartial({ cmd: ['sh'] }), message: '' } } };
    stream.write(header);
    fs.createReadStream(BUSYBOX_TAR)
      .on('data', (chunk) => stream.write({ part: { $case: 'chunk', value: chunk as Buffer } }))
      .on('end', () => stream.end())
      .on('error', reject);
  });
  return res.id;
}

export function config(image: string, cmd: string[], patch: Partial<Config> = {}): Config {
  return {
    hostname: '', domainname: '', user: '', memory: 0, memorySwap: 0, cpuShares: 0, attachStdin: false, attachStdout: true,
    attachStderr: true, portSpecs: [], exposedPorts: [], tty: false, openStdin: false, stdinOnce: false, env: [], cmd, dns: [],
    image, volumes: [], volumesFrom: '', workingDir: '', entrypoint: [], networkDisabled: false, stopSignal: '', labels: {}, ...patch,
  };
}

export async function createContainer(d: TestDaemon, cfg: Config, name = ''): Promise<string> {
  const res = await call<typeof d.clients.containers, unknown, CreateContainerResponse>(d.clients.containers, 'create', { config: cfg, name });
  return res.id;
}

/** CopyFrom (docker cp out) of a path: its stat, and the tar of it as one buffer. */
export async function copyFromTar(d: TestDaemon, id: string, p: string): Promise<{ stat: PathStat; tar: Buffer }> {
  let stat: PathStat | undefined;
  const chunks: Buffer[] = [];
  for await (const msg of d.clients.containers.copyFrom({ containerId: id, path: p })) {
    const part = (msg as { part?: { $case: string; value: unknown } }).part!;
    if (part.$case === 'stat') stat = part.value as PathStat;
    else chunks.push(part.value as Buffer);
  }
  return { stat: stat!, tar: Buffer.concat(chunks) };
}

/** Runs a container to its end; returns its exit code and its stdout and stderr from the log. */
export async function runToEnd(d: TestDaemon, cfg: Config): Promise<{ id: string; exitCode: number; signal: number; stdout: string; stderr: string }> {
  const id = await createContainer(d, cfg);
  await call(d.clients.containers, 'start', { containerId: id });
  const exit = await call<typeof d.clients.containers, unknown, { exitCode: number; signal: number }>(d.clients.containers, 'wait', { containerId: id, condition: '' });
  let stdout = '';
  let stderr = '';
  for await (const e of d.clients.containers.logs(ContainerLogsRequest.fromPartial({ containerId: id, stdout: true, stderr: true }))) {
    if (e.stream === 2) stderr += e.data.toString(); else stdout += e.data.toString();
  }
  return { id, ...exit, stdout, stderr };
}

export function cli(d: TestDaemon, args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BERTH_CLI, '--host', d.host, ...args], { encoding: 'utf8', input, timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function mountsUnder(dir: string): string[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(dir));
}

/**
 * What containers left mounted under a data root: all but berthd's own, its tmpfs for their runtime files
 * (<root>/run) and the standby rootfs that no container has yet (rootfs/standby.ts).
 */
export function containerMountsUnder(root: string): string[] {
  const standby = new RegExp(`^${path.join(root, 'overlay')}/standby-[0-9a-f]+/merged$`);
  return mountsUnder(root).filter((m) => m !== path.join(root, 'run') && !standby.test(m));
}

/** Force-removes every container through the API, stops the daemon, and deletes the data root. */
export async function destroyDaemon(d: TestDaemon): Promise<void> {
  if (d.process.exitCode === null && d.process.signalCode === null) {
    const list = await call<typeof d.clients.containers, unknown, ListContainersResponse>(d.clients.containers, 'list', { all: true }).catch(() => ({ containers: [] }));
    for (const c of list.containers) await call(d.clients.containers, 'remove', { containerId: c.id, force: true }).catch(() => undefined);
    await stopDaemon(d);
  }
  // Anything a failed test left mounted goes before the directory does.
  for (const m of mountsUnder(d.root).reverse()) spawnSync('umount', ['-l', m]);
  // Async: rmSync recurses on the stack, and an image's layers may nest deeper than it allows (the fuzz test's do).
  await fs.promises.rm(d.root, { recursive: true, force: true });
  removeCgroupParent(cgroupParent(d.root));
  await removeBridge(testBridge(d.root).name);
}

/** Removes a test daemon's cgroup parent in every hierarchy (its containers' cgroups are gone by now). */
export function removeCgroupParent(parent: string): void {
  // v1 (one hierarchy per controller) or v2 (one at the top).
  for (const hierarchy of ['', ...fs.readdirSync('/sys/fs/cgroup')]) {
    const dir = path.join('/sys/fs/cgroup', hierarchy, parent);
    if (!fs.existsSync(dir)) continue;
    for (const child of fs.readdirSync(dir, { withFileTypes: true })) {
      if (child.isDirectory()) try { fs.rmdirSync(path.join(dir, child.name)); } catch { /* busy: a process a failed test left */ }
    }
    try { fs.rmdirSync(dir); } catch { /* as above */ }
  }
}
