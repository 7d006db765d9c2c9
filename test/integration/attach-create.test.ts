// Attach with create: docker run in one call. The container is created, attached and started by one
// Attach; `attached` names it; an auto-remove container's exit frame comes once it is gone.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/client';
import { HostConfig, type CreateContainerRequest, type InspectContainerResponse, type ListContainersResponse } from '../../src/gen/berth/v1/containers';
import { EventsRequest } from '../../src/gen/berth/v1/system';
import { cgroupDir } from '../helpers/cgroup-files';
import { config, destroyDaemon, importBusybox, mountsUnder, startDaemon, type TestDaemon } from '../helpers/daemon';
import { IS_ROOT } from '../helpers/paths';
import { openAttach, stuckAttach, type StdioClient } from '../helpers/stdio-client';

describe.skipIf(!IS_ROOT)('attach with create (run in one call)', () => {
  let d: TestDaemon;

  const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${d.process.pid}/status`, 'utf8'))![1]) / 1024;
  let idleMiB = 0;

  beforeAll(async () => {
    d = await startDaemon();
    await importBusybox(d);
    // berthd's size at rest, once the import's memory is given back (200 ms after the last call).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    idleMiB = rssMiB();
  });

  afterAll(() => destroyDaemon(d));

  const request = (cmd: string[], host: Partial<HostConfig> = {}, name = '', patch = {}): CreateContainerRequest => ({
    config: config('busybox', cmd, patch), hostConfig: HostConfig.fromPartial({ networkMode: 'none', ...host }), name,
  });

  async function inspect(id: string) {
    return (await call<typeof d.clients.containers, unknown, InspectContainerResponse>(d.clients.containers, 'inspect', { containerId: id })).container!;
  }

  async function names(): Promise<string[]> {
    const res = await call<typeof d.clients.containers, unknown, ListContainersResponse>(d.clients.containers, 'list', { all: true });
    return res.containers.map((c) => c.name);
  }

  /** Resolves once the daemon has seen two attaches to the container (its events), however long they took. */
  async function attachedTwice(id: string): Promise<void> {
    for (;;) {
      const seen = [];
      for await (const e of d.clients.system.events(EventsRequest.fromPartial({ sinceSeq: 0, until: new Date(), filters: [`container=${id}`, 'event=attach'] }))) seen.push(e);
      if (seen.length >= 2) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async function attachedId(client: StdioClient): Promise<string> {
    const first = await client.ready;
    if (first.frame?.$case !== 'attached') throw new Error(`first frame: ${JSON.stringify(first.frame)}`);
    return first.frame.value.containerId;
  }

  it('creates, attaches and starts: every line, the new id in attached, and the container stays exited', async () => {
    const client = openAttach(d, { create: request(['sh', '-c', 'for i in $(seq 1 2000); do echo line $i; done; echo bye >&2; exit 3'], {}, 'one-call') });
    const id = await attachedId(client);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(await client.done).toEqual({ exit: { exitCode: 3, signal: 0 } });
    expect(client.stdout.toString()).toBe(Array.from({ length: 2000 }, (_, i) => `line ${i + 1}\n`).join(''));
    expect(client.stderr.toString()).toBe('bye\n');
    const c = await inspect('one-call');
    expect(c.id).toBe(id);
    expect(c.state).toMatchObject({ status: 'exited', exitCode: 3 });
    await call(d.clients.containers, 'remove', { containerId: id });
  });

  it('sends an auto-remove container\'s exit frame only once the container is gone', async () => {
    // Far more than grpc-js takes in for a client before its write says to wait (16 messages of up to 1 MiB).
    const fill = 'head -c 48000000 /dev/zero | tr "\\0" a; echo; echo end';
    const client = openAttach(d, { create: request(['sh', '-c', `sleep 0.5; ${fill}; exit 5`], { autoRemove: true }, 'gone-at-exit') });
    const id = await attachedId(client);
    // A second client that reads nothing holds the removal (the daemon removes it once its attached clients
    // have read the end), and so the first client's exit frame.
    const holder = stuckAttach(d, id);
    await attachedTwice(id);
    await client.waitFor('\nend\n');
    await call(d.clients.containers, 'wait', { containerId: id, condition: 'not-running' });
    let ended = false;
    void client.done.then(() => { ended = true; });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(ended).toBe(false);
    expect((await inspect(id)).state).toMatchObject({ status: 'exited', exitCode: 5 });
    // Asked the moment the exit frame arrives, before anything else of this test runs.
    let atExit: Promise<unknown> | undefined;
    client.onFrame((frame) => {
      if (frame === 'exit') atExit = inspect(id).then(() => 'still there', (err: ServiceError) => err.code);
    });
    const held = holder.drain();
    expect(await client.done).toEqual({ exit: { exitCode: 5, signal: 0 } });
    expect(await atExit).toBe(status.NOT_FOUND);
    expect(await names()).not.toContain('gone-at-exit');
    const late = await held;
    expect(late.status).toBe('0');
    expect(late.received).toBeGreaterThan(client.stdout.length);
  });

  it('removes an auto-remove container whose start fails, and keeps any other, created, naming it in the error', async () => {
    const removed = await openAttach(d, { create: request(['/no/such/program'], { autoRemove: true }, 'failed-rm') }).done;
    expect(removed.error?.details).toMatch(/no\/such\/program.*No such file or directory/);
    expect(await names()).not.toContain('failed-rm');

    const kept = await openAttach(d, { create: request(['/no/such/program'], {}, 'failed-kept') }).done;
    const c = await inspect('failed-kept');
    expect(kept.error?.details).toContain(c.id);
    expect(c.state!.status).toBe('created');
    await call(d.clients.containers, 'remove', { containerId: c.id });
  });

  it('fails an auto-remove run whose files cannot be written (they are written while its start prepares), and leaves nothing', async () => {
    // An immutable containers directory: mkdir there fails even for root (EPERM).
    const dir = `${d.root}/containers`;
    expect(spawnSync('chattr', ['+i', dir]).status).toBe(0);
    let end;
    try {
      end = await openAttach(d, { create: request(['echo', 'never'], { autoRemove: true }, 'unwritten') }).done;
    } finally {
      expect(spawnSync('chattr', ['-i', dir]).status).toBe(0);
    }
    expect(end.error?.details).toMatch(/EPERM|operation not permitted/i);
    expect(end.exit).toBeUndefined();
    expect(await names()).not.toContain('unwritten');
    const id = /containers\/([0-9a-f]{64})/.exec(end.error!.details)![1];
    expect(fs.existsSync(`${d.root}/overlay/${id}`)).toBe(false);
    expect(mountsUnder(d.root).filter((m) => m.includes(id))).toEqual([]);
    expect(fs.existsSync(cgroupDir(d.root, id))).toBe(false);
    // Nothing ran and nothing is left of it; the name is free again, and the next run works.
    const again = openAttach(d, { create: request(['echo', 'written'], { autoRemove: true }, 'unwritten') });
    expect((await again.done).exit).toEqual({ exitCode: 0, signal: 0 });
    expect(again.stdout.toString()).toBe('written\n');
    // Every directory left in the store is a container the daemon knows.
    const known = (await call<typeof d.clients.containers, unknown, ListContainersResponse>(d.clients.containers, 'list', { all: true })).containers.map((c) => c.id);
    expect(fs.readdirSync(dir).filter((e) => !known.includes(e))).toEqual([]);
  });

  it('fails a kept run whose record cannot be written with the disk\'s error, and leaves no cgroup', async () => {
    const dir = `${d.root}/containers`;
    const cgroups = path.dirname(cgroupDir(d.root, 'x'.repeat(64)));
    const before = fs.existsSync(cgroups) ? fs.readdirSync(cgroups) : [];
    expect(spawnSync('chattr', ['+i', dir]).status).toBe(0);
    let end;
    try {
      end = await openAttach(d, { create: request(['echo', 'never'], {}, 'unrecorded') }).done;
    } finally {
      expect(spawnSync('chattr', ['-i', dir]).status).toBe(0);
    }
    expect(end.error?.details).toMatch(/EPERM|operation not permitted/i);
    expect(end.exit).toBeUndefined();
    expect(await names()).not.toContain('unrecorded');
    expect(fs.existsSync(cgroups) ? fs.readdirSync(cgroups) : []).toEqual(before);
  });

  it('refuses a container id beside create, and a create the daemon refuses, and makes nothing', async () => {
    const before = await names();
    const both = await openAttach(d, { containerId: 'abc', create: request(['true']) }).done;
    expect(both.error).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(both.error!.details).toMatch(/^options\.container_id "abc": must be empty with options\.create/);
    const noStdin = await openAttach(d, { create: request(['cat']), stdin: true }).done;
    expect(noStdin.error).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'options.stdin true: needs options.create.config.open_stdin' });
    const noImage = await openAttach(d, { create: { ...request(['true']), config: config('no-such-image', ['true']) } }).done;
    expect(noImage.error).toMatchObject({ code: status.NOT_FOUND });
    const badName = await openAttach(d, { create: request(['true'], {}, 'bad name!') }).done;
    expect(badName.error).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(await names()).toEqual(before);
  });

  it('gives back the memory that a run\'s large output took, soon after the run is over', async () => {
    const client = openAttach(d, { create: request(['sh', '-c', 'dd if=/dev/zero bs=65536 count=2048 2>/dev/null'], { autoRemove: true }) });
    expect(await client.done).toEqual({ exit: { exitCode: 0, signal: 0 } });
    expect(client.stdout.length).toBe(128 * 1024 * 1024);
    // The 128 MiB went through berthd's heaps (its RSS grew by 60-80 MiB, and stayed so 10 s and more before).
    const peak = rssMiB();
    expect(peak - idleMiB).toBeGreaterThan(24);
    let now = peak;
    for (let i = 0; i < 60 && now > idleMiB + 24; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      now = rssMiB();
    }
    expect(now, `berthd: ${idleMiB.toFixed(0)} MiB idle at the start, ${peak.toFixed(0)} after the run, ${now.toFixed(0)} 3 s later`).toBeLessThan(idleMiB + 24);
  });

  it('lets a client detach from an auto-remove run: the container goes on, and is removed at its exit', async () => {
    const client = openAttach(d, {
      create: request(['sh', '-c', 'echo ready; read line; echo got $line'], { autoRemove: true }, 'detach-rm', { tty: true, openStdin: true }),
      stdin: true,
    });
    const id = await attachedId(client);
    await client.waitFor('ready');
    await client.stdin('\x10\x11'); // ctrl-p ctrl-q, the default detach keys
    expect(await client.done).toEqual({ detached: true });
    expect((await inspect(id)).state!.status).toBe('running');
    // Another attach takes it from here, and sees the exit; the daemon removes it then.
    const again = openAttach(d, { containerId: id, stdin: true });
    await again.ready;
    await again.stdin('hello\r');
    expect(await again.done).toEqual({ exit: { exitCode: 0, signal: 0 } });
    expect(again.stdout.toString()).toContain('got hello');
    await call(d.clients.containers, 'wait', { containerId: id, condition: 'removed' }).catch(() => undefined);
    expect(await names()).not.toContain('detach-rm');
  });
});
