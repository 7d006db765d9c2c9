// The side-by-side figures of `npm run bench` that every engine takes part in: start latency, 20 at once, and
// output throughput. Each iteration runs every engine once, in a shuffled order, so drift hits all alike.
import { performance } from 'node:perf_hooks';
import type { CreateContainerRequest } from '../src/gen/berth/v1/containers';
import { outputScript, readInFreshProcess, type OutputKind } from './attach';
import { runRequest, runToRemoval, runToRemovalInThreeCalls, type PhaseTimes } from './berth-run';
import type { BenchDaemon } from './daemon';
import { reason, timed } from './host';
import type { Engine } from './peers';
import { benchLine, printTable, summarize, type Row } from './stats';

export interface Context {
  daemon: BenchDaemon;
  /** The floor first, then the peers that passed their trial run. */
  engines: Engine[];
  quick: boolean;
  startRuns: number;
  attachMiB: number;
  nextId(): string;
}

interface Runner {
  name: string;
  key: string;
  /** BENCH name stem, or undefined for a row that only shows in the table. */
  bench?: string;
  once(): Promise<number>;
}

/**
 * A new order for every iteration (Fisher-Yates, from a fixed seed: the same run after run). An order that only
 * rotates keeps each engine's predecessor: until the sixth round Berth always ran right after podman, whose
 * aftermath made it about 4 ms slower than after crun or itself (bench/README.md).
 */
function shuffler(seed = 0x8e27): (items: Runner[]) => Runner[] {
  let state = seed;
  const next = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (items) => {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  };
}

/** Runs each runner once per iteration, in a shuffled order, after `warmup` untimed iterations; a runner that fails is dropped with a line saying why. */
async function interleave(runners: Runner[], iterations: number, warmup: number): Promise<Map<Runner, number[]>> {
  const samples = new Map(runners.map((r) => [r, [] as number[]]));
  const shuffle = shuffler();
  for (let i = 0; i < warmup + iterations; i++) {
    for (const r of shuffle([...samples.keys()])) {
      try {
        const v = await r.once();
        if (i >= warmup) samples.get(r)!.push(v);
      } catch (err) {
        console.log(`${r.name}: failed, dropped from this figure: ${reason(err)}`);
        samples.delete(r);
      }
    }
  }
  return samples;
}

/**
 * berthd runs on V8, which compiles a function to optimized code only after it has run many times. The start path's
 * functions run a few times per container, so a fresh berthd takes about a millisecond more per run until it has
 * started a thousand or two (bench/README.md, "The twelfth round"). Each Berth runner is run `perRunner` times in
 * turn before the figure, and the first and last runs of that warm-up are shown as rows of their own.
 */
async function warmUp(runners: Runner[], perRunner: number): Promise<Row[]> {
  const times = new Map(runners.map((r) => [r, [] as number[]]));
  for (let i = 0; i < perRunner; i++) {
    for (const [r, v] of times) {
      try {
        v.push(await r.once());
      } catch (err) {
        // The figure's own runs fail the same way and drop it with the reason.
        console.log(`${r.name}: warm-up stopped: ${reason(err)}`);
        times.delete(r);
      }
    }
  }
  const edge = Math.max(1, Math.min(100, Math.floor(perRunner / 2)));
  return [...times].filter(([, v]) => v.length >= 2 * edge).flatMap(([r, v]) => [
    { name: `${r.name}: fresh daemon, runs 1-${edge}`, summary: summarize(v.slice(0, edge)) },
    { name: `${r.name}: runs ${v.length - edge + 1}-${v.length}`, summary: summarize(v.slice(-edge)) },
  ]);
}

function rows(samples: Map<Runner, number[]>): Row[] {
  return [...samples].filter(([, v]) => v.length).map(([r, v]) => ({ name: r.name, key: r.key, summary: summarize(v) }));
}

/** Runs of each Berth way before the start figure: about 2400 containers, after which berthd's speed holds. */
const WARM_UP_RUNS = 800;

export const NONE_ARGS = ['--network', 'none', 'busybox', 'true'];
/** Berth's bridge with one published port (an ephemeral host port on 127.0.0.1 for container port 80). */
export const BRIDGE_ARGS = ['-p', '127.0.0.1::80', 'busybox', 'true'];

