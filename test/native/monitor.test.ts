// berth-monitor end to end, as root: a busybox rootfs, the fd 3 handshake, the json-file log,
// exit codes and signals, the control socket, and that nothing leaks to the host.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { canRunContainers, connectControl, makeContainer, readLog, run, startMonitor } from './monitor-harness';

const mountinfo = () => fs.readFileSync('/proc/self/mountinfo', 'utf8');

describe.skipIf(!canRunContainers())('berth-monitor', () => {
  let cleanup: Array<() => void> = [];
  let mountsBefore = '';
  beforeEach(() => { mountsBefore = mountinfo(); });
  afterEach(() => {
    for (const c of cleanup.splice(0)) c();
    expect(mountinfo()).toBe(mountsBefore);
  });
  const container = (args: string[], edit?: (s: Record<string, unknown>) => void) => {
    const c = makeContainer(args, edit);
    cleanup.push(c.remove);
    return c;
  };

  it('runs echo and writes docker json-file lines, exit file and exit message', async () => {
    const c = container(['echo', 'hello']);
    const { created, outcome, exit } = await run(c.dir);
    expect(created).toMatchObject({ type: 'created' });
    expect(created!.pid).toBeGreaterThan(1);
    expect(created!.monitorPid).toBeGreaterThan(1);
    expect(outcome).toEqual({ type: 'started' });
    expect(exit).toEqual({ type: 'exit', exitCode: 0, signal: 0 });
    const lines = readLog(c.logPath);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ log: 'hello\n', stream: 'stdout' });
    expect(lines[0].time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    expect(Object.keys(lines[0])).toEqual(['log', 'stream', 'time', 'seq']);
    expect(lines[0].seq).toBe(1);
    const exitFile = JSON.parse(fs.readFileSync(path.join(c.dir, 'exit'), 'utf8'));
    expect(exitFile).toMatchObject({ exitCode: 0, signal: 0 });
    expect(exitFile.finishedAt).toMatch(/\.\d{9}Z$/);
    expect(fs.existsSync(path.join(c.dir, 'monitor.sock'))).toBe(false);
    expect(fs.existsSync(path.join(c.dir, 'exit.tmp'))).toBe(false);
    expect(fs.statSync(c.logPath).mode & 0o777).toBe(0o640);
  });

  it('reports the exit code, stderr, hostname, pid 1 and the fds the program sees', async () => {
    const script = 'echo out; echo err >&2; hostname; echo pid=$$; ls /proc/self/fd | tr "\\n" " "; echo; exit 3';
    const c = container(['sh', '-c', script]);
    const { exit } = await run(c.dir);
    expect(exit).toEqual({ type: 'exit', exitCode: 3, signal: 0 });
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

  it('a shell killed by SIGKILL below pid 1 exits 137; the monitor reports it as the exit code', async () => {
    // sh as pid 1 cannot SIGKILL itself (pid namespace init is protected), so the shell that
    // kills itself is a child; pid 1 then exits with that status.
    const c = container(['sh', '-c', 'sh -c "kill -9 \\$\\$"; exit $?']);
    const { exit } = await run(c.dir);
    expect(exit).toEqual({ type: 'exit', exitCode: 137, signal: 0 });
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
    expect(await ch.next()).toEqual({ type: 'started' });
    // Daemonized: named for ps, not our child, and the socket is private to root.
    const monitorPid = created!.monitorPid as number;
    expect(fs.readFileSync(`/proc/${monitorPid}/comm`, 'utf8')).toBe('berth-monitor\n');
    expect(fs.readFileSync(`/proc/${monitorPid}/status`, 'utf8')).not.toMatch(new RegExp(`^PPid:\\s+${process.pid}$`, 'm'));
    expect(fs.readFileSync(`/proc/${created!.pid}/cmdline`, 'utf8')).toBe('sleep\0' + '100\0');
    expect(fs.statSync(path.join(c.dir, 'monitor.sock')).mode & 0o777).toBe(0o600);
    const ctl = await connectControl(c.dir);
    cleanup.push(ctl.close);
    ctl.lines.send('kill 9');
    expect(await ctl.lines.next()).toEqual({ type: 'ok' });
    expect(await ctl.lines.next()).toEqual({ type: 'exit', exitCode: 137, signal: 9 });
    expect(await ch.next()).toEqual({ type: 'exit', exitCode: 137, signal: 9 });
    await ch.closed;
  });

  it('kill 15 through monitor.sock: ignored by a bare pid 1, ends a shell that traps it (143)', async () => {
    const c = container(['sh', '-c', 'trap "exit 143" TERM; echo ready; while :; do sleep 0.1; done']);
    const ch = startMonitor(c.dir);
    await ch.next();
    ch.send('go');
    expect(await ch.next()).toEqual({ type: 'started' });
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
    expect(await ch.next()).toEqual({ type: 'exit', exitCode: 143, signal: 0 });
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
    expect(await ch.next()).toEqual({ type: 'exit', exitCode: 137, signal: 9 });
    await ch.closed;
  });
});
