// The daemon stops and starts again: containers, their state and exit codes are all still there,
// and a container that ran on while the daemon was away is found again by its monitor.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/client';
import { ContainerLogsRequest, type InspectContainerResponse, type ListContainersResponse, type WaitContainerResponse } from '../../src/gen/berth/v1/containers';
import {
  config, containerMountsUnder, createContainer, destroyDaemon, importBusybox, runToEnd, startDaemon, stopDaemon, tempRoot, type TestDaemon,
} from '../helpers/daemon';
import { IS_ROOT } from '../helpers/paths';

async function inspect(d: TestDaemon, id: string) {
  return (await call<typeof d.clients.containers, unknown, InspectContainerResponse>(d.clients.containers, 'inspect', { containerId: id })).container!;
}

describe.skipIf(!IS_ROOT)('a daemon restart', () => {
  let d: TestDaemon | undefined;

  afterEach(async () => {
    if (d) await destroyDaemon(d);
    d = undefined;
  });

  it('keeps every container with its state, exit code and log', async () => {
    const root = tempRoot();
    d = await startDaemon(root);
    await importBusybox(d);
    const exited = await runToEnd(d, config('busybox', ['sh', '-c', 'echo before; exit 7']));
    const created = await createContainer(d, config('busybox', ['true']), 'never-started');
    await stopDaemon(d);

    d = await startDaemon(root);
    const list = await call<typeof d.clients.containers, unknown, ListContainersResponse>(d.clients.containers, 'list', { all: true });
    expect(list.containers.map((c) => c.id).sort()).toEqual([exited.id, created].sort());
    expect((await inspect(d, exited.id)).state).toMatchObject({ status: 'exited', exitCode: 7 });
    expect((await inspect(d, 'never-started')).state).toMatchObject({ status: 'created' });
    const again = await runToEnd(d, config('busybox', ['echo', 'after']));
    expect(again.stdout).toBe('after\n');
  });

  it('leaves a running container running, finds it again, and gets its exit code', async () => {
    const root = tempRoot();
    d = await startDaemon(root);
    await importBusybox(d);
    // The container waits for a file the test creates while the daemon is down.
    const id = await createContainer(d, config('busybox', ['sh', '-c', 'echo started; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo done; exit 5']));
    await call(d.clients.containers, 'start', { containerId: id });
    const pid = (await inspect(d, id)).state!.pid;
    await stopDaemon(d);

    expect(fs.existsSync(`/proc/${pid}`)).toBe(true);
    fs.writeFileSync(`${root}/overlay/${id}/merged/tmp/go`, '');
    // Let it finish while nobody listens: its monitor must keep the exit code.
    for (let i = 0; i < 200 && fs.existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 25));
    expect(fs.existsSync(`/proc/${pid}`)).toBe(false);

    d = await startDaemon(root);
    const state = (await inspect(d, id)).state!;
    expect(state).toMatchObject({ status: 'exited', exitCode: 5, running: false });
    let log = '';
    for await (const e of d.clients.containers.logs(ContainerLogsRequest.fromPartial({ containerId: id, stdout: true, stderr: true }))) log += e.data.toString();
    expect(log).toBe('started\ndone\n');
    expect(containerMountsUnder(root)).toEqual([]);
  });

  it('reattaches to a container still running after the restart', async () => {
    const root = tempRoot();
    d = await startDaemon(root);
    await importBusybox(d);
    const id = await createContainer(d, config('busybox', ['sh', '-c', 'while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 9']));
    await call(d.clients.containers, 'start', { containerId: id });
    await stopDaemon(d);

    d = await startDaemon(root);
    expect((await inspect(d, id)).state).toMatchObject({ status: 'running', running: true });
    const waiting = call<typeof d.clients.containers, unknown, WaitContainerResponse>(d.clients.containers, 'wait', { containerId: id, condition: '' });
    fs.writeFileSync(`${root}/overlay/${id}/merged/tmp/go`, '');
    expect(await waiting).toEqual({ exitCode: 9, signal: 0 });
  });
});