export async function startFigure(ctx: Context): Promise<void> {
  const none = runRequest(NONE_ARGS);
  const bridge = runRequest(BRIDGE_ARGS);
  const phases: Record<keyof PhaseTimes, number[]> = { start: [], end: [], total: [] };
  const berth = (req: CreateContainerRequest, keep: boolean, run = runToRemoval) => async () => {
    const t = await run(ctx.daemon.clients, req);
    if (keep) for (const k of Object.keys(phases) as (keyof PhaseTimes)[]) phases[k].push(t[k]);
    return t.total;
  };
  const runners: Runner[] = [
    { name: 'berth', key: 'berth', bench: 'run_true_none', once: berth(none, true) },
    { name: 'berth bridge -p', key: 'berth-br', bench: 'run_true_bridge', once: berth(bridge, false) },
    // The API's three-call way, for comparison (a Docker-style client drives it so).
    { name: 'berth, 3 calls', key: 'berth-3', bench: 'run_true_none_three_calls', once: berth(none, false, runToRemovalInThreeCalls) },
  ];
  for (const e of ctx.engines) {
    runners.push({ name: e.key, key: e.key, bench: `${e.key}_true`, once: () => timed(e.argv(ctx.nextId(), 0, ['/bin/true'])) });
    if (e.bridgeArgv) runners.push({ name: `${e.key} bridge -p`, key: `${e.key}-br`, bench: `${e.key}_bridge_true`, once: () => timed(e.bridgeArgv!(ctx.nextId(), ['/bin/true'])) });
  }
  const perRunner = ctx.quick ? 20 : WARM_UP_RUNS;
  const berthRunners = runners.filter((r) => r.key.startsWith('berth'));
  const warm = await warmUp(berthRunners, perRunner);
  printTable(`berthd's warm-up before the figure: each of its ${berthRunners.length} ways run ${perRunner} times in turn, back to back (V8 optimizes berthd's hot paths as they run)`,
    warm, { unit: 'ms', ratios: false });
  const fresh = warm.find((r) => r.name.startsWith('berth: fresh'));
  if (fresh) benchLine('run_true_none_fresh_daemon_median_ms', fresh.summary.median, 'ms');
  const warmup = ctx.quick ? 2 : 5;
  const samples = await interleave(runners, ctx.startRuns, warmup);
  printTable(`run true to its end and remove it, ${ctx.startRuns} runs each after ${warmup} warm-up, interleaved (berth: one Attach that creates (auto-remove), starts and ends once the container is removed, as berth run --rm does, logging on; berth, 3 calls: create, start and wait until removed; the others: spawn to exit)`,
    rows(samples), { unit: 'ms' });
  const med = (k: keyof PhaseTimes) => `${k} ${summarize(phases[k].slice(-ctx.startRuns)).median.toFixed(1)}`;
  if (phases.total.length) console.log(`berth by phase (medians, ms): ${(['start', 'end'] as const).map(med).join(', ')}`);
  for (const [r, v] of samples) {
    if (!r.bench || !v.length) continue;
    const s = summarize(v);
    benchLine(`${r.bench}_median_ms`, s.median, 'ms');
    benchLine(`${r.bench}_p99_ms`, s.p99, 'ms');
  }
}

/** `n` containers launched at once, each run to its end (and removed); the batch time in ms. */
export async function parallelBatch(ctx: Context, n: number, engine?: Engine): Promise<number> {
  const t0 = performance.now();
  const req = runRequest(NONE_ARGS);
  await Promise.all(Array.from({ length: n }, (_, slot) => (engine
    ? timed(engine.argv(ctx.nextId(), slot, ['/bin/true']))
    : runToRemoval(ctx.daemon.clients, req))));
  return performance.now() - t0;
}

export async function parallelFigure(ctx: Context, n: number): Promise<void> {
  const runners: Runner[] = [
    { name: 'berth', key: 'berth', bench: `parallel${n}`, once: () => parallelBatch(ctx, n) },
    ...ctx.engines.map((e) => ({ name: e.key, key: e.key, bench: `${e.key}_parallel${n}`, once: () => parallelBatch(ctx, n, e) })),
  ];
  const iterations = ctx.quick ? 2 : 10;
  const samples = await interleave(runners, iterations, 1);
  // Containers a second of each batch: n over its wall time.
  for (const [r, v] of samples) samples.set(r, v.map((ms) => (n * 1000) / ms));
  printTable(`${n} containers of true launched at once, run to their end and removed; containers/s per batch, ${iterations} batches each, interleaved`,
    rows(samples), { unit: '/s', higherIsBetter: true, digits: 1 });
  for (const [r, v] of samples) if (r.bench && v.length) benchLine(`${r.bench}_per_s`, summarize(v).median, '/s', 1);
}

