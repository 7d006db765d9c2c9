// A private berthd for a benchmark: temporary data root and socket, busybox imported, cleaned up after.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, type Clients } from '../src/cli/client';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/** Runs body against a fresh daemon with busybox imported; always stops the daemon and removes its root. */
export async function withDaemon(body: (clients: Clients) => Promise<void>): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-'));
  const socket = path.join(root, 'berth.sock');
  const tarPath = path.join(PROJECT_ROOT, 'test', '.cache', 'busybox.tar');
  if (!fs.existsSync(tarPath)) {
    fs.mkdirSync(path.dirname(tarPath), { recursive: true });
    execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'build-busybox-rootfs.sh'), tarPath], { stdio: 'inherit' });
  }
  // BENCH_DAEMON_NODE_ARGS: extra node flags for berthd, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const daemon = spawn(process.execPath, [...nodeArgs, path.join(PROJECT_ROOT, 'dist', 'src', 'main.js'), '--root', root, '--listen', `unix://${socket}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  while (!fs.existsSync(socket)) {
    if (daemon.exitCode !== null) throw new Error(`berthd exited with ${daemon.exitCode}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const host = `unix://${socket}`;
  const clients = connect(host);
  try {
    execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js'), '--host', host, 'import', tarPath, 'busybox']);
    await body(clients);
  } finally {
    clients.close();
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
    fs.rmSync(root, { recursive: true, force: true });
  }
}
