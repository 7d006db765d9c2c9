// berth-monitor end to end, as root: a busybox rootfs, the fd 3 handshake, the json-file log,
// exit codes and signals, the control socket, and that nothing leaks to the host.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { canRunContainers, connectControl, containerScope, FINISHED_AT, JsonLines, makeContainer, MONITOR, readLog, run, startMonitor } from './monitor-harness';

const addon = createRequire(__filename)(path.resolve(__dirname, '../../build/Release/berth.node')) as {
  spawnWithSocket(file: string, argv: string[]): { pid: number; fd: number };
  sendWithSocket(fd: number, line: string): number;
  reapChild(pid: number): { exitCode: number; signal: number } | null;
};

/** Live processes named comm whose command line is `exe ...` (a zombie's is empty). */
function processesOf(exe: string, comm: string): number[] {
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === comm && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith(`${exe}\0`);
    } catch {
      return false; // gone meanwhile
    }
  }).map(Number);
}

function parentOf(pid: number): number {
  return Number(/^PPid:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

describe.skipIf(!canRunContainers())('berth-monitor', () => {
  const { container, cleanup } = containerScope();

  it('runs echo and writes docker json-file lines, exit file and exit message', async () => {
    const c = container(['echo', 'hello']);
    const before = Date.now();
    const { created, outcome, exit } = await run(c.dir);
    expect(created).toMatchObject({ type: 'created' });
    expect(created!.pid).toBeGreaterThan(1);
    expect(created!.monitorPid).toBeGreaterThan(1);
    expect(Object.keys(outcome!)).toEqual(['type', 'startedAt']);
    expect(outcome).toMatchObject({ type: 'started', startedAt: expect.stringMatching(/^\d+\.\d{9}$/) });
    const startedMs = Number((outcome!.startedAt as string).split('.')[0]) * 1000 + Number((outcome!.startedAt as string).split('.')[1]) / 1e6;
    expect(startedMs).toBeGreaterThanOrEqual(before - 1000);
    expect(startedMs).toBeLessThanOrEqual(Date.now() + 1000);
    expect(exit).toEqual({ type: 'exit', exitCode: 0, signal: 0, finishedAt: FINISHED_AT });
    const lines = readLog(c.logPath);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ log: 'hello\n', stream: 'stdout' });
    expect(lines[0].time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    expect(Object.keys(lines[0])).toEqual(['log', 'stream', 'time', 'seq']);
    expect(lines[0].seq).toBe(1);
    const exitFile = JSON.parse(fs.readFileSync(path.join(c.dir, 'exit'), 'utf8'));
    expect(exitFile).toMatchObject({ exitCode: 0, signal: 0 });
    expect(exitFile.finishedAt).toMatch(/\.\d{9}Z$/);
    // The last word tells what the file says: berthd takes the exit from it without reading the file.
    expect(exit!.finishedAt).toBe(exitFile.finishedAt);
    expect(fs.existsSync(path.join(c.dir, 'monitor.sock'))).toBe(false);
    expect(fs.existsSync(path.join(c.dir, 'exit.tmp'))).toBe(false);
    expect(fs.statSync(c.logPath).mode & 0o777).toBe(0o640);
  });

  it('with durableExit false still writes the whole log and the exit file, atomically', async () => {
    const c = container(['sh', '-c', 'echo last words; exit 4'], (s) => { s.durableExit = false; });
    const { exit } = await run(c.dir);
    expect(exit).toEqual({ type: 'exit', exitCode: 4, signal: 0, finishedAt: FINISHED_AT });
    expect(readLog(c.logPath).map((l) => l.log)).toEqual(['last words\n']);
    expect(JSON.parse(fs.readFileSync(path.join(c.dir, 'exit'), 'utf8'))).toMatchObject({ exitCode: 4, signal: 0 });
    expect(fs.existsSync(path.join(c.dir, 'exit.tmp'))).toBe(false);
  });

  it('reports the exit code, stderr, hostname, pid 1 and the fds the program sees', async () => {
    const script = 'echo out; echo err >&2; hostname; echo pid=$$; ls /proc/self/fd | tr "\\n" " "; echo; exit 3';
    const c = container(['sh', '-c', script]);
    const { exit } = await run(c.dir);
    expect(exit).toEqual({ type: 'exit', exitCode: 3, signal: 0, finishedAt: FINISHED_AT });
    const lines = readLog(c.logPath);
    const out = lines.filter((l) => l.stream === 'stdout').map((l) => l.log);
    expect(out).toEqual(['out\n', 'berthtest\n', 'pid=1\n', '0 1 2 3 \n']);
    expect(lines.filter((l) => l.stream === 'stderr').map((l) => l.log)).toEqual(['err\n']);
  });

  it('sets up /dev, proc, a read-only sysfs and lo inside the container', async () => {
    const script = [
      'ls -l /dev/null | head -c 10; echo', 'cat /proc/1/cmdline | tr "\\0" " "; echo',
      'echo x > /sys/kernel/test 2>/dev/null || echo sys-ro', 'cat /sys/class/net/lo/operstate',
      'readlink /dev/fd; id -u', 'echo ok > /dev/shm/t && cat /dev/shm/t',
    ].join('; ');
    const c = container(['/bin/sh', '-c', script]);
    const { exit } = await run(c.dir);
    expect(exit).toMatchObject({ exitCode: 0 });
    const out = readLog(c.logPath).map((l) => l.log).join('');
    expect(out).toContain('crw-rw-rw-');
    expect(out).toContain(`/bin/sh -c ${script}`);
    expect(out).toContain('sys-ro');
    expect(out).toMatch(/unknown|up/);
    expect(out).toContain('ok\n');
  });

  it('makes each device node with exactly its mode and owner, in /dev and in a directory of the image', async () => {
    const c = container(['/bin/sh', '-c', "stat -c '%n %a %u:%g %t:%T %F' /dev/null /dev/tty /dev/sec /srv/dev/node /srv/dev/link"], (spec) => {
      const devices = spec.devices as Array<Record<string, unknown>>;
      devices.push({ path: '/dev/sec', type: 'c', major: 1, minor: 5, mode: 0o600, uid: 1000, gid: 1001 });
      devices.push({ path: '/srv/dev/node', type: 'b', major: 7, minor: 0, mode: 0o2750, uid: 0, gid: 6 });
      (spec.symlinks as Array<Record<string, unknown>>).push({ target: 'node', path: '/srv/dev/link' });
    });
    // A setgid directory: what is made in it takes the directory's group; a node's owner is then the spec's.
    fs.mkdirSync(path.join(c.rootfs, 'srv/dev'), { recursive: true });
    fs.chownSync(path.join(c.rootfs, 'srv/dev'), 0, 50);
    fs.chmodSync(path.join(c.rootfs, 'srv/dev'), 0o2775);
    const { exit } = await run(c.dir);
    expect(exit).toMatchObject({ exitCode: 0 });
    expect(readLog(c.logPath).map((l) => l.log).join('')).toBe([
      '/dev/null 666 0:0 1:3 character special file',
      '/dev/tty 666 0:0 5:0 character special file',
      '/dev/sec 600 1000:1001 1:5 character special file',
      '/srv/dev/node 2750 0:6 7:0 block special file',
      '/srv/dev/link 777 0:50 0:0 symbolic link', ''].join('\n'));
  });

  it('a shell killed by SIGKILL below pid 1 exits 137; the monitor reports it as the exit code', async () => {
    // sh as pid 1 cannot SIGKILL itself (pid namespace init is protected), so the shell that
    // kills itself is a child; pid 1 then exits with that status.
    const c = container(['sh', '-c', 'sh -c "kill -9 \\$\\$"; exit $?']);
    const { exit } = await run(c.dir);
    expect(exit).toEqual({ type: 'exit', exitCode: 137, signal: 0, finishedAt: FINISHED_AT });
  });

  it('a missing program fails at step exec with ENOENT and no exit file', async () => {
    const c = container(['nonexistent-binary']);
    const { outcome, exit } = await run(c.dir);
    expect(outcome).toEqual({
      type: 'failed', step: 'exec', errno: 2, code: 'ENOENT', message: 'exec: No such file or directory',
    });
    expect(exit).toBeNull();
    expect(fs.existsSync(path.join(c.dir, 'exit'))).toBe(false);
    expect(fs.existsSync(path.join(c.dir, 'monitor.sock'))).toBe(false);
  });

  it('a non-executable program fails with EACCES, like execvp', async () => {
    const c = container(['notexec']);
    fs.writeFileSync(path.join(c.rootfs, 'bin/notexec'), 'x', { mode: 0o644 });
    const { outcome } = await run(c.dir);
    expect(outcome).toMatchObject({ type: 'failed', step: 'exec', code: 'EACCES' });
  });

  it('init prepares the rootfs while it waits for go; the program runs only after go', async () => {
    const c = container(['sh', '-c', 'echo ran']);
    const ch = startMonitor(c.dir);
    const created = await ch.next();
    const pid = created!.pid as number;
    // pivot_root done: init's root is the container's rootfs directory, no longer the host's /.
    const rootfs = fs.statSync(c.rootfs);
    const pivoted = () => { const r = fs.statSync(`/proc/${pid}/root`); return r.ino === rootfs.ino && r.dev === rootfs.dev; };
    for (const end = Date.now() + 5000; !pivoted(); await new Promise((r) => setTimeout(r, 10))) {
      if (Date.now() > end) throw new Error('init did not pivot into the rootfs before go');
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(fs.readFileSync(`/proc/${pid}/comm`, 'utf8')).toBe('berth:init\n');
    expect(readLog(c.logPath)).toEqual([]);
    ch.send('go');
    expect(await ch.next()).toMatchObject({ type: 'started' });
    expect(await ch.next()).toMatchObject({ type: 'exit', exitCode: 0 });
    await ch.closed;
    expect(readLog(c.logPath).map((l) => l.log)).toEqual(['ran\n']);
  });

  it('--standby detaches at once, then runs the container whose directory comes on fd 3; without one it just exits', async () => {
    const c = container(['sh', '-c', 'echo from standby']);
    const ch = startMonitor('--standby');
    // Detached before it knows its container: its pid is not ours to wait for, and it waits quietly.
    await new Promise((r) => setTimeout(r, 100));
    ch.send(c.dir);
    const created = await ch.next();
    expect(created).toMatchObject({ type: 'created' });
    expect(fs.readFileSync(`/proc/${created!.monitorPid}/status`, 'utf8')).not.toMatch(new RegExp(`^PPid:\\s+${process.pid}$`, 'm'));
    ch.send('go');
    expect(await ch.next()).toMatchObject({ type: 'started' });
    expect(await ch.next()).toEqual({ type: 'exit', exitCode: 0, signal: 0, finishedAt: FINISHED_AT });
    await ch.closed;
    expect(readLog(c.logPath).map((l) => l.log)).toEqual(['from standby\n']);

    const idle = startMonitor('--standby');
    idle.sock.end();
    await idle.closed;
    expect(await idle.next()).toBeNull();
  });

  it('--zygote forks a monitor per request (a directory or --standby), away from itself and from us; EOF ends it', async () => {
    const zygote = addon.spawnWithSocket(MONITOR, [MONITOR, '--zygote']);
    for (let i = 0; !addon.reapChild(zygote.pid) && i < 100; i++) await new Promise((r) => setTimeout(r, 10));
    expect(processesOf(MONITOR, 'berth-zygote')).toHaveLength(1);
    const [zygotePid] = processesOf(MONITOR, 'berth-zygote');
    const a = container(['sh', '-c', 'echo from a']);
    const b = container(['sh', '-c', 'echo from b']);
    // Two requests back to back: each gets a monitor of its own, on the socket that came with it.
    const channel = (line: string) => new JsonLines(new net.Socket({ fd: addon.sendWithSocket(zygote.fd, line), readable: true, writable: true }));
    const forA = channel(a.dir);
    const forB = channel('--standby');
    await new Promise((r) => setTimeout(r, 100));
    expect(processesOf(MONITOR, 'berth-standby')).toHaveLength(1);
    forB.send(b.dir);
    for (const [ch, c, text] of [[forA, a, 'from a\n'], [forB, b, 'from b\n']] as const) {
      const created = await ch.next();
      expect(created).toMatchObject({ type: 'created' });
      const monitor = created!.monitorPid as number;
      expect([process.pid, zygotePid]).not.toContain(parentOf(monitor));
      ch.send('go');
      expect(await ch.next()).toMatchObject({ type: 'started' });
      expect(await ch.next()).toEqual({ type: 'exit', exitCode: 0, signal: 0, finishedAt: FINISHED_AT });
      await ch.closed;
      expect(readLog(c.logPath).map((l) => l.log)).toEqual([text]);
    }
    fs.closeSync(zygote.fd);
    for (let i = 0; processesOf(MONITOR, 'berth-zygote').length > 0 && i < 200; i++) await new Promise((r) => setTimeout(r, 10));
    expect(processesOf(MONITOR, 'berth-zygote')).toEqual([]);
  });

  it('puts init into the cgroups the spec names before go; one it cannot join fails go, and nothing runs', async () => {
    // A cgroup of our own in the pids hierarchy (v1) or the unified one (v2).
    const root = fs.existsSync('/sys/fs/cgroup/pids') ? '/sys/fs/cgroup/pids' : '/sys/fs/cgroup';
    const cgroup = path.join(root, `berth-monitor-test-${process.pid}`);
    fs.mkdirSync(cgroup);
    try {
      const c = container(['cat', '/proc/self/cgroup'], (s) => { s.cgroupProcs = [path.join(cgroup, 'cgroup.procs')]; });
      const { outcome, exit } = await run(c.dir);
      expect(outcome).toMatchObject({ type: 'started' });
      expect(exit).toEqual({ type: 'exit', exitCode: 0, signal: 0, finishedAt: FINISHED_AT });
      const lines = readLog(c.logPath).map((l) => l.log).join('');
      expect(lines).toMatch(new RegExp(`:/${path.basename(cgroup)}\n`));

      const missing = path.join(cgroup, 'gone', 'cgroup.procs');
      const bad = container(['sh', '-c', 'echo ran'], (s) => { s.cgroupProcs = [missing]; });
      const failed = await run(bad.dir);
      expect(failed.created).toMatchObject({ type: 'created' });
      expect(failed.outcome).toMatchObject({ type: 'failed', step: 'cgroup', code: 'ENOENT' });
      expect(String(failed.outcome!.message)).toContain(missing);
      expect(failed.exit).toBeNull();
      expect(readLog(bad.logPath)).toEqual([]);
    } finally {
      fs.rmdirSync(cgroup);
    }
  });

  it('a failing mount names its step', async () => {
    const c = container(['true'], (s) => {
      (s.mounts as unknown[]).push({ source: '/nonexistent/src', target: '/mnt/x', fstype: '', flags: ['bind'], data: '', kind: 'dir' });
    });
    const { outcome } = await run(c.dir);
    expect(outcome).toMatchObject({ type: 'failed', step: 'mount /mnt/x', code: 'ENOENT' });
  });

  it('a bad spec.json is reported as failed before anything runs', async () => {
    const c = container(['true']);
    fs.writeFileSync(path.join(c.dir, 'spec.json'), '{"id": "x", "args": 3}');
    const ch = startMonitor(c.dir);
    const msg = await ch.next();
    expect(msg).toMatchObject({ type: 'failed', step: 'read spec', code: 'EINVAL' });
    expect(String(msg!.message)).toContain('spec.json');
    await ch.closed;
  });

  it('kill 9 through monitor.sock ends the container with 137 / signal 9', async () => {
    const c = container(['sleep', '100']);
    const ch = startMonitor(c.dir);
    const created = await ch.next();
    expect(created).toMatchObject({ type: 'created' });
    ch.send('go');
    const started = await ch.next();
    expect(started).toMatchObject({ type: 'started' });
    // Daemonized: named for ps, not our child, and the socket is private to root.
    const monitorPid = created!.monitorPid as number;
    expect(fs.readFileSync(`/proc/${monitorPid}/comm`, 'utf8')).toBe('berth-monitor\n');
    expect(fs.readFileSync(`/proc/${monitorPid}/status`, 'utf8')).not.toMatch(new RegExp(`^PPid:\\s+${process.pid}$`, 'm'));
    expect(fs.readFileSync(`/proc/${created!.pid}/cmdline`, 'utf8')).toBe('sleep\0' + '100\0');
    expect(fs.statSync(path.join(c.dir, 'monitor.sock')).mode & 0o777).toBe(0o600);
    // It holds init's mount namespace, so the namespace's teardown is its own, after the exit is reported.
    const held = fs.readdirSync(`/proc/${monitorPid}/fd`).map((fd) => { try { return fs.readlinkSync(`/proc/${monitorPid}/fd/${fd}`); } catch { return ''; } });
    expect(held).toContain(fs.readlinkSync(`/proc/${created!.pid}/ns/mnt`));
    expect(fs.readlinkSync(`/proc/${created!.pid}/ns/mnt`)).not.toBe(fs.readlinkSync('/proc/self/ns/mnt'));
    const ctl = await connectControl(c.dir);
    cleanup.push(ctl.close);
    // What berthd asks after a restart: the pids, and the start time that "started" gave.
    ctl.lines.send('state');
    expect(await ctl.lines.next()).toEqual({ type: 'state', pid: created!.pid, monitorPid, startedAt: started!.startedAt });
    ctl.lines.send('kill 9');
    expect(await ctl.lines.next()).toEqual({ type: 'ok' });
    expect(await ctl.lines.next()).toEqual({ type: 'exit', exitCode: 137, signal: 9, finishedAt: FINISHED_AT });
    expect(await ch.next()).toEqual({ type: 'exit', exitCode: 137, signal: 9, finishedAt: FINISHED_AT });
    await ch.closed;
  });

  it('kill 15 through monitor.sock: ignored by a bare pid 1, ends a shell that traps it (143)', async () => {
    const c = container(['sh', '-c', 'trap "exit 143" TERM; echo ready; while :; do sleep 0.1; done']);
    const ch = startMonitor(c.dir);
    await ch.next();
    ch.send('go');
    expect(await ch.next()).toMatchObject({ type: 'started' });
    // Until the trap is set, pid 1 has no handler and the kernel drops SIGTERM: wait for it.
    for (let i = 0; i < 500 && !fs.readFileSync(c.logPath, 'utf8').includes('ready'); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const ctl = await connectControl(c.dir);
    cleanup.push(ctl.close);
    ctl.lines.send('bogus');
    expect(await ctl.lines.next()).toMatchObject({ type: 'error', message: 'unknown command: bogus' });
    ctl.lines.send('kill 15');
    expect(await ctl.lines.next()).toEqual({ type: 'ok' });
    expect(await ch.next()).toEqual({ type: 'exit', exitCode: 143, signal: 0, finishedAt: FINISHED_AT });
    await ch.closed;
  });

  it('SIGTERM to a bare `sleep 100` as pid 1 is dropped by the kernel; SIGKILL still works', async () => {
    const c = container(['sleep', '100']);
    const ch = startMonitor(c.dir);
    await ch.next();
    ch.send('go');
    await ch.next();
    ch.send('kill TERM');
    expect(await ch.next()).toEqual({ type: 'ok' });
    await new Promise((r) => setTimeout(r, 300));
    ch.send('kill SIGKILL');
    expect(await ch.next()).toEqual({ type: 'ok' });
    expect(await ch.next()).toEqual({ type: 'exit', exitCode: 137, signal: 9, finishedAt: FINISHED_AT });
    await ch.closed;
  });
});

// The bridge network's veth (spec.json "interface"): the monitor makes the pair, init configures eth0.
describe.skipIf(!canRunContainers())('berth-monitor: the container interface', () => {
  // Names of this run's own: a bridge, its /24 and the host end, so parallel runs never meet.
  const tag = `${process.pid % 10000}`.padStart(4, '0');
  const bridge = `bmt${tag}`;
  const hostName = `vbmt${tag}`;
  const third = 100 + (process.pid % 150);
  const iface = {
    hostName, bridge, mtu: 1400, mac: '02:42:0a:c8:00:05', address: `10.201.${third}.5`, prefixLen: 24, gateway: `10.201.${third}.1`,
  };
  let cleanup: Array<() => void> = [];
  const ip = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8' });
  beforeAll(() => {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', `${iface.gateway}/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
  });
  afterAll(() => {
    ip('link', 'del', hostName);
    ip('link', 'del', bridge);
  });
  afterEach(() => { for (const c of cleanup.splice(0)) c(); });
  const container = (args: string[], edit?: (s: Record<string, unknown>) => void) => {
    const c = makeContainer(args, edit);
    cleanup.push(c.remove);
    return c;
  };

  it('makes the pair on the bridge, and the program finds eth0 up with its address, MAC, MTU and route', async () => {
    const script = 'ip -o -4 addr show dev eth0; cat /sys/class/net/eth0/address /sys/class/net/eth0/mtu /sys/class/net/eth0/operstate; ip route; sleep 1';
    const c = container(['sh', '-c', script], (s) => { s.interface = iface; });
    const ch = startMonitor(c.dir);
    expect(await ch.next()).toMatchObject({ type: 'created' });
    // The monitor makes the pair after created; by the answer to go, the host end is up on the bridge.
    ch.send('go');
    expect(await ch.next()).toMatchObject({ type: 'started' });
    const link = ip('-o', 'link', 'show', 'dev', hostName).stdout;
    expect(link).toContain(`master ${bridge}`);
    expect(link).toContain('mtu 1400');
    expect(link).toMatch(/<[^>]*\bUP\b/);
    expect(await ch.next(20_000)).toMatchObject({ type: 'exit', exitCode: 0 });
    await ch.closed;
    const out = readLog(c.logPath).map((l) => l.log).join('');
    expect(out).toContain(`inet ${iface.address}/24 brd 10.201.${third}.255`);
    expect(out).toContain('02:42:0a:c8:00:05\n1400\nup\n');
    expect(out).toContain(`default via ${iface.gateway} dev eth0`);
  });

  it('a missing bridge fails the start at its step, before anything runs', async () => {
    const c = container(['true'], (s) => { s.interface = { ...iface, bridge: `nob${tag}` }; });
    // The veth is made after created, while berthd moves init into its cgroups: go gets the failure.
    const { created, outcome, exit } = await run(c.dir);
    expect(created).toMatchObject({ type: 'created' });
    expect(outcome).toMatchObject({ type: 'failed', step: `create veth ${hostName}`, code: 'ENODEV' });
    expect(exit).toBeNull();
    expect(fs.existsSync(path.join(c.dir, 'exit'))).toBe(false);
    expect(ip('link', 'show', 'dev', hostName).status).not.toBe(0);
  });

  it.each([
    [{ netns: 'host' }, 'interface: only with a new net namespace'],
    [{ interface: { ...iface, mac: '02:42:0a' } }, 'interface.mac'],
    [{ interface: { ...iface, address: '10.0.0.300' } }, 'interface.address'],
    [{ interface: { ...iface, prefixLen: 31 } }, 'interface.prefixLen'],
    [{ interface: { ...iface, hostName: 'a/b' } }, 'interface.hostName'],
    [{ interface: { ...iface, mtu: 10 } }, 'interface.mtu'],
  ])('a bad interface %# is read spec EINVAL naming the field', async (patch, field) => {
    const c = container(['true'], (s) => { Object.assign(s, { interface: iface }, patch); });
    const ch = startMonitor(c.dir);
    const msg = await ch.next();
    expect(msg).toMatchObject({ type: 'failed', step: 'read spec', code: 'EINVAL' });
    expect(String(msg!.message)).toContain(field);
    await ch.closed;
  });
});
