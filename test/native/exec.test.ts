// berth-monitor exec, as root: a process in the container's namespaces with its own stdio
// frames (seq 0, never in the log), its exit frame, failures by step, and a sealed monitor.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { FRAME, FrameClient } from './frames-client';
import { canRunContainers, JsonLines, makeContainer, MONITOR, readLog, startContainer, startMonitor } from './monitor-harness';

const mountinfo = () => fs.readFileSync('/proc/self/mountinfo', 'utf8');

describe.skipIf(!canRunContainers())('berth-monitor exec', () => {
  let c: ReturnType<typeof makeContainer>;
  let ch: JsonLines;
  let initPid = 0;
  let mountsBefore = '';
  const clients: FrameClient[] = [];

  beforeAll(async () => {
    mountsBefore = mountinfo();
    c = makeContainer(['sh', '-c', 'echo init-out; sleep 100; :']);
    fs.writeFileSync(path.join(c.rootfs, 'marker'), 'in-the-rootfs\n');
    const started = await startContainer(c.dir);
    ch = started.ch;
    initPid = started.created.pid as number;
  });
  afterAll(async () => {
    ch.send('kill 9');
    expect(await ch.next()).toEqual({ type: 'ok' });
    expect(await ch.next()).toMatchObject({ type: 'exit', signal: 9 });
    await ch.closed;
    // Only init's own output is in the log: no exec ever wrote there.
    expect(readLog(c.logPath).map((l) => l.log)).toEqual(['init-out\n']);
    c.remove();
    expect(mountinfo()).toBe(mountsBefore);
  });
  beforeEach(() => { clients.length = 0; });
  afterEach(() => { for (const x of clients) x.close(); });

  const exec = async (spec: Record<string, unknown>) => {
    const x = await FrameClient.connect(c.dir);
    clients.push(x);
    const full = { env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] }, tty: false, stdin: false, ...spec };
    const reply = await x.command(`exec ${JSON.stringify(full)}`);
    return { x, reply };
  };
  const run = async (spec: Record<string, unknown>) => {
    const { x, reply } = await exec(spec);
    expect(reply).toMatchObject({ type: 'exec-started' });
    const exit = await x.exited();
    return { x, reply, exit, out: x.output(FRAME.stdout).toString(), err: x.output(FRAME.stderr).toString() };
  };

  it('runs id -u as the given user; frames carry seq 0 and end with the exit frame', async () => {
    const r = await run({ args: ['id', '-u'], user: { uid: 1000, gid: 1000, additionalGids: [] } });
    expect(r.out).toBe('1000\n');
    expect(r.exit).toEqual({ exitCode: 0, signal: 0 });
    expect(r.reply.pid).toBeGreaterThan(1);
    for (const f of r.x.frames.filter((f) => f.type === FRAME.stdout)) expect(f.seq).toBe(0);
    expect(r.x.frames.at(-1)!.type).toBe(FRAME.exit);
  });

  it('passes env and cwd, separates stderr, reports exit code 3', async () => {
    const r = await run({ args: ['sh', '-c', 'echo $FOO; pwd; echo oops >&2; exit 3'], env: ['PATH=/bin', 'FOO=bar'], cwd: '/bin' });
    expect(r.out).toBe('bar\n/bin\n');
    expect(r.err).toBe('oops\n');
    expect(r.exit).toEqual({ exitCode: 3, signal: 0 });
  });

  it('with tty: its own pty at consoleSize', async () => {
    const r = await run({ args: ['stty', 'size'], tty: true, consoleSize: { rows: 33, cols: 77 } });
    expect(r.out).toBe('33 77\r\n');
    expect(r.exit).toEqual({ exitCode: 0, signal: 0 });
  });

  it('a missing binary fails at step exec with ENOENT', async () => {
    const { x, reply } = await exec({ args: ['nonexistent-binary'] });
    expect(reply).toEqual({ type: 'failed', step: 'exec', errno: 2, code: 'ENOENT', message: 'exec: No such file or directory' });
    // Still JSON mode afterwards.
    expect(await x.command('go')).toEqual({ type: 'ok' });
  });

  it('a missing cwd fails at step chdir', async () => {
    const { reply } = await exec({ args: ['true'], cwd: '/no/such/dir' });
    expect(reply).toMatchObject({ type: 'failed', step: 'chdir', code: 'ENOENT' });
  });

  it("sees the container's hostname, pid namespace, root and only fds 0-2", async () => {
    const script = 'hostname; echo pid=$$; cat /proc/1/cmdline | tr "\\0" " "; echo; cat /marker; readlink /proc/self/cwd; ls /proc/self/fd | tr "\\n" " "';
    const r = await run({ args: ['sh', '-c', script], cwd: '/bin' });
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('berthtest');
    expect(Number(lines[1].slice(4))).toBeLessThan(100);
    expect(lines[2]).toBe('sh -c echo init-out; sleep 100; : ');
    expect(lines[3]).toBe('in-the-rootfs');
    expect(lines[4]).toBe('/bin');
    // 3 is the directory ls itself opens.
    expect(lines[5]).toBe('0 1 2 3 ');
  });

  it('stdin through frames, close-stdin ends cat; the process is the monitor child in the pid ns', async () => {
    const { x, reply } = await exec({ args: ['cat'], stdin: true });
    expect(reply).toMatchObject({ type: 'exec-started' });
    const status = fs.readFileSync(`/proc/${reply.pid}/status`, 'utf8');
    expect(status).toMatch(/^NSpid:\s+\d+\s+\d+$/m);
    const nsPid = (p: number) => fs.readlinkSync(`/proc/${p}/ns/pid`);
    expect(nsPid(reply.pid as number)).toBe(nsPid(initPid));
    expect(fs.readlinkSync(`/proc/${reply.pid}/ns/mnt`)).toBe(fs.readlinkSync(`/proc/${initPid}/ns/mnt`));
    x.stdin('abc\n');
    await x.until(() => x.output().toString() === 'abc\n');
    x.sendFrame(FRAME.closeStdin);
    expect(await x.exited()).toEqual({ exitCode: 0, signal: 0 });
  });

  it('signal and resize frames reach the exec; a stdin frame without stdin gets an error reply', async () => {
    const { x, reply } = await exec({ args: ['sh', '-c', 'trap "stty size; exit 5" USR1; while :; do sleep 0.05; done'], tty: true });
    expect(reply).toMatchObject({ type: 'exec-started' });
    x.stdin('ignored');
    await x.until(() => x.replies().length > 0);
    expect(x.replies()[0]).toMatchObject({ type: 'error' });
    x.resize(50, 60);
    await new Promise((r) => setTimeout(r, 200));
    x.signal(10);
    expect(await x.exited()).toEqual({ exitCode: 5, signal: 0 });
    expect(x.output().toString()).toContain('50 60');
  });

  it('a signal frame 9 kills the exec: exit frame with signal 9', async () => {
    const { x } = await exec({ args: ['sleep', '100'] });
    x.signal(9);
    expect(await x.exited()).toEqual({ exitCode: 137, signal: 9 });
  });
});

describe.skipIf(!canRunContainers())('berth-monitor from a sealed memfd', () => {
  it('runs from sealedExecutable: /proc/<monitor>/exe is the memfd', async () => {
    const addon = createRequire(__filename)(path.resolve(__dirname, '../../build/Release/berth.node'));
    const fd = addon.sealedExecutable(MONITOR) as number;
    const c = makeContainer(['sleep', '100']);
    try {
      const ch = startMonitor(c.dir, `/proc/${process.pid}/fd/${fd}`);
      const created = await ch.next();
      expect(created).toMatchObject({ type: 'created' });
      ch.send('go');
      expect(await ch.next()).toMatchObject({ type: 'started' });
      expect(fs.readlinkSync(`/proc/${created!.monitorPid}/exe`)).toBe('/memfd:berth-monitor (deleted)');
      ch.send('kill 9');
      expect(await ch.next()).toEqual({ type: 'ok' });
      expect(await ch.next()).toMatchObject({ type: 'exit', signal: 9 });
      await ch.closed;
    } finally {
      fs.closeSync(fd);
      c.remove();
    }
  });
});
