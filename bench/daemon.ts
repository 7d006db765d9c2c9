// A private berthd for a benchmark: its own data root, socket, cgroup parent and bridge, busybox imported;
// it can be restarted on the same root, and destroy() removes every trace (containers, cgroups, bridge, iptables chains).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { call, connect, type Clients } from '../src/cli/client';
import { removeBridge } from '../src/network/bridge';
import type { ListContainersResponse } from '../src/gen/berth/v1/containers';
import { inBatches, output, removeCgroup, removeTree, sleep } from './host';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const BUSYBOX_TAR = path.join(PROJECT_ROOT, 'test', '.cache', 'busybox.tar');

/** The busybox rootfs tar the tests use, built once (scripts/build-busybox-rootfs.sh) if missing. */
export function busyboxTar(): string {
  if (!fs.existsSync(BUSYBOX_TAR)) {
    fs.mkdirSync(path.dirname(BUSYBOX_TAR), { recursive: true });
    execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'build-busybox-rootfs.sh'), BUSYBOX_TAR], { stdio: 'inherit' });
  }
  return BUSYBOX_TAR;
}

/**
 * A bridge name and /24 of the bench's own, so it never shares one with a system berthd (berth0, 10.88.0.0/16)
 * or with the test daemons (bt*, 10.100-199.*): bb*, 10.200-249.*, skipping a subnet some route already uses.
 */
function benchBridge(root: string): { name: string; subnet: string } {
  const routes = output(['ip', '-4', 'route', 'show']);
  for (let i = 0; ; i++) {
    const h = createHash('sha256').update(`${root}:${i}`).digest();
    const subnet = `10.${200 + (h[3] % 50)}.${h[4]}.0/24`;
    if (!routes.includes(subnet.replace('.0/24', '.'))) return { name: `bb${h.subarray(0, 3).toString('hex')}`, subnet };
  }
}

/**
 * The node flags of bin/berthd's shebang line (`#!/usr/bin/env -S node FLAGS`), so a bench or test daemon runs
 * as an installed one. The tests run this file from source, where PROJECT_ROOT would be wrong: they name the file.
 */
export function berthdNodeFlags(berthd = path.join(PROJECT_ROOT, 'bin', 'berthd')): string[] {
  const shebang = fs.readFileSync(berthd, 'utf8').split('\n', 1)[0];
  const words = shebang.trim().split(/\s+/);
  const node = words.indexOf('node');
  if (!shebang.startsWith('#!') || node < 0) throw new Error(`bin/berthd: no node in its first line: ${shebang}`);
  return words.slice(node + 1);
}

export class BenchDaemon {
  readonly socket: string;
  readonly host: string;
  readonly bridge: { name: string; subnet: string };
  readonly cgroupParent: string;
  clients!: Clients;
  private child?: ChildProcess;

  private constructor(readonly root: string) {
    this.socket = path.join(root, 'berth.sock');
    this.host = `unix://${this.socket}`;
    this.bridge = benchBridge(root);
    this.cgroupParent = `berth-bench-${path.basename(root)}`;
  }

  /** A new daemon on a new temp root with busybox imported as "busybox". */
  static async create(): Promise<BenchDaemon> {
    const tar = busyboxTar();
    const d = new BenchDaemon(fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-')));
    try {
      await d.start();
      execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js'), '--host', d.host, 'import', tar, 'busybox']);
    } catch (err) {
      await d.destroy();
      throw err;
    }
    return d;
  }

  get pid(): number {
    return this.child!.pid!;
  }

  /** Starts berthd on the root; resolves with the ms until it answered Version (recovery included). */
  async start(): Promise<number> {
    // A daemon killed with SIGKILL leaves its socket behind; wait for the new one.
    fs.rmSync(this.socket, { force: true });
    // BENCH_DAEMON_NODE_ARGS: extra node flags for berthd, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    const nodeArgs = (process.env.BENCH_DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean);
    // BENCH_DAEMON_ARGS: extra berthd flags, e.g. "--cgroup-favordynmods".
    const daemonArgs = (process.env.BENCH_DAEMON_ARGS ?? '').split(' ').filter(Boolean);
    const t0 = performance.now();
    // The flags bin/berthd runs with (its shebang line), then the caller's.
    const child = spawn(process.execPath, [...berthdNodeFlags(), ...nodeArgs, path.join(PROJECT_ROOT, 'dist', 'src', 'main.js'), '--root', this.root,
      '--listen', this.host, '--cgroup-parent', this.cgroupParent, '--bridge-name', this.bridge.name, '--bridge-subnet', this.bridge.subnet, ...daemonArgs],
    { stdio: ['ignore', 'ignore', 'inherit'] });
    this.child = child;
    while (!fs.existsSync(this.socket)) {
      if (child.exitCode !== null) throw new Error(`berthd exited with ${child.exitCode}`);
      if (performance.now() - t0 > 30_000) throw new Error('berthd did not create its socket in 30 s');
      await sleep(5);
    }
    this.clients = connect(this.host);
    for (;;) {
      try {
        await call(this.clients.system, 'version', {});
        return performance.now() - t0;
      } catch (err) {
        if (child.exitCode !== null || performance.now() - t0 > 30_000) throw err;
        await sleep(5);
      }
    }
  }

  /** SIGTERM, as an operator stops it; running containers stay with their monitors. */
  async stop(): Promise<void> {
    this.clients?.close();
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }

  /** Force-removes every container, stops the daemon, and removes its root, cgroup parent, bridge and chains. */
  async destroy(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      const list = await call<Clients['containers'], unknown, ListContainersResponse>(this.clients.containers, 'list', { all: true })
        .catch(() => ({ containers: [] }));
      await inBatches(list.containers, 8, async (c) => {
        // A container that will not go is left to the unmount and rmdir below.
        await call(this.clients.containers, 'remove', { containerId: c.id, force: true }).catch(() => undefined);
      });
      await this.stop();
    }
    removeTree(this.root);
    const busy = removeCgroup(this.cgroupParent);
    if (busy.length) console.error(`bench: cgroups still busy after the daemon stopped: ${busy.join(' ')}`);
    await removeBridge(this.bridge.name);
  }
}

/** Runs body against a fresh daemon with busybox imported; always destroys the daemon after. */
export async function withDaemon(body: (clients: Clients, daemon: BenchDaemon) => Promise<void>): Promise<void> {
  const daemon = await BenchDaemon.create();
  try {
    await body(daemon.clients, daemon);
  } finally {
    await daemon.destroy();
  }
}