/** Berth alone: n at once, once, counting the ones that fail (issue 8: 200 at once completes without an error). */
export async function burstFigure(ctx: Context, n: number): Promise<void> {
  const req = runRequest(NONE_ARGS);
  const errors: string[] = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, () => runToRemoval(ctx.daemon.clients, req).catch((err) => { errors.push(reason(err)); })));
  const ms = performance.now() - t0;
  console.log(`\n== ${n} berth containers of true at once: ${ms.toFixed(0)} ms, ${((n - errors.length) * 1000 / ms).toFixed(1)}/s, ${errors.length} failed`);
  for (const e of [...new Set(errors)].slice(0, 5)) console.log(`  failure: ${e}`);
  benchLine(`parallel${n}_per_s`, ((n - errors.length) * 1000) / ms, '/s', 1);
  benchLine(`parallel${n}_errors`, errors.length, 'count', 0);
}

export async function attachFigure(ctx: Context): Promise<void> {
  const bytes = ctx.attachMiB * 1024 * 1024;
  const iterations = ctx.quick ? 1 : 5;
  const floor = ctx.engines.find((e) => e.key === 'floor')!;
  const host = ctx.daemon.host;
  const pipe = (argv: string[]) => readInFreshProcess({ kind: 'pipe', argv, bytes });
  for (const kind of ['binary', 'text'] as OutputKind[]) {
    // An absolute path: ctr's spec for a --rootfs container has no PATH lookup of its own.
    const cmd = ['/bin/sh', '-c', outputScript(kind, bytes)];
    const runners: Runner[] = [
      { name: 'pipe', key: 'pipe', bench: `pipe_${kind}`, once: () => pipe(floor.outputArgv?.(cmd) ?? floor.argv(ctx.nextId(), 0, cmd)) },
      { name: 'berth attach', key: 'berth', bench: `attach_${kind}`, once: () => readInFreshProcess({ kind: 'attach', host, script: cmd[2], bytes }) },
      // A container that is kept: its log is fsynced before the stream ends (the attach row until the ninth round).
      { name: 'berth, kept', key: 'berth-kept', bench: `attach_${kind}_kept`, once: () => readInFreshProcess({ kind: 'attach-kept', host, script: cmd[2], bytes }) },
      ...ctx.engines.filter((e) => e.attachPath && e.anyCommand)
        .map((e) => ({ name: e.key, key: e.key, bench: `${e.key}_attach_${kind}`, once: () => pipe(e.argv(ctx.nextId(), 0, cmd)) })),
    ];
    const samples = await interleave(runners, iterations, 0);
    printTable(`${ctx.attachMiB} MiB of ${kind} stdout from \`sh -c '${cmd[2].replace(/-c \d+/, '-c N').replace(/count=\d+/, 'count=N')}'\`, from the start to the run's end (the container removed; berth, kept: created before and removed after the clock, to the stream's end after the log's fsync), MiB/s, ${iterations} runs each, interleaved, each read by a new node process (pipe: the floor's chroot read through a pipe)`,
      rows(samples), { unit: 'MiB/s', higherIsBetter: true, digits: 0 });
    const piped = [...samples].find(([r]) => r.key === 'pipe')?.[1];
    for (const [r, v] of samples) {
      if (!r.bench || !v.length) continue;
      const median = summarize(v).median;
      benchLine(`${r.bench}_mib_s`, median, 'MiB/s', 1);
      if (r.key === 'berth' && piped?.length) benchLine(`attach_${kind}_vs_pipe`, median / summarize(piped).median, 'ratio', 3);
    }
  }
  const direct = ctx.engines.filter((e) => !e.attachPath).map((e) => e.key).filter((k) => k !== 'floor');
  if (direct.length) console.log(`not in the attach tables: ${direct.join(', ')} (the container's stdout is the caller's own pipe, so there is no attach path to measure)`);
}
