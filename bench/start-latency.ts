// Latency of create + start + wait + remove of `true` through gRPC, on a private daemon and data root.
// Run on demand (npm run bench); prints figures, asserts nothing. BENCH_RUNS sets N (default 200).
import { performance } from 'node:perf_hooks';
import { call } from '../src/cli/client';
import { emptyConfig } from '../src/cli/create-request';
import { withDaemon } from './daemon';
import type { CreateContainerResponse } from '../src/gen/berth/v1/containers';

const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const WARMUP = 10;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

async function main(): Promise<void> {
  await withDaemon(async (clients) => {
    const config = { ...emptyConfig(), image: 'busybox', cmd: ['true'], networkDisabled: true };
    const times: number[] = [];
    const phases: Record<string, number[]> = { create: [], start: [], wait: [], remove: [] };
    for (let i = 0; i < RUNS + WARMUP; i++) {
      const t0 = performance.now();
      const mark = (phase: string, since: number) => { if (i >= WARMUP) phases[phase].push(performance.now() - since); return performance.now(); };
      const { id } = await call<typeof clients.containers, unknown, CreateContainerResponse>(clients.containers, 'create', { config, name: '' });
      let t = mark('create', t0);
      await call(clients.containers, 'start', { containerId: id });
      t = mark('start', t);
      await call(clients.containers, 'wait', { containerId: id, condition: '' });
      t = mark('wait', t);
      await call(clients.containers, 'remove', { containerId: id, force: false });
      mark('remove', t);
      if (i >= WARMUP) times.push(performance.now() - t0);
    }
    const medians = Object.entries(phases).map(([name, v]) => `${name} ${quantile(v.sort((a, b) => a - b), 0.5).toFixed(1)} ms`);
    console.log(`by phase (medians): ${medians.join(', ')}`);
    times.sort((a, b) => a - b);
    const median = quantile(times, 0.5);
    const p99 = quantile(times, 0.99);
    console.log(`create+start+wait+remove of true, ${RUNS} runs after ${WARMUP} warm-up: median ${median.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, min ${times[0].toFixed(2)} ms, max ${times.at(-1)!.toFixed(2)} ms`);
    console.log(`BENCH run_true_none_median_ms ${median.toFixed(2)} ms`);
    console.log(`BENCH run_true_none_p99_ms ${p99.toFixed(2)} ms`);
  });
}

void main();
