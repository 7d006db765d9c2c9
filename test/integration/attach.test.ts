// Attach over the API: every byte, from the first one, to every client; stdin in; TTY sizes; detach keys.
import crypto from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/client';
import { HostConfig, type CreateContainerResponse, type InspectContainerResponse } from '../../src/gen/berth/v1/containers';
import { config, createContainer, destroyDaemon, importBusybox, startDaemon, type TestDaemon } from '../helpers/daemon';
import { IS_ROOT } from '../helpers/paths';
import { openAttach, ownConnection, stuckAttach } from '../helpers/stdio-client';

describe.skipIf(!IS_ROOT)('attach', () => {
  let d: TestDaemon;

  beforeAll(async () => {
    d = await startDaemon();
    await importBusybox(d);
  });

  afterAll(() => destroyDaemon(d));

  async function state(id: string) {
    return (await call<typeof d.clients.containers, unknown, InspectContainerResponse>(d.clients.containers, 'inspect', { containerId: id })).container!.state!;
  }

  it('round-trips 16 MiB of random bytes through cat, byte-exact', async () => {
    const payload = crypto.randomBytes(16 * 1024 * 1024);
    const id = await createContainer(d, config('busybox', ['cat'], { openStdin: true, stdinOnce: true }));
    const client = openAttach(d, { containerId: id, stdin: true, start: true });
    await client.ready;
    for (let off = 0; off < payload.length; off += 64 * 1024) await client.stdin(payload.subarray(off, off + 64 * 1024));
    client.closeStdin();
    const end = await client.done;
    expect(end).toEqual({ exit: { exitCode: 0, signal: 0 } });
    expect(client.stdout.length).toBe(payload.length);
    expect(crypto.createHash('sha256').update(client.stdout).digest('hex')).toBe(crypto.createHash('sha256').update(payload).digest('hex'));
  });

  it('gives two clients attached before the start identical and complete output', async () => {
    const id = await createContainer(d, config('busybox', ['sh', '-c', 'for i in $(seq 1 3000); do echo line $i; done; echo done >&2']));
    const a = openAttach(d, { containerId: id });
    const b = openAttach(d, { containerId: id });
    await Promise.all([a.ready, b.ready]);
    await call(d.clients.containers, 'start', { containerId: id });
    const [endA, endB] = await Promise.all([a.done, b.done]);
    const want = Array.from({ length: 3000 }, (_, i) => `line ${i + 1}\n`).join('');
    for (const [client, end] of [[a, endA], [b, endB]] as const) {
      expect(end).toEqual({ exit: { exitCode: 0, signal: 0 } });
      expect(client.stdout.toString()).toBe(want);
      expect(client.stderr.toString()).toBe('done\n');
    }
  });

  it('loses nothing of a container that prints at once, attached then started, or started by the attach', async () => {
    const id = await createContainer(d, config('busybox', ['echo', 'first words']));
    const attached = openAttach(d, { containerId: id });
    await attached.ready;
    await call(d.clients.containers, 'start', { containerId: id });
    expect(await attached.done).toEqual({ exit: { exitCode: 0, signal: 0 } });
    expect(attached.stdout.toString()).toBe('first words\n');

    const id2 = await createContainer(d, config('busybox', ['sh', '-c', 'echo at once; exit 6']));
    const started = openAttach(d, { containerId: id2, start: true });
    expect(await started.done).toEqual({ exit: { exitCode: 6, signal: 0 } });
    expect(started.stdout.toString()).toBe('at once\n');
  });

  it('replays the log first when asked, then goes on live without a gap or a repeat', async () => {
    const id = await createContainer(d, config('busybox', ['sh', '-c', 'echo one; read x; echo two'], { openStdin: true }));
    await call(d.clients.containers, 'start', { containerId: id });
    const first = openAttach(d, { containerId: id, stdin: true });
    await first.ready;
    await new Promise((r) => setTimeout(r, 200));
    const replay = openAttach(d, { containerId: id, logs: true });
    await replay.waitFor('one\n');
    await first.stdin('go\n');
    expect(await replay.done).toEqual({ exit: { exitCode: 0, signal: 0 } });
    expect(replay.stdout.toString()).toBe('one\ntwo\n');
  });

  it('with a tty: the initial size comes from the first frame, then Resize and resize frames change it', async () => {
    const id = await createContainer(d, config('busybox', ['sh', '-c', 'echo TERM=$TERM; stty size; read x; stty size; read y; stty size'], { tty: true, openStdin: true }));
    const client = openAttach(d, { containerId: id, stdin: true, start: true, size: { rows: 30, cols: 100 } });
    await client.waitFor('30 100');
    expect(client.stdout.toString()).toContain('TERM=xterm');
    await call(d.clients.containers, 'resize', { containerId: id, rows: 40, cols: 120 });
    await client.stdin('\r');
    await client.waitFor('40 120');
    client.resize(50, 132);
    await client.stdin('\r');
    await client.waitFor('50 132');
    expect((await client.done).exit).toEqual({ exitCode: 0, signal: 0 });
    expect(client.stderr.length).toBe(0); // a tty has one stream
  });

  it('resize of a container without a tty, or not running, is FAILED_PRECONDITION; 0x0 is INVALID_ARGUMENT', async () => {
    const id = await createContainer(d, config('busybox', ['sleep', '30']));
    await expect(call(d.clients.containers, 'resize', { containerId: id, rows: 10, cols: 10 })).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
    await call(d.clients.containers, 'start', { containerId: id });
    await expect(call(d.clients.containers, 'resize', { containerId: id, rows: 10, cols: 10 })).rejects.toMatchObject({ code: status.FAILED_PRECONDITION, details: expect.stringContaining('no tty') });
    await expect(call(d.clients.containers, 'resize', { containerId: id, rows: 0, cols: 0 })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await call(d.clients.containers, 'remove', { containerId: id, force: true });
  });

  it('detach keys end a terminal attach and leave the container running', async () => {
    const id = await createContainer(d, config('busybox', ['cat'], { openStdin: true, tty: true }));
    const client = openAttach(d, { containerId: id, stdin: true, start: true, detachKeys: 'ctrl-x,x' });
    await client.ready;
    await client.stdin('hello\r');
    await client.waitFor('hello\r\n');
    await client.stdin(Buffer.from([0x18, 0x78]));
    expect(await client.done).toEqual({ detached: true });
    expect(await state(id)).toMatchObject({ status: 'running' });
    // The default keys, ctrl-p ctrl-q, on a second attach.
    const again = openAttach(d, { containerId: id, stdin: true });
    await again.ready;
    await again.stdin(Buffer.from([0x10, 0x11]));
    expect(await again.done).toEqual({ detached: true });
    expect(await state(id)).toMatchObject({ status: 'running' });
    await call(d.clients.containers, 'remove', { containerId: id, force: true });
  });

  it('with StdinOnce, the client closing stdin closes the container stdin; without it, the container keeps it', async () => {
    const once = await createContainer(d, config('busybox', ['sh', '-c', 'cat; echo eof'], { openStdin: true, stdinOnce: true }));
    const a = openAttach(d, { containerId: once, stdin: true, start: true });
    await a.ready;
    await a.stdin('abc');
    a.closeStdin();
    expect(await a.done).toEqual({ exit: { exitCode: 0, signal: 0 } });
    expect(a.stdout.toString()).toBe('abceof\n');

    const open = await createContainer(d, config('busybox', ['sh', '-c', 'cat; echo eof'], { openStdin: true }));
    const b = openAttach(d, { containerId: open, stdin: true, start: true });
    await b.ready;
    await b.stdin('xyz\n');
    b.closeStdin();
    await b.waitFor('xyz\n');
    await new Promise((r) => setTimeout(r, 300));
    expect(await state(open)).toMatchObject({ status: 'running' });
    b.cancel();
    await call(d.clients.containers, 'remove', { containerId: open, force: true });
  });

  it('ends an attach that waited for a start that failed with the start\'s error', async () => {
    const id = await createContainer(d, config('busybox', ['/no/such/program']));
    const waiting = openAttach(d, { containerId: id });
    await waiting.ready;
    const started = call(d.clients.containers, 'start', { containerId: id });
    await expect(started).rejects.toMatchObject({ details: expect.stringMatching(/no\/such\/program.*No such file/) });
    const end = await waiting.done;
    expect(end.error?.details).toMatch(/no\/such\/program.*No such file/);
    expect(await state(id)).toMatchObject({ status: 'created', exitCode: 127 });
    await call(d.clients.containers, 'remove', { containerId: id });
  });

  it('attaching stdin to a container without OpenStdin is FAILED_PRECONDITION; bad options are INVALID_ARGUMENT', async () => {
    const id = await createContainer(d, config('busybox', ['true']));
    expect((await openAttach(d, { containerId: id, stdin: true }).done).error).toMatchObject({ code: status.FAILED_PRECONDITION, details: expect.stringContaining('open_stdin') });
    expect((await openAttach(d, { containerId: id, detachKeys: 'ctrl-é' }).done).error).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect((await openAttach(d, { containerId: 'nope' }).done).error).toMatchObject({ code: status.NOT_FOUND });
  });

  const FILL = 'head -c 100000000 /dev/zero | tr "\\0" a; echo end';
  const FILLED = 100_000_000 + 'end\n'.length;

  it('a client that stops reading stalls neither the container nor another client, and later still gets every byte', async () => {
    const id = await createContainer(d, config('busybox', ['sh', '-c', FILL]));
    const stuck = stuckAttach(d, id);
    const reader = openAttach(d, { containerId: id }, ownConnection(d));
    await reader.ready;
    await new Promise((r) => setTimeout(r, 200));
    await call(d.clients.containers, 'start', { containerId: id });
    const readerEnd = await reader.done;
    expect({ ...readerEnd, error: readerEnd.error?.details }).toEqual({ exit: { exitCode: 0, signal: 0 }, error: undefined });
    expect(reader.stdout.length).toBe(FILLED);
    expect(reader.stdout.subarray(-8).toString()).toBe('aaaaend\n');
    expect(await state(id)).toMatchObject({ status: 'exited', exitCode: 0 });
    // berthd held back, the monitor dropped it, and the log (not rotated) still has it all.
    const late = await stuck.drain();
    expect(late.status).toBe('0');
    expect(late.received).toBeGreaterThan(FILLED);
  });

  it('a client that fell further behind than the rotated log reaches is dropped with RESOURCE_EXHAUSTED', async () => {
    const { id } = await call<typeof d.clients.containers, unknown, CreateContainerResponse>(d.clients.containers, 'create', {
      name: '', config: config('busybox', ['sh', '-c', FILL]),
      hostConfig: HostConfig.fromPartial({ logConfig: { type: 'json-file', config: { 'max-size': '4m', 'max-file': '2' } } }),
    });
    const stuck = stuckAttach(d, id);
    await new Promise((r) => setTimeout(r, 200));
    await call(d.clients.containers, 'start', { containerId: id });
    expect(await call(d.clients.containers, 'wait', { containerId: id, condition: '' })).toEqual({ exitCode: 0, signal: 0 });
    const late = await stuck.drain();
    expect(late.status).toBe(String(status.RESOURCE_EXHAUSTED));
    expect(late.received).toBeLessThan(FILLED);
  });
});
