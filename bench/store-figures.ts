// The figures of `npm run bench` about what an engine keeps: resident memory (daemons idle, the per-container
// monitor, what running containers cost the daemon) and a store of many stopped containers (List, restart, one more run).
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { call, type Clients } from '../src/cli/client';
import { forceRemove, runRequest, runToExit, runToRemoval, startDetached } from './berth-run';
import { NONE_ARGS, type Context } from './figures';
import { inBatches, parentPid, pssKiB, reason, rssKiB, sleep } from './host';
import type { Sleeper } from './peers';
import { benchLine, printTable, summarize, type Row } from './stats';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

async function sampled(count: number, fn: () => number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    if (i) await sleep(300);
    out.push(fn());
  }
  return out;
}

export async function memoryFigure(ctx: Context): Promise<void> {
  const d = ctx.daemon;
  const daemonRows = async (): Promise<Row[]> => {
    const rows: Row[] = [{ name: 'berthd', key: 'berthd', summary: summarize(await sampled(3, () => rssKiB(d.pid) / 1024)) }];
    for (const e of ctx.engines) {
      if (e.daemonPids?.length) rows.push({ name: e.key === 'ctr' ? 'containerd' : e.key, summary: summarize(await sampled(3, () => e.daemonPids!.reduce((sum, p) => sum + rssKiB(p), 0) / 1024)) });
    }
    return rows;
  };
  // Nothing asked of the daemons for a second, then for 20: V8 gives back what berthd's import of busybox left
  // only after some seconds without work (its memory reducer), so the first figure still holds that garbage.
  await sleep(1000);
  const fresh = await daemonRows();
  printTable('daemon resident memory (RSS) 1 s after berthd\'s import of busybox, MiB (podman has no daemon)', fresh, { unit: 'MiB', digits: 1 });
  benchLine('daemon_rss_after_import_mib', fresh[0].summary.median, 'MiB', 1);
  await sleep(ctx.quick ? 4000 : 19_000);
  const idle = await daemonRows();
  printTable(`daemon resident memory (RSS) idle, ${ctx.quick ? 5 : 20} s after the import, MiB`, idle, { unit: 'MiB', digits: 1 });
  benchLine('daemon_idle_rss_mib', idle[0].summary.median, 'MiB', 1);
  for (const r of idle.slice(1)) benchLine(`${r.name}_idle_rss_mib`, r.summary.median, 'MiB', 1);

  // Berth: n sleeping containers; the daemon before and after, and each one's monitor (the parent of its init).
  const n = ctx.quick ? 10 : 100;
  const clients = () => d.clients;
  const before = rssKiB(d.pid);
  const ids: string[] = [];
  const monitors: number[] = [];
  let after = before;
  const rss: Row[] = [];
  const pss: Row[] = [];
  try {
    const req = runRequest(['--network', 'none', 'busybox', 'sleep', '1000']);
    await inBatches(range(n), 10, async () => {
      const { id, pid } = await startDetached(clients(), req);
      ids.push(id);
      monitors.push(parentPid(pid));
    });
    await sleep(1000);
    after = rssKiB(d.pid);
    const names = new Set(monitors.map((p) => fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim()));
    if (monitors.includes(d.pid)) throw new Error('a container\'s parent is berthd itself, not a monitor');
    const label = `berth monitor (${[...names].join(', ')})`;
    rss.push({ name: label, key: 'berth', summary: summarize(monitors.map(rssKiB)) });
    pss.push({ name: label, key: 'berth', summary: summarize(monitors.map(pssKiB)) });
  } finally {
    await inBatches(ids, 10, (id) => forceRemove(clients(), id).catch(() => undefined));
  }
  const deltaMiB = (after - before) / 1024;
  console.log(`\nberthd with ${n} running containers: ${(after / 1024).toFixed(1)} MiB RSS, ${deltaMiB.toFixed(1)} MiB more than before they started`);

  // The peers' per-container processes: containerd's shim, podman's conmon.
  const k = ctx.quick ? 2 : 5;
  for (const e of ctx.engines) {
    if (!e.sleeper) continue;
    const sleepers: Sleeper[] = [];
    try {
      for (let i = 0; i < k; i++) sleepers.push(await e.sleeper(ctx.nextId()));
      await sleep(500);
      rss.push({ name: `${e.key} ${e.monitorName}`, key: e.key, summary: summarize(sleepers.map((s) => rssKiB(s.monitorPid))) });
      pss.push({ name: `${e.key} ${e.monitorName}`, key: e.key, summary: summarize(sleepers.map((s) => pssKiB(s.monitorPid))) });
    } catch (err) {
      console.log(`${e.key}: per-container memory not measured: ${reason(err)}`);
    } finally {
      for (const s of sleepers) await s.remove().catch((err) => console.log(`${e.key}: removing a sleeper: ${reason(err)}`));
    }
  }
  printTable(`per-container process, RSS KiB (berth: ${n} containers running sleep; the others: ${k} each)`, rss, { unit: 'KiB', digits: 0 });
  printTable('per-container process, PSS KiB (shared pages divided among the processes that map them)', pss, { unit: 'KiB', digits: 0 });
  if (rss[0]?.key === 'berth') {
    benchLine('monitor_rss_kib', rss[0].summary.median, 'KiB', 0);
    benchLine('monitor_pss_kib', pss[0].summary.median, 'KiB', 0);
  }
  benchLine(`daemon_rss_delta_${n}_running_mib`, deltaMiB, 'MiB', 1);
  for (const r of rss.slice(1)) benchLine(`${r.key}_monitor_rss_kib`, r.summary.median, 'KiB', 0);
  for (const r of pss.slice(1)) benchLine(`${r.key}_monitor_pss_kib`, r.summary.median, 'KiB', 0);
}

