// `berth stats`: resource use per container in docker stats' table, redrawn each second while streaming.
import { status, type ClientReadableStream } from '@grpc/grpc-js';
import { parseFlags } from './args';
import { call, statusOf } from './client';
import { binarySize, decimalSize, table } from './format';
import type { Command } from './main';
import { ContainerStatsRequest, type ContainerStats, type ListContainersResponse } from '../gen/berth/v1/containers';
import type { InfoResponse } from '../gen/berth/v1/system';

const HEADER = ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'];
const REDRAW_MS = 1000;
/** Clear the screen and go home, as docker stats does on a terminal. */
const CLEAR = '\x1b[2J\x1b[H';

/**
 * One row: memory in binary units, network and block I/O in decimal ones, as docker. A limit of 0 (none below the
 * host's memory) shows the host's memory, as docker does.
 */
export function statsRow(s: ContainerStats, hostMemoryBytes: number): string[] {
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const io = (a: number, b: number) => `${decimalSize(a)} / ${decimalSize(b)}`;
  return [
    s.id.slice(0, 12),
    s.name.replace(/^\//, ''),
    `${s.cpuPercent.toFixed(2)}%`,
    `${binarySize(s.memory?.usageBytes ?? 0)} / ${binarySize(s.memory?.limitBytes || hostMemoryBytes)}`,
    `${s.memoryPercent.toFixed(2)}%`,
    io(sum(s.networks.map((n) => n.rxBytes)), sum(s.networks.map((n) => n.txBytes))),
    io(s.blkio?.readBytes ?? 0, s.blkio?.writeBytes ?? 0),
    String(s.pids?.current ?? 0),
  ];
}

export function statsTable(samples: ContainerStats[], hostMemoryBytes: number): string {
  return table(HEADER, samples.map((s) => statsRow(s, hostMemoryBytes)));
}

/**
 * With containers named: those. Without: every running one; one that goes away before its first sample is
 * dropped rather than failing the rest. Ends when every stream has ended (at once with --no-stream).
 */
const stats: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { 'no-stream': { kind: 'bool' } }, { interspersed: true });
  const stream = !flags['no-stream'];
  const named = positionals.length > 0;
  const targets = named
    ? [...new Set(positionals)]
    : (await call<typeof clients.containers, unknown, ListContainersResponse>(clients.containers, 'list', { all: false })).containers.map((c) => c.id);
  const info = await call<typeof clients.system, unknown, InfoResponse>(clients.system, 'info', {});
  const latest = new Map<string, ContainerStats>();
  let dirty = true;
  let drawn = false;
  const draw = () => {
    dirty = false;
    drawn = true;
    const samples = targets.flatMap((t) => latest.get(t) ?? []);
    process.stdout.write(`${stream && process.stdout.isTTY ? CLEAR : ''}${statsTable(samples, info.memoryBytes)}`);
  };

  const calls: ClientReadableStream<ContainerStats>[] = [];
  const follow = (containerId: string) => new Promise<void>((resolve, reject) => {
    const c = clients.containers.stats(ContainerStatsRequest.fromPartial({ containerId, stream }));
    calls.push(c);
    c.on('data', (s: ContainerStats) => {
      latest.set(containerId, s);
      dirty = true;
      // The first frame need not wait for the timer once every container has reported.
      if (stream && !drawn && latest.size === targets.length) draw();
    });
    c.on('end', () => resolve());
    c.on('error', (err) => (!named && statusOf(err) === status.NOT_FOUND ? resolve() : reject(err)));
  });
  const timer = stream ? setInterval(() => { if (dirty) draw(); }, REDRAW_MS) : undefined;
  try {
    await Promise.all(targets.map(follow));
  } catch (err) {
    // One failed: the others would only go on drawing under an error, so they stop too.
    for (const c of calls) c.cancel();
    throw err;
  } finally {
    clearInterval(timer);
  }
  if (dirty) draw();
  return 0;
};

export const STATS_COMMANDS: Record<string, Command> = { stats };
