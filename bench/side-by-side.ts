// `npm run bench`: Berth beside the floor, crun, runc, ctr, podman and docker (those installed and able to run
// here) on the same busybox rootfs, interleaved; one table per figure and `BENCH name value unit` lines.
// Run on demand, never in CI. `npm run bench -- --help` lists the flags.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { BenchDaemon, busyboxTar } from './daemon';
import { attachFigure, burstFigure, parallelFigure, startFigure, type Context } from './figures';
import { busyProcesses, cgroupLayout, reason } from './host';
import { setupPeers, type Peers } from './peers';
import { listFigure, memoryFigure } from './store-figures';

// In the order they run: memory while berthd is fresh, the store of many containers last.
const FIGURES = ['memory', 'start', 'parallel', 'parallel200', 'attach', 'list'];
const PEERS = ['crun', 'runc', 'ctr', 'podman', 'docker'];
const PARALLEL = 20;

const USAGE = `usage: npm run bench -- [--quick] [--only FIGURES] [--peers PEERS] [--runs N] [--attach-mib N]

  --quick           a few iterations of everything, for development (BENCH_QUICK=1)
  --only FIGURES    comma-separated, from ${FIGURES.join(', ')} (BENCH_ONLY);
                    default all
  --peers PEERS     comma-separated, from ${PEERS.join(', ')}, or none (BENCH_PEERS); default all
  --runs N          runs per engine of the start figure (BENCH_RUNS; default 200, quick 10)
  --attach-mib N    MiB per output run (BENCH_ATTACH_MIB; default 256, quick 16)`;

function list(text: string | undefined, allowed: string[], what: string): string[] | undefined {
  if (text === undefined) return undefined;
  const items = text.split(',').map((s) => s.trim()).filter(Boolean).filter((s) => s !== 'none');
  for (const i of items) if (!allowed.includes(i)) throw new Error(`${what}: unknown ${JSON.stringify(i)} (expected ${allowed.join(', ')})`);
  return items;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: process.env.BENCH_QUICK === '1' },
      only: { type: 'string', default: process.env.BENCH_ONLY },
      peers: { type: 'string', default: process.env.BENCH_PEERS },
      runs: { type: 'string', default: process.env.BENCH_RUNS },
      'attach-mib': { type: 'string', default: process.env.BENCH_ATTACH_MIB },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(USAGE); return 0; }
  if (process.getuid?.() !== 0) { console.error('bench: must run as root (berthd and the other engines make namespaces and mounts)'); return 1; }
  const quick = Boolean(values.quick);
  const figures = new Set(list(values.only, FIGURES, '--only') ?? FIGURES);
  const wanted = new Set(list(values.peers, PEERS, '--peers') ?? PEERS);
  const startRuns = Number(values.runs ?? (quick ? 10 : 200));
  const attachMiB = Number(values['attach-mib'] ?? (quick ? 16 : 256));
  if (!(startRuns > 0) || !(attachMiB > 0)) throw new Error('--runs and --attach-mib take positive numbers');

  const [load1, load5] = os.loadavg();
  console.log(`berth side-by-side bench, ${new Date().toISOString()}${quick ? ' (--quick: few iterations, figures are rough)' : ''}`);
  console.log(`machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, cgroup layout ${cgroupLayout()}, load average ${load1.toFixed(2)} / ${load5.toFixed(2)} (1/5 min)`);
  console.log(`other work now (processes over 10% of a core in the last second): ${(await busyProcesses()).join(', ') || 'none'}`);
  console.log(`figures: ${[...figures].join(', ')}; peers wanted: ${[...wanted].join(', ') || 'none'}`);

  const tar = busyboxTar();
  let daemon: BenchDaemon | undefined;
  let peers: Peers | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () => (cleaning ??= (async () => {
    await peers?.teardown().catch((err) => console.error(`bench: peers cleanup: ${reason(err)}`));
    await daemon?.destroy().catch((err) => console.error(`bench: berthd cleanup: ${reason(err)}`));
  })());
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => { console.error(`bench: ${sig}, cleaning up`); void cleanup().then(() => process.exit(130)); });
  }

  let failed = 0;
  try {
    daemon = await BenchDaemon.create();
    peers = await setupPeers({
      work: fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-peers-')), tar, wanted,
      cgroupParent: `berth-bench-peers-${process.pid}`, slots: PARALLEL,
    });
    console.log(`\nbusybox rootfs: ${tar} (Berth imports it as an image, over which each container gets an overlay; the others use it extracted)`);
    console.log(`berth: berthd from dist/ on a temp root (${daemon.root}), json-file logging on, gRPC over its unix socket`);
    for (const e of peers.engines) console.log(`measured: ${e.key}: ${e.version}`);
    for (const s of peers.skipped) console.log(`skipped: ${s.key}: ${s.reason}`);
    for (const n of peers.notes) console.log(`note: ${n}`);

    let counter = 0;
    const ctx: Context = {
      daemon, engines: peers.engines, quick, startRuns, attachMiB,
      nextId: () => `bb${process.pid}-${counter++}`,
    };
    const run: Record<string, () => Promise<void>> = {
      memory: () => memoryFigure(ctx),
      start: () => startFigure(ctx),
      parallel: () => parallelFigure(ctx, PARALLEL),
      parallel200: () => burstFigure(ctx, 200),
      attach: () => attachFigure(ctx),
      list: () => listFigure(ctx),
    };
    for (const f of FIGURES.filter((x) => figures.has(x))) {
      const t0 = performance.now();
      try {
        await run[f]();
        console.log(`(${f}: ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      } catch (err) {
        failed++;
        console.log(`\nfigure ${f} failed: ${reason(err)}`);
      }
    }
  } finally {
    await cleanup();
  }
  const [end1] = os.loadavg();
  console.log(`\nload average at the end: ${end1.toFixed(2)}; other work now: ${(await busyProcesses()).join(', ') || 'none'}`);
  for (const s of peers?.skipped ?? []) console.log(`skipped: ${s.key}: ${s.reason}`);
  return failed ? 1 : 0;
}

main().then((code) => { process.exitCode = code; }, (err) => {
  console.error(`bench: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
