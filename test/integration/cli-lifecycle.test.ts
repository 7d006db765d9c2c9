// The berth CLI's lifecycle commands against a real daemon, as a user types them: stop, kill, restart, pause,
// rename, update, wait --condition, top, stats, events, run --rm -d, container prune.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/client';
import type { ListContainersResponse } from '../../src/gen/berth/v1/containers';
import { cli, destroyDaemon, importBusybox, startDaemon, type TestDaemon } from '../helpers/daemon';
import { BERTH_CLI, IS_ROOT } from '../helpers/paths';

const MIB = 2 ** 20;
/** One docker-style event line: time with nine digits, type, action, full id, attributes, seq. */
const EVENT_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z container (\w+) ([0-9a-f]{64}) \((.*)\) seq=(\d+)$/;

interface Running {
  child: ChildProcess;
  done: Promise<{ status: number; stdout: string; stderr: string }>;
}

describe.skipIf(!IS_ROOT)('berth lifecycle commands', () => {
  let d: TestDaemon;
  const children = new Set<ChildProcess>();

  /** The CLI in the background, for commands that block (wait, stats streaming). */
  function cliAsync(args: string[]): Running {
    const child = spawn(process.execPath, [BERTH_CLI, '--host', d.host, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
    const done = once(child, 'close').then(([code]) => ({ status: (code as number | null) ?? -1, stdout, stderr }));
    return { child, done };
  }

  function runDetached(args: string[]): string {
    const r = cli(d, ['run', '-d', ...args]);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    return r.stdout.trim();
  }

  /** docker inspect's JSON for one object, read loosely as the tests only match parts of it. */
  function inspect(ref: string): any {
    const r = cli(d, ['inspect', ref]);
    expect(r.status).toBe(0);
    return JSON.parse(r.stdout)[0];
  }

  function ids(all = true): string[] {
    return cli(d, ['ps', ...(all ? ['-a'] : []), '-q']).stdout.split('\n').filter(Boolean);
  }

  /** Unix seconds, as --until takes them. */
  function unixSeconds(ms: number): string {
    return (ms / 1000).toFixed(3);
  }

  beforeAll(async () => {
    d = await startDaemon();
    await importBusybox(d);
  });

  // Each test leaves no container and no CLI process behind; the daemon and its root go in afterAll.
  afterEach(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    children.clear();
    const list = await call<typeof d.clients.containers, unknown, ListContainersResponse>(d.clients.containers, 'list', { all: true });
    for (const c of list.containers) {
      // An --rm container may go on its own between the list and the remove.
      await call(d.clients.containers, 'remove', { containerId: c.id, force: true }).catch(() => undefined);
    }
  });

  afterAll(() => destroyDaemon(d));

  it('stop -t 1 waits a second for a sleep that ignores TERM as pid 1, then kills it', () => {
    runDetached(['--name', 'stopper', 'busybox', 'sleep', '1000']);
    const started = Date.now();
    expect(cli(d, ['stop', '-t', '1', 'stopper'])).toMatchObject({ status: 0, stdout: 'stopper\n', stderr: '' });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(5000);
    expect(inspect('stopper').State).toMatchObject({ Status: 'exited', Running: false, ExitCode: 137 });
    // As docker: stopping a stopped container is no error.
    expect(cli(d, ['stop', 'stopper'])).toMatchObject({ status: 0, stdout: 'stopper\n' });
  });

  it('kill -s KILL ends a container with 137, and a missing one is one line and exit 1', () => {
    runDetached(['--name', 'killme', 'busybox', 'sleep', '1000']);
    expect(cli(d, ['kill', '-s', 'KILL', 'killme'])).toMatchObject({ status: 0, stdout: 'killme\n', stderr: '' });
    expect(cli(d, ['wait', 'killme'])).toMatchObject({ status: 0, stdout: '137\n' });
    const missing = cli(d, ['kill', 'no-such-container']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^berth: [^\n]*no-such-container[^\n]*\n$/);
  });

  it('restart -t 0 starts the container again with a new pid', () => {
    runDetached(['--name', 'again', 'busybox', 'sleep', '1000']);
    const before = inspect('again').State;
    expect(cli(d, ['restart', '-t', '0', 'again'])).toMatchObject({ status: 0, stdout: 'again\n', stderr: '' });
    const after = inspect('again').State;
    expect(after).toMatchObject({ Status: 'running', Running: true });
    expect(after.Pid).not.toBe(before.Pid);
  });

  it('pause and unpause show in inspect and ps', () => {
    runDetached(['--name', 'pauser', 'busybox', 'sleep', '1000']);
    expect(cli(d, ['pause', 'pauser'])).toMatchObject({ status: 0, stdout: 'pauser\n', stderr: '' });
    expect(inspect('pauser').State).toMatchObject({ Status: 'paused', Paused: true });
    expect(cli(d, ['ps']).stdout).toMatch(/Up [^\n]*\(Paused\)\s+pauser\n/);
    expect(cli(d, ['unpause', 'pauser'])).toMatchObject({ status: 0, stdout: 'pauser\n', stderr: '' });
    expect(inspect('pauser').State).toMatchObject({ Status: 'running', Running: true, Paused: false });
  });

  it('rename gives the container its new name and drops the old one', () => {
    const id = cli(d, ['create', '--name', 'before', 'busybox', 'true']).stdout.trim();
    expect(cli(d, ['rename', 'before', 'after'])).toMatchObject({ status: 0, stdout: '', stderr: '' });
    expect(inspect('after')).toMatchObject({ Id: id, Name: '/after' });
    expect(cli(d, ['inspect', 'before']).status).toBe(1);
  });

  it('update changes the limits of a running container', () => {
    runDetached(['--name', 'limited', 'busybox', 'sleep', '1000']);
    expect(cli(d, ['update', '--memory', '64m', '--pids-limit', '50', 'limited'])).toMatchObject({ status: 0, stdout: 'limited\n' });
    expect(inspect('limited').HostConfig).toMatchObject({ Memory: 64 * MIB, PidsLimit: 50 });
    expect(cli(d, ['update', '--restart', 'on-failure:2', 'limited'])).toMatchObject({ status: 0, stdout: 'limited\n' });
    expect(inspect('limited').HostConfig.RestartPolicy).toEqual({ Name: 'on-failure', MaximumRetryCount: 2 });
    const bad = cli(d, ['update', '--memory', 'lots', 'limited']);
    expect(bad).toMatchObject({ status: 2, stdout: '' });
    expect(bad.stderr).toMatch(/^berth: invalid argument "lots" for --memory: [^\n]*\n$/);
  });

  it('run takes the resource, restart and stop flags, and refuses --restart with --rm', () => {
    runDetached([
      '--name', 'flags', '-m', '32m', '--cpus', '0.5', '--pids-limit', '20', '--restart', 'on-failure:3',
      '--stop-signal', 'SIGUSR1', '--stop-timeout', '2', 'busybox', 'sleep', '1000',
    ]);
    const c = inspect('flags');
    expect(c.HostConfig).toMatchObject({ Memory: 32 * MIB, PidsLimit: 20, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 }, AutoRemove: false });
    // Half a CPU, kept as nano CPUs (as docker) or as the quota for a period it sets.
    const { NanoCpus, CpuQuota, CpuPeriod } = c.HostConfig;
    expect(NanoCpus || (CpuQuota / (CpuPeriod || 100_000)) * 1e9).toBe(500_000_000);
    expect(c.Config).toMatchObject({ StopSignal: 'SIGUSR1', StopTimeout: 2 });
    expect(cli(d, ['run', '--rm', '--restart', 'always', 'busybox', 'true'])).toMatchObject({
      status: 2, stderr: 'berth: conflicting options: --restart and --rm\n',
    });
  });

  it('wait --condition next-exit waits for the next run of a stopped container', async () => {
    cli(d, ['create', '--name', 'twice', 'busybox', 'sh', '-c', 'sleep 1; exit 3']);
    cli(d, ['start', 'twice']);
    expect(cli(d, ['wait', 'twice'])).toMatchObject({ status: 0, stdout: '3\n' });
    const waiting = cliAsync(['wait', '--condition', 'next-exit', 'twice']);
    await sleep(500);
    expect(waiting.child.exitCode).toBeNull();
    expect(cli(d, ['start', 'twice']).status).toBe(0);
    expect(await waiting.done).toMatchObject({ status: 0, stdout: '3\n' });
    expect(cli(d, ['wait', '--condition', 'sometime', 'twice']).status).toBe(2);
  });

  it('run --rm -d leaves nothing once the container exits, and wait --condition removed sees it go', async () => {
    runDetached(['--rm', 'busybox', 'true']);
    const later = runDetached(['--rm', 'busybox', 'sleep', '1']);
    expect(inspect(later).HostConfig.AutoRemove).toBe(true);
    expect(cli(d, ['wait', '--condition', 'removed', later])).toMatchObject({ status: 0, stdout: '0\n' });
    for (let i = 0; i < 60 && ids().length; i++) await sleep(50);
    expect(ids()).toEqual([]);
  });

  it('top shows the sleep with its host pid and its pid inside', () => {
    runDetached(['--name', 'topper', 'busybox', 'sleep', '1000']);
    const pid = inspect('topper').State.Pid;
    const r = cli(d, ['top', 'topper']);
    expect(r.status).toBe(0);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^UID\s+PID\s+PPID\s+CPID\s+STIME\s+TIME\s+CMD$/);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(new RegExp(`^(root|0)\\s+${pid}\\s+-\\s+1\\s+\\S+\\s+00:00:00\\s+sleep 1000$`));
  });

  it('stats --no-stream prints one row for the container, named or not', () => {
    const id = runDetached(['--name', 'statsy', 'busybox', 'sleep', '1000']);
    const row = new RegExp(
      `^${id.slice(0, 12)}\\s+statsy\\s+\\d+\\.\\d\\d%\\s+[\\d.]+[KMG]?i?B / [\\d.]+[KMGT]?i?B\\s+\\d+\\.\\d\\d%\\s+[\\d.]+[kMG]?B / [\\d.]+[kMG]?B\\s+[\\d.]+[kMG]?B / [\\d.]+[kMG]?B\\s+1$`,
    );
    for (const args of [['stats', '--no-stream', 'statsy'], ['stats', '--no-stream']]) {
      const r = cli(d, args);
      expect(r).toMatchObject({ status: 0, stderr: '' });
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
      expect(lines[1]).toMatch(row);
    }
  });

  it('stats streams a table a second and ends when the container stops', async () => {
    runDetached(['--name', 'streamy', 'busybox', 'sleep', '1000']);
    const streaming = cliAsync(['stats', 'streamy']);
    await sleep(1800);
    expect(streaming.child.exitCode).toBeNull();
    cli(d, ['kill', 'streamy']);
    const r = await streaming.done;
    expect(r).toMatchObject({ status: 0, stderr: '' });
    // Not a terminal: each round is printed, no screen clearing.
    expect(r.stdout).not.toContain('\x1b[');
    expect(r.stdout.match(/^CONTAINER ID/gm)!.length).toBeGreaterThanOrEqual(2);
    expect(r.stdout).toMatch(/\s+streamy\s+/);
  });

  it('events replays create, start and die with seqs, filters, and resumes after a seq', () => {
    const id = cli(d, ['create', '--name', 'evt', 'busybox', 'true']).stdout.trim();
    cli(d, ['start', 'evt']);
    expect(cli(d, ['wait', 'evt']).stdout).toBe('0\n');

    const started = Date.now();
    const all = cli(d, ['events', '--since', 'seq:0', '--until', unixSeconds(Date.now() + 1000), '--filter', 'container=evt']);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(all).toMatchObject({ status: 0, stderr: '' });
    const events = all.stdout.trimEnd().split('\n').map((line) => {
      const m = EVENT_LINE.exec(line);
      expect(m, line).not.toBeNull();
      return { action: m![1], id: m![2], attributes: m![3], seq: Number(m![4]) };
    });
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['create', 'start', 'die']));
    const order = (action: string) => events.findIndex((e) => e.action === action);
    expect(order('create')).toBeLessThan(order('start'));
    expect(order('start')).toBeLessThan(order('die'));
    for (const e of events) {
      expect(e.id).toBe(id);
      expect(e.attributes).toContain('name=evt');
    }
    const seqs = events.map((e) => e.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);

    // Resume right after the create: the next line is the event after it, nothing before.
    const now = unixSeconds(Date.now());
    const resumed = cli(d, ['events', '--since', `seq:${events[0].seq}`, '--until', now, '-f', 'container=evt']).stdout.trimEnd().split('\n');
    expect(resumed.map((line) => Number(EVENT_LINE.exec(line)![4]))).toEqual(seqs.slice(1));

    const starts = cli(d, ['events', '--since', '1m', '--until', now, '-f', 'container=evt', '-f', 'event=start']).stdout.trimEnd().split('\n');
    expect(starts).toHaveLength(1);
    expect(EVENT_LINE.exec(starts[0])![1]).toBe('start');
  });

  it('container prune asks first, then removes every container that is not running', () => {
    cli(d, ['run', '--name', 'done', 'busybox', 'true']);
    cli(d, ['create', '--name', 'never', 'busybox', 'true']);
    const alive = runDetached(['--name', 'alive', 'busybox', 'sleep', '1000']);
    const stopped = [inspect('done').Id, inspect('never').Id].sort();

    expect(cli(d, ['container', 'prune'], 'n\n')).toMatchObject({
      status: 0, stdout: 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ',
    });
    expect(ids()).toHaveLength(3);

    const r = cli(d, ['container', 'prune', '-f']);
    expect(r.status).toBe(0);
    const m = /^Deleted Containers:\n((?:[0-9a-f]{64}\n)+)\nTotal reclaimed space: [\d.]+[kMGT]?B\n$/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(m![1].trimEnd().split('\n').sort()).toEqual(stopped);
    // `container ls` is ps.
    expect(cli(d, ['container', 'ls', '-a', '-q']).stdout).toBe(`${alive.slice(0, 12)}\n`);
  });
});
