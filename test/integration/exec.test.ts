// Exec over the API: a process inside a running container, with its env, user, cwd, tty and stdin,
// and nothing of the host (fds, cwd, binary) carried in.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/client';
import type { InspectContainerResponse } from '../../src/gen/berth/v1/containers';
import { cgroupParent, config, createContainer, destroyDaemon, importBusybox, startDaemon, type TestDaemon } from '../helpers/daemon';
import { IS_ROOT, PROJECT_ROOT } from '../helpers/paths';
import { openExec } from '../helpers/stdio-client';
import { procCgroupLine } from '../helpers/cgroup-files';

describe.skipIf(!IS_ROOT)('exec', () => {
  let d: TestDaemon;
  let id: string;

  beforeAll(async () => {
    d = await startDaemon();
    await importBusybox(d);
    id = await createContainer(d, config('busybox', ['sleep', '300'], { env: ['FROM_CONTAINER=yes'], hostname: 'exechost' }));
    await call(d.clients.containers, 'start', { containerId: id });
  });

  afterAll(() => destroyDaemon(d));

  it('runs with the container env plus its own, as the given user in the given dir, and returns the exit code', async () => {
    const e = openExec(d, { containerId: id, cmd: ['sh', '-c', 'echo $FROM_CONTAINER $FOO; id -u; pwd; hostname; echo oops >&2; exit 3'], env: ['FOO=bar'], user: 'berth', workingDir: '/tmp' });
    const started = await e.ready;
    expect(started.frame).toMatchObject({ $case: 'started', value: { execId: expect.stringMatching(/^[0-9a-f]{64}$/), pid: expect.any(Number) } });
    expect(await e.done).toEqual({ exit: { exitCode: 3, signal: 0 } });
    expect(e.stdout.toString()).toBe('yes bar\n1000\n/tmp\nexechost\n');
    expect(e.stderr.toString()).toBe('oops\n');
  });

  it('is inside the container pid namespace, beside its init', async () => {
    const e = openExec(d, { containerId: id, cmd: ['sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; ls /proc | grep -c "^[0-9]"'] });
    await e.done;
    const [init, count] = e.stdout.toString().trim().split('\n');
    expect(init.trim()).toBe('sleep 300');
    expect(Number(count)).toBeLessThanOrEqual(5);
  });

  it('is in the container\'s cgroup from its start, and so is what it forks', async () => {
    const e = openExec(d, { containerId: id, cmd: ['sh', '-c', 'cat /proc/self/cgroup; echo ---; sh -c "cat /proc/self/cgroup"'] });
    expect((await e.done).exit).toEqual({ exitCode: 0, signal: 0 });
    const [own, child] = e.stdout.toString().split('---\n');
    const inside = new RegExp(`/${cgroupParent(d.root)}/${id}$`);
    expect(procCgroupLine(own)).toMatch(inside);
    expect(procCgroupLine(child)).toMatch(inside);
  });

  it('with a tty: one stream, TERM=xterm, the size from the options', async () => {
    const e = openExec(d, { containerId: id, cmd: ['sh', '-c', 'echo $TERM; stty size; echo err >&2'], tty: true, size: { rows: 33, cols: 77 } });
    expect((await e.done).exit).toEqual({ exitCode: 0, signal: 0 });
    expect(e.stdout.toString().replace(/\r/g, '')).toBe('xterm\n33 77\nerr\n');
    expect(e.stderr.length).toBe(0);
  });

  it('takes stdin, byte-exact, and ends on close-stdin', async () => {
    const payload = crypto.randomBytes(2 * 1024 * 1024);
    const e = openExec(d, { containerId: id, cmd: ['cat'], stdin: true });
    await e.ready;
    for (let off = 0; off < payload.length; off += 64 * 1024) await e.stdin(payload.subarray(off, off + 64 * 1024));
    e.closeStdin();
    expect((await e.done).exit).toEqual({ exitCode: 0, signal: 0 });
    expect(e.stdout.equals(payload)).toBe(true);
  });

  it('leaks no host fd and starts in a directory inside the container (CVE-2024-21626)', async () => {
    const e = openExec(d, { containerId: id, cmd: ['sh', '-c', 'ls /proc/self/fd | tr "\\n" " "; echo; readlink /proc/self/cwd; ls /proc/self/cwd/ | grep -c berthd.lock'] });
    await e.done;
    const [fds, cwd, lock] = e.stdout.toString().trim().split('\n');
    expect(fds.trim().split(' ').map(Number)).toEqual([0, 1, 2, 3]);
    expect(cwd).toBe('/');
    expect(lock).toBe('0');
  });

  it('never runs a host binary through /proc/self/exe (CVE-2019-5736)', async () => {
    const monitor = fs.readFileSync(`${PROJECT_ROOT}/build/Release/berth-monitor`);
    const before = crypto.createHash('sha256').update(monitor).digest('hex');
    // The entering process is a sealed memfd copy of the monitor: what /proc/self/exe names cannot be written.
    const e = openExec(d, { containerId: id, cmd: ['/proc/self/exe'] });
    const end = await e.done;
    expect(end.exit?.exitCode ?? end.error?.code).not.toBe(0);
    const info = await call<typeof d.clients.containers, unknown, InspectContainerResponse>(d.clients.containers, 'inspect', { containerId: id });
    const monitorPid = Number(fs.readFileSync(`/proc/${info.container!.state!.pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
    expect(fs.readlinkSync(`/proc/${monitorPid}/exe`)).toMatch(/^\/memfd:berth-monitor/);
    expect(() => fs.openSync(`/proc/${monitorPid}/exe`, 'r+')).toThrow();
    expect(crypto.createHash('sha256').update(fs.readFileSync(`${PROJECT_ROOT}/build/Release/berth-monitor`)).digest('hex')).toBe(before);
  });

  it('a missing command is INVALID_ARGUMENT; a stopped container is FAILED_PRECONDITION; no command is INVALID_ARGUMENT', async () => {
    expect((await openExec(d, { containerId: id, cmd: ['/no/such/thing'] }).done).error).toMatchObject({
      code: status.INVALID_ARGUMENT, details: expect.stringMatching(/exec "\/no\/such\/thing".*No such file/),
    });
    expect((await openExec(d, { containerId: id, cmd: [] }).done).error).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect((await openExec(d, { containerId: id, cmd: ['true'], user: 'nobody-here' }).done).error).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining('options.user') });
    const stopped = await createContainer(d, config('busybox', ['true']));
    expect((await openExec(d, { containerId: stopped, cmd: ['true'] }).done).error).toMatchObject({ code: status.FAILED_PRECONDITION, details: expect.stringContaining('status is created') });
  });

  it('signals the exec process without touching the container', async () => {
    const e = openExec(d, { containerId: id, cmd: ['sleep', '100'] });
    await e.ready;
    e.signal('KILL');
    expect((await e.done).exit).toEqual({ exitCode: 137, signal: 9 });
    const info = await call<typeof d.clients.containers, unknown, InspectContainerResponse>(d.clients.containers, 'inspect', { containerId: id });
    expect(info.container!.state!.status).toBe('running');
  });
});
