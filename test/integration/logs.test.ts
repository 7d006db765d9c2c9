// Logs over the API: follow to the end, through rotation and a daemon restart, resuming by sequence
// number with no gap and no duplicate; tail, since and until.
import fs from 'node:fs';
import type { ServiceError } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/client';
import { ContainerLogsRequest, HostConfig, type ContainerLogsResponse, type CreateContainerResponse } from '../../src/gen/berth/v1/containers';
import { config, destroyDaemon, importBusybox, runToEnd, startDaemon, stopDaemon, tempRoot, type TestDaemon } from '../helpers/daemon';
import { IS_ROOT } from '../helpers/paths';

async function collect(d: TestDaemon, req: Partial<ContainerLogsRequest>, onEntry?: (e: ContainerLogsResponse) => void): Promise<{ entries: ContainerLogsResponse[]; error?: ServiceError }> {
  const entries: ContainerLogsResponse[] = [];
  try {
    for await (const e of d.clients.containers.logs(ContainerLogsRequest.fromPartial({ stdout: true, stderr: true, ...req }))) {
      entries.push(e);
      onEntry?.(e);
    }
    return { entries };
  } catch (error) {
    return { entries, error: error as ServiceError };
  }
}

const text = (entries: ContainerLogsResponse[]) => entries.map((e) => e.data.toString()).join('');

describe.skipIf(!IS_ROOT)('logs', () => {
  let d: TestDaemon | undefined;

  afterEach(async () => {
    if (d) await destroyDaemon(d);
    d = undefined;
  });

  it('follows a running container to its exit through log rotation, every line once and in order', async () => {
    d = await startDaemon();
    await importBusybox(d);
    const hostConfig = HostConfig.fromPartial({ logConfig: { type: 'json-file', config: { 'max-size': '4k', 'max-file': '2' } } });
    const { id } = await call<typeof d.clients.containers, unknown, CreateContainerResponse>(d.clients.containers, 'create', {
      name: '', hostConfig, config: config('busybox', ['sh', '-c', 'i=1; while [ $i -le 600 ]; do echo "line $i"; i=$((i+1)); [ $((i % 50)) = 0 ] && sleep 0.02; done']),
    });
    await call(d.clients.containers, 'start', { containerId: id });
    const { entries, error } = await collect(d, { containerId: id, follow: true });
    expect(error).toBeUndefined();
    expect(text(entries)).toBe(Array.from({ length: 600 }, (_, i) => `line ${i + 1}\n`).join(''));
    const seqs = entries.map((e) => e.seq);
    expect(seqs.every((s, i) => i === 0 || s === seqs[i - 1] + 1)).toBe(true);
    // Rotation kept two files of at most about 4 KiB; the older lines are gone from disk but were followed.
    const files = fs.readdirSync(`${d.root}/containers/${id}`).filter((f) => f.includes('-json.log'));
    expect(files.sort()).toEqual([`${id}-json.log`, `${id}-json.log.1`]);
    const kept = await collect(d, { containerId: id });
    expect(kept.entries.length).toBeLessThan(600);
    expect(kept.entries.at(-1)!.data.toString()).toBe('line 600\n');
  });

  it('resumes after a daemon restart from the last sequence number, with no gap and no duplicate', async () => {
    const root = tempRoot();
    d = await startDaemon(root);
    await importBusybox(d);
    const { id } = await call<typeof d.clients.containers, unknown, CreateContainerResponse>(d.clients.containers, 'create', {
      name: '', config: config('busybox', ['sh', '-c', 'i=1; while [ $i -le 150 ]; do echo "n $i"; i=$((i+1)); sleep 0.02; done']),
    });
    await call(d.clients.containers, 'start', { containerId: id });
    let seen = 0;
    const daemon = d;
    let stopped: Promise<void> | undefined;
    const first = await collect(d, { containerId: id, follow: true }, () => {
      if (++seen === 30) stopped = stopDaemon(daemon);
    });
    await stopped; // the old daemon must have let go of the root before the new one takes it
    expect(first.error).toMatchObject({ code: status.UNAVAILABLE });
    expect(first.entries.length).toBeGreaterThanOrEqual(30);
    // The container keeps writing while nobody serves.
    await new Promise((r) => setTimeout(r, 500));
    d = await startDaemon(root);
    const rest = await collect(d, { containerId: id, follow: true, afterSeq: first.entries.at(-1)!.seq });
    expect(rest.error).toBeUndefined();
    expect(text([...first.entries, ...rest.entries])).toBe(Array.from({ length: 150 }, (_, i) => `n ${i + 1}\n`).join(''));
  });

  it('takes tail, since, until, a stream and after_seq', async () => {
    d = await startDaemon();
    await importBusybox(d);
    const r = await runToEnd(d, config('busybox', ['sh', '-c', 'echo a; echo b >&2; sleep 1.1; echo c; echo d >&2']));
    const all = (await collect(d, { containerId: r.id, timestamps: true })).entries;
    expect(text(all)).toBe('a\nb\nc\nd\n');
    expect(all.every((e) => e.time instanceof Date)).toBe(true);
    expect(text((await collect(d, { containerId: r.id, tail: 2 })).entries)).toBe('c\nd\n');
    expect(text((await collect(d, { containerId: r.id, tail: 0 })).entries)).toBe('');
    expect(text((await collect(d, { containerId: r.id, stdout: true, stderr: false })).entries)).toBe('a\nc\n');
    expect(text((await collect(d, { containerId: r.id, afterSeq: all[1].seq })).entries)).toBe('c\nd\n');
    expect(text((await collect(d, { containerId: r.id, since: all[2].time })).entries)).toBe('c\nd\n');
    expect(text((await collect(d, { containerId: r.id, until: all[2].time })).entries)).toBe('a\nb\n');
    // A restarted container numbers on from where its log ended.
    await call(d.clients.containers, 'start', { containerId: r.id });
    await call(d.clients.containers, 'wait', { containerId: r.id, condition: '' });
    const twice = (await collect(d, { containerId: r.id })).entries;
    expect(twice.map((e) => e.seq)).toEqual(Array.from({ length: 8 }, (_, i) => all[0].seq + i));
  });
});
