// Latency of create + start + wait + remove of `true` through gRPC, on a private daemon and data root.
// Run on demand (npm run bench); prints figures, asserts nothing. BENCH_RUNS sets N (default 200).
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { call, connect } from '../src/cli/client';
import type { CreateContainerResponse } from '../src/gen/berth/v1/containers';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const WARMUP = 10;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-'));
  const socket = path.join(root, 'berth.sock');
  const tarPath = path.join(PROJECT_ROOT, 'test', '.cache', 'busybox.tar');
  if (!fs.existsSync(tarPath)) {
    fs.mkdirSync(path.dirname(tarPath), { recursive: true });
    execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'build-busybox-rootfs.sh'), tarPath], { stdio: 'inherit' });
  }
  const daemon = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'src', 'main.js'), '--root', root, '--listen', `unix://${socket}`], { stdio: 'inherit' });
  while (!fs.existsSync(socket)) await new Promise((r) => setTimeout(r, 20));
  const host = `unix://${socket}`;
  const clients = connect(host);
  try {
    execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js'), '--host', host, 'import', tarPath, 'busybox']);
    const config = {
      hostname: '', domainname: '', user: '', memory: 0, memorySwap: 0, cpuShares: 0, attachStdin: false, attachStdout: true,
      attachStderr: true, portSpecs: [], exposedPorts: [], tty: false, openStdin: false, stdinOnce: false, env: [], cmd: ['true'],
      dns: [], image: 'busybox', volumes: [], volumesFrom: '', workingDir: '', entrypoint: [], networkDisabled: true,
    };
    const times: number[] = [];
    for (let i = 0; i < RUNS + WARMUP; i++) {
      const t0 = performance.now();
      const { id } = await call<typeof clients.containers, unknown, CreateContainerResponse>(clients.containers, 'create', { config, name: '' });
      await call(clients.containers, 'start', { containerId: id });
      await call(clients.containers, 'wait', { containerId: id });
      await call(clients.containers, 'remove', { containerId: id, force: false });
      if (i >= WARMUP) times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const median = quantile(times, 0.5);
    const p99 = quantile(times, 0.99);
    console.log(`create+start+wait+remove of true, ${RUNS} runs after ${WARMUP} warm-up: median ${median.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, min ${times[0].toFixed(2)} ms, max ${times.at(-1)!.toFixed(2)} ms`);
    console.log(`BENCH run_true_none_median_ms ${median.toFixed(2)} ms`);
    console.log(`BENCH run_true_none_p99_ms ${p99.toFixed(2)} ms`);
  } finally {
    clients.close();
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
    fs.rmSync(root, { recursive: true, force: true });
  }
}

void main();
