// Real containers through the real daemon: what runs inside, exit codes, logs, names, removal.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { call } from '../../src/cli/client';
import type { InspectContainerResponse, ListContainersResponse } from '../../src/gen/berth/v1/containers';
import {
  config, containerMountsUnder, createContainer, destroyDaemon, importBusybox, mountsUnder, runToEnd, startDaemon, type TestDaemon,
} from '../helpers/daemon';
import { IS_ROOT } from '../helpers/paths';

describe.skipIf(!IS_ROOT)('running containers', () => {
  let d: TestDaemon;
  const mountsBefore = mountsUnder('/');

  beforeAll(async () => {
    d = await startDaemon();
    await importBusybox(d);
  });

  afterAll(async () => {
    await destroyDaemon(d);
    expect(mountsUnder('/').length).toBe(mountsBefore.length);
  });

  it('has ext4 spread the containers\' and overlays\' directories over its block groups (chattr +T)', () => {
    const fsType = spawnSync('stat', ['-f', '-c', '%T', d.root], { encoding: 'utf8' }).stdout.trim();
    if (fsType !== 'ext2/ext3') return; // other filesystems have no such flag
    for (const dir of ['containers', 'overlay']) {
      expect(spawnSync('lsattr', ['-d', path.join(d.root, dir)], { encoding: 'utf8' }).stdout).toMatch(/^\S*T\S* /);
    }
  });

  it('echo hello shows in the logs and exits 0', async () => {
    const r = await runToEnd(d, config('busybox', ['echo', 'hello']));
    expect(r).toMatchObject({ exitCode: 0, signal: 0, stdout: 'hello\n', stderr: '' });
  });

  it('keeps stdout and stderr apart in the log', async () => {
    const r = await runToEnd(d, config('busybox', ['sh', '-c', 'echo out; echo err >&2']));
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
  });

  it.each([
    [['sh', '-c', 'exit 3'], 3, 0],
    [['sh', '-c', 'exit 255'], 255, 0],
    // A shell reports a child killed by signal N as 128+N; init itself exits normally with that code.
    [['sh', '-c', 'sh -c "kill -9 \\$\\$"; exit $?'], 137, 0],
    [['false'], 1, 0],
  ])('%j exits with %i (signal %i)', async (cmd, exitCode, signal) => {
    const r = await runToEnd(d, config('busybox', cmd));
    expect({ exitCode: r.exitCode, signal: r.signal }).toEqual({ exitCode, signal });
    const info = await call<typeof d.clients.containers, unknown, InspectContainerResponse>(d.clients.containers, 'inspect', { containerId: r.id });
    expect(info.container!.state).toMatchObject({ status: 'exited', running: false, exitCode, pid: 0 });
  });

  it('death of init by signal N is 128+N with the signal recorded', async () => {
    const id = await createContainer(d, config('busybox', ['sleep', '60']));
    await call(d.clients.containers, 'start', { containerId: id });
    await call(d.clients.containers, 'kill', { containerId: id, signal: 'KILL' });
    const exit = await call<typeof d.clients.containers, unknown, { exitCode: number; signal: number }>(d.clients.containers, 'wait', { containerId: id, condition: '' });
    expect(exit).toEqual({ exitCode: 137, signal: 9 });
    await expect(call(d.clients.containers, 'kill', { containerId: id, signal: 'KILL' })).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION, details: expect.stringContaining('status is exited'),
    });
    await expect(call(d.clients.containers, 'kill', { containerId: id, signal: 'SIGNOPE' })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it('applies env, working dir, user and hostname', async () => {
    const r = await runToEnd(d, config('busybox', ['sh', '-c', 'echo "$GREETING|$(pwd)|$(id -u):$(id -g):$(id -G)|$(hostname)|$HOME|$HOSTNAME"'], {
      env: ['GREETING=hi there'], workingDir: '/srv/app', user: 'berth', hostname: 'web-1',
    }));
    expect(r.stdout).toBe('hi there|/srv/app|1000:1000:1000 10|web-1|/home/berth|web-1\n');
  });

  it('takes numeric uid:gid that the image does not list', async () => {
    const r = await runToEnd(d, config('busybox', ['sh', '-c', 'echo $(id -u):$(id -g)'], { user: '4242:4343' }));
    expect(r.stdout).toBe('4242:4343\n');
  });

  it('defaults the hostname to the short id and writes /etc/hostname and /etc/hosts', async () => {
    const r = await runToEnd(d, config('busybox', ['sh', '-c', 'hostname; cat /etc/hostname; grep -c localhost /etc/hosts']));
    const short = r.id.slice(0, 12);
    expect(r.stdout).toBe(`${short}\n${short}\n2\n`);
  });

  it('runs the command as pid 1 and sees no host process', async () => {
    const r = await runToEnd(d, config('busybox', ['sh', '-c', 'echo $$; ls /proc | grep -c "^[0-9]"']));
    // pid 1 is sh itself; the only other process is the ls|grep pipeline (2 processes).
    const [pid, count] = r.stdout.trim().split('\n').map(Number);
    expect(pid).toBe(1);
    expect(count).toBeLessThanOrEqual(3);
  });

  it('runs in its own pid, mount, uts, ipc and net namespaces', async () => {
    const kinds = ['pid', 'mnt', 'uts', 'ipc', 'net'];
    const r = await runToEnd(d, config('busybox', ['sh', '-c', kinds.map((k) => `readlink /proc/self/ns/${k}`).join('; ')]));
    const inside = r.stdout.trim().split('\n');
    expect(inside).toHaveLength(kinds.length);
    kinds.forEach((k, i) => {
      expect(inside[i]).toMatch(new RegExp(`^${k}:\\[\\d+\\]$`));
      expect(inside[i]).not.toBe(fs.readlinkSync(`/proc/self/ns/${k}`));
    });
  });

  it('with network disabled has loopback up and no other network device', async () => {
    const r = await runToEnd(d, config('busybox', ['sh', '-c', 'cat /sys/class/net/lo/operstate /sys/class/net/lo/flags; ls /sys/class/net'], { networkDisabled: true }));
    const [, flags, devices] = r.stdout.trim().split('\n');
    expect(Number(flags) & 1).toBe(1); // IFF_UP
    expect(devices).toBe('lo');
  });

  it('has a minimal /dev, read-only /sys and read-only /etc files', async () => {
    const r = await runToEnd(d, config('busybox', ['sh', '-c', [
      'ls /dev | tr "\\n" " "; echo',
      'echo x > /dev/null && head -c 4 /dev/zero | wc -c',
      'touch /sys/x 2>/dev/null || echo sys-ro',
      '(echo x >> /etc/hosts) 2>/dev/null || echo hosts-ro',
      '(echo x >> /etc/resolv.conf) 2>/dev/null || echo resolv-ro',
      'readlink /dev/fd',
    ].join('; ')]));
    const lines = r.stdout.trim().split('\n');
    expect(lines[0].trim().split(' ').sort()).toEqual(
      ['fd', 'full', 'mqueue', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero'],
    );
    expect(lines.slice(1)).toEqual(['4', 'sys-ro', 'hosts-ro', 'resolv-ro', '/proc/self/fd']);
  });

  it('leaks no file descriptor of the daemon or monitor into the container', async () => {
    const r = await runToEnd(d, config('busybox', ['sh', '-c', 'ls /proc/self/fd | tr "\\n" " "']));
    // 0-2 are stdio; 3 is the directory ls itself opened to list.
    expect(r.stdout.trim().split(' ').map(Number)).toEqual([0, 1, 2, 3]);
  });

  it('writes into its own overlay layer, not the image', async () => {
    const a = await runToEnd(d, config('busybox', ['sh', '-c', 'echo changed > /bin/marker; cat /bin/marker']));
    expect(a.stdout).toBe('changed\n');
    const b = await runToEnd(d, config('busybox', ['sh', '-c', 'cat /bin/marker 2>&1 || echo absent']));
    expect(b.stdout).toMatch(/absent/);
  });

  it('a missing command fails Start with INVALID_ARGUMENT and the container stays created', async () => {
    const id = await createContainer(d, config('busybox', ['/no/such/binary']));
    await expect(call(d.clients.containers, 'start', { containerId: id })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT, details: expect.stringMatching(/exec "\/no\/such\/binary".*No such file/),
    });
    const info = await call<typeof d.clients.containers, unknown, InspectContainerResponse>(d.clients.containers, 'inspect', { containerId: id });
    expect(info.container!.state).toMatchObject({ status: 'created', running: false, exitCode: 127 });
    expect(containerMountsUnder(d.root)).toEqual([]);
  });

  it('lists running containers by default and all with all', async () => {
    const id = await createContainer(d, config('busybox', ['sleep', '30']), 'sleeper');
    await call(d.clients.containers, 'start', { containerId: 'sleeper' });
    const running = await call<typeof d.clients.containers, unknown, ListContainersResponse>(d.clients.containers, 'list', { all: false });
    expect(running.containers.map((c) => c.name)).toEqual(['sleeper']);
    expect(running.containers[0].state).toMatchObject({ status: 'running', running: true });
    expect(running.containers[0].state!.pid).toBeGreaterThan(1);
    const all = await call<typeof d.clients.containers, unknown, ListContainersResponse>(d.clients.containers, 'list', { all: true });
    expect(all.containers.length).toBeGreaterThan(1);

    await expect(call(d.clients.containers, 'remove', { containerId: id, force: false })).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
    const pid = running.containers[0].state!.pid;
    await call(d.clients.containers, 'remove', { containerId: id.slice(0, 10), force: true });
    expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    expect(fs.existsSync(path.join(d.root, 'containers', id))).toBe(false);
    expect(fs.existsSync(path.join(d.root, 'overlay', id))).toBe(false);
    expect(containerMountsUnder(d.root)).toEqual([]);
  });
});
