// Latency of `run --rm true` through gRPC (one Attach that creates with auto-remove, starts, and ends once the
// container is removed, as berth run --rm does), on a private daemon and data root.
// Run on demand (npm run bench:start); prints figures, asserts nothing. BENCH_RUNS sets N (default 200);
// BENCH_NETWORK=bridge runs them on the bridge with one published port, as the side-by-side bench's bridge row.
import { runRequest, runToRemoval, type PhaseTimes } from './berth-run';
import { withDaemon } from './daemon';
import { benchLine, summarize } from './stats';

const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const WARMUP = 10;
const BRIDGE = process.env.BENCH_NETWORK === 'bridge';

async function main(): Promise<void> {
  await withDaemon(async (clients) => {
    const request = runRequest([...(BRIDGE ? ['-p', '127.0.0.1::80'] : ['--network', 'none']), 'busybox', 'true']);
    const phases: Record<keyof PhaseTimes, number[]> = { start: [], end: [], total: [] };
    for (let i = 0; i < RUNS + WARMUP; i++) {
      const t = await runToRemoval(clients, request);
      if (i < WARMUP) continue;
      for (const k of Object.keys(phases) as (keyof PhaseTimes)[]) phases[k].push(t[k]);
    }
    const medians = (['start', 'end'] as const).map((k) => `${k} ${summarize(phases[k]).median.toFixed(1)} ms`);
    console.log(`by phase (medians): ${medians.join(', ')}`);
    const s = summarize(phases.total);
    console.log(`run --rm true (one Attach: create, start, to the removal), ${RUNS} runs after ${WARMUP} warm-up: median ${s.median.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, min ${s.min.toFixed(2)} ms, max ${s.max.toFixed(2)} ms`);
    const network = BRIDGE ? 'bridge' : 'none';
    benchLine(`run_true_${network}_median_ms`, s.median, 'ms');
    benchLine(`run_true_${network}_p99_ms`, s.p99, 'ms');
  });
}

void main();
