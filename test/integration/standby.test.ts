// The standby rootfs (rootfs/standby.ts): after two starts of an image, the next container's overlay is made
// ahead, and a new container of that image gets it. It is an overlay like any other, it goes with an image's
// removal and with berthd's stop, and a daemon that was killed finds its last one and discards it.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/client';
import { cli, config, destroyDaemon, importBusybox, mountsUnder, runToEnd, startDaemon, stopDaemon, tempRoot, type TestDaemon } from '../helpers/daemon';
import { IS_ROOT } from '../helpers/paths';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The standby overlays mounted under a daemon's root. */
const standbyMounts = (root: string) => mountsUnder(path.join(root, 'overlay')).filter((m) => path.basename(path.dirname(m)).startsWith('standby-'));

/** Waits up to 3 s for `want` standby mounts; returns what there is then. */
async function standbysSettle(root: string, want: number): Promise<string[]> {
  for (let i = 0; i < 150 && standbyMounts(root).length !== want; i++) await sleep(20);
  return standbyMounts(root);
}

describe.skipIf(!IS_ROOT)('the standby rootfs', () => {
  let d: TestDaemon | undefined;

  afterEach(async () => {
    if (d) await destroyDaemon(d);
    d = undefined;
  });

  it('is made after two starts of an image, and the next container of it runs on it with its own writes', async () => {
    d = await startDaemon();
    await importBusybox(d);
    const first = await runToEnd(d, config('busybox', ['true']));
    await sleep(200);
    // One start is not yet a pattern.
    expect(standbyMounts(d.root)).toEqual([]);
    await runToEnd(d, config('busybox', ['true']));
    const [standby] = await standbysSettle(d.root, 1);
    expect(standby).toBeDefined();

    const r = await runToEnd(d, config('busybox', ['sh', '-c', 'echo hi > /hello; head -1 /etc/passwd; ls /bin/busybox']));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe('root:x:0:0:root:/root:/bin/sh\n/bin/busybox\n');
    // It took the standby (renamed to its own overlay), and its write is in its own upper dir.
    expect(fs.existsSync(path.dirname(standby))).toBe(false);
    expect(fs.readFileSync(path.join(d.root, 'overlay', r.id, 'upper', 'hello'), 'utf8')).toBe('hi\n');
    // Exited: its rootfs is unmounted as any container's; the first container's upper dir has no such file.
    expect(mountsUnder(path.join(d.root, 'overlay', r.id))).toEqual([]);
    expect(fs.existsSync(path.join(d.root, 'overlay', first.id, 'upper', 'hello'))).toBe(false);
    // A new one is made for the next start, and berthd's stop takes it away.
    expect(await standbysSettle(d.root, 1)).toHaveLength(1);
    await stopDaemon(d);
    expect(standbyMounts(d.root)).toEqual([]);
  });

  it('goes with an image\'s removal, so no mount holds the removed image\'s layers', async () => {
    d = await startDaemon();
    await importBusybox(d);
    const base = await runToEnd(d, config('busybox', ['sh', '-c', 'echo layer > /added']));
    expect(cli(d, ['commit', base.id, 'committed:latest']).status).toBe(0);
    for (let i = 0; i < 2; i++) expect((await runToEnd(d, config('committed', ['cat', '/added']))).stdout).toBe('layer\n');
    expect(await standbysSettle(d.root, 1)).toHaveLength(1);
    const all = await call<typeof d.clients.containers, unknown, { containers: { id: string }[] }>(d.clients.containers, 'list', { all: true });
    for (const c of all.containers) await call(d.clients.containers, 'remove', { containerId: c.id });
    const rmi = cli(d, ['rmi', 'committed']);
    expect(rmi.status, rmi.stderr).toBe(0);
    expect(standbyMounts(d.root)).toEqual([]);
    // busybox's containers go on as before, and after two of them busybox gets a standby.
    for (let i = 0; i < 2; i++) expect((await runToEnd(d, config('busybox', ['true']))).exitCode).toBe(0);
    expect(await standbysSettle(d.root, 1)).toHaveLength(1);
  });

  it('left by a daemon that was killed, is discarded by the next one at its start', async () => {
    const root = tempRoot();
    d = await startDaemon(root);
    await importBusybox(d);
    for (let i = 0; i < 2; i++) await runToEnd(d, config('busybox', ['true']));
    const [left] = await standbysSettle(root, 1);
    expect(left).toBeDefined();
    d.clients.close();
    d.process.kill('SIGKILL');
    await new Promise((resolve) => d!.process.once('exit', resolve));
    expect(standbyMounts(root)).toEqual([left]);

    d = await startDaemon(root);
    expect(standbyMounts(root)).toEqual([]);
    expect(fs.existsSync(path.dirname(left))).toBe(false);
    expect((await runToEnd(d, config('busybox', ['echo', 'again']))).stdout).toBe('again\n');
  });
});