export async function listFigure(ctx: Context): Promise<void> {
  const d = ctx.daemon;
  const n = ctx.quick ? 100 : 1000;
  const ids: string[] = [];
  try {
    const t0 = performance.now();
    const req = runRequest(NONE_ARGS);
    await inBatches(range(n), 10, async () => { ids.push(await runToExit(d.clients, req)); });
    console.log(`\nstore filled with ${n} stopped containers (true, 10 at a time) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const list = async () => {
      const t = performance.now();
      const res = await call<Clients['containers'], unknown, { containers: unknown[] }>(d.clients.containers, 'list', { all: true });
      if (res.containers.length < n) throw new Error(`List answered ${res.containers.length} containers, wanted ${n}`);
      return performance.now() - t;
    };
    const listRuns = ctx.quick ? 10 : 50;
    for (let i = 0; i < 3; i++) await list();
    const lists: number[] = [];
    for (let i = 0; i < listRuns; i++) lists.push(await list());

    const runs = ctx.quick ? 5 : 30;
    const more: number[] = [];
    for (let i = 0; i < runs + 2; i++) {
      const t = await runToRemoval(d.clients, req);
      if (i >= 2) more.push(t.total);
    }

    const restarts = ctx.quick ? 1 : 3;
    const starts: number[] = [];
    for (let i = 0; i < restarts; i++) {
      await d.stop();
      starts.push(await d.start());
    }
    printTable(`a store of ${n} stopped containers`, [
      { name: `List (all) with ${n} stopped`, summary: summarize(lists) },
      { name: `run true with ${n} stopped in the store`, summary: summarize(more) },
      { name: `daemon start to first answer (recovery of ${n})`, summary: summarize(starts) },
    ], { unit: 'ms', ratios: false });
    const l = summarize(lists);
    benchLine(`list_${n}_ms`, l.median, 'ms');
    benchLine(`list_${n}_p99_ms`, l.p99, 'ms');
    benchLine(`run_true_store${n}_median_ms`, summarize(more).median, 'ms');
    benchLine(`daemon_start_${n}_ms`, summarize(starts).median, 'ms', 0);
  } finally {
    await inBatches(ids, 10, (id) => forceRemove(d.clients, id).catch(() => undefined));
  }
}
