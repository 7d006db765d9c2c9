// The berth CLI in a real terminal: tmux runs it, send-keys types, capture-pane reads the screen.
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/client';
import type { ListContainersResponse } from '../../src/gen/berth/v1/containers';
import { cli, destroyDaemon, importBusybox, startDaemon, type TestDaemon } from '../helpers/daemon';
import { BERTH_CLI, IS_ROOT } from '../helpers/paths';

const HAVE_TMUX = spawnSync('tmux', ['-V']).status === 0;

describe.skipIf(!IS_ROOT || !HAVE_TMUX)('berth in a terminal', () => {
  let d: TestDaemon;
  const session = `berth-test-${process.pid}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', session, ...args], { encoding: 'utf8' });
  const screen = () => tmux('capture-pane', '-p', '-t', session);

  async function waitScreen(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = screen();
      if (pattern.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`screen never matched ${pattern}:\n${text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  function startTerminal(args: string[]): void {
    const command = [process.execPath, BERTH_CLI, '--host', d.host, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    // remain-on-exit keeps the pane (and what it shows) after the CLI exits, so its exit status can be read.
    tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', `${command}; echo "[exit $?]"; sleep 60`);
  }

  beforeAll(async () => {
    d = await startDaemon();
    await importBusybox(d);
  });

  afterEach(() => {
    spawnSync('tmux', ['-L', session, 'kill-session', '-t', session]);
  });

  afterAll(async () => {
    spawnSync('tmux', ['-L', session, 'kill-server']);
    await destroyDaemon(d);
  });

  it('run -it is an interactive shell: it answers a prompt, knows the window size, and exits with the code', async () => {
    startTerminal(['run', '-it', '--rm', 'busybox', 'sh']);
    await waitScreen(/# ?$/m);
    tmux('send-keys', '-t', session, 'stty size; printf "name? "; read n; echo "hello $n"', 'Enter');
    await waitScreen(/name\? ?$/m);
    tmux('send-keys', '-t', session, 'bob', 'Enter');
    const text = await waitScreen(/hello bob/);
    expect(text).toMatch(/^30 100$/m);
    tmux('send-keys', '-t', session, 'exit 7', 'Enter');
    await waitScreen(/\[exit 7\]/);
    tmux('kill-session', '-t', session);
  });

  it('ctrl-p ctrl-q detaches and leaves the container running', async () => {
    startTerminal(['run', '-it', '--name', 'detachable', 'busybox', 'sh']);
    await waitScreen(/# ?$/m);
    tmux('send-keys', '-t', session, 'C-p', 'C-q');
    await waitScreen(/\[exit 0\]/);
    const list = await call<typeof d.clients.containers, unknown, ListContainersResponse>(d.clients.containers, 'list', { all: false });
    expect(list.containers.map((c) => c.name)).toContain('detachable');
    tmux('kill-session', '-t', session);
    expect(cli(d, ['rm', '-f', 'detachable']).status).toBe(0);
  });

  it('exec -it gets a terminal of the window size in a running container', async () => {
    expect(cli(d, ['run', '-d', '--name', 'host-for-exec', 'busybox', 'sleep', '300']).status).toBe(0);
    startTerminal(['exec', '-it', 'host-for-exec', 'sh']);
    await waitScreen(/# ?$/m);
    tmux('send-keys', '-t', session, 'stty size; exit 4', 'Enter');
    const text = await waitScreen(/\[exit 4\]/);
    expect(text).toMatch(/^30 100$/m);
    tmux('kill-session', '-t', session);
    expect(cli(d, ['rm', '-f', 'host-for-exec']).status).toBe(0);
  });

  it('echo hi | run -i cat passes stdin and ends at its end', () => {
    const r = cli(d, ['run', '-i', '--rm', 'busybox', 'cat'], 'hi through a pipe\n');
    expect(r).toMatchObject({ status: 0, stdout: 'hi through a pipe\n' });
  });
});
