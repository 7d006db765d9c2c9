import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from './args';
import type { Clients } from './client';
import { CONTAINER_COMMANDS } from './containers';
import { containerPrune, LIFECYCLE_COMMANDS } from './lifecycle';

type Reply = object | Error;

/** Clients whose unary calls are recorded and answered by replies[method] (an empty message when absent). */
function fakeClients(replies: Record<string, (req: { containerId?: string }) => Reply> = {}) {
  const requests: [string, unknown][] = [];
  const containers = new Proxy({}, {
    get: (_target, method: string) => (req: { containerId?: string }, cb: (err: Error | null, res?: object) => void) => {
      requests.push([method, req]);
      const reply = replies[method]?.(req) ?? {};
      if (reply instanceof Error) cb(reply); else cb(null, reply);
    },
  });
  return { clients: { containers, close: () => undefined } as unknown as Clients, requests };
}

function notFound(id: string): Error {
  return Object.assign(new Error(`5 NOT_FOUND: container ${id}: not found`), { code: 5, details: `container ${id}: not found` });
}

describe('lifecycle commands', () => {
  let stdout: string;
  let stderr: string;

  beforeEach(() => {
    stdout = '';
    stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => { stdout += String(chunk); return true; });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => { stderr += String(chunk); return true; });
  });

  afterEach(() => { vi.restoreAllMocks(); });

  it('stop sends the timeout only when -t is given and prints each name', async () => {
    const { clients, requests } = fakeClients();
    expect(await LIFECYCLE_COMMANDS.stop(['-t', '1', 'web', 'db'], clients)).toBe(0);
    expect(await LIFECYCLE_COMMANDS.stop(['web'], clients)).toBe(0);
    expect(requests).toEqual([
      ['stop', { containerId: 'web', timeoutSeconds: 1 }], ['stop', { containerId: 'db', timeoutSeconds: 1 }],
      ['stop', { containerId: 'web', timeoutSeconds: undefined }],
    ]);
    expect(stdout).toBe('web\ndb\nweb\n');
  });

  it('goes on past a container that fails, and exits 1', async () => {
    const { clients, requests } = fakeClients({ pause: (req) => (req.containerId === 'b' ? notFound('b') : {}) });
    expect(await LIFECYCLE_COMMANDS.pause(['a', 'b', 'c'], clients)).toBe(1);
    expect(requests.map(([, r]) => r)).toEqual([{ containerId: 'a' }, { containerId: 'b' }, { containerId: 'c' }]);
    expect(stdout).toBe('a\nc\n');
    expect(stderr).toBe('berth: container b: not found\n');
  });

  it('kill sends KILL unless -s names another signal', async () => {
    const { clients, requests } = fakeClients();
    await LIFECYCLE_COMMANDS.kill(['web'], clients);
    await LIFECYCLE_COMMANDS.kill(['-s', 'HUP', 'web'], clients);
    expect(requests).toEqual([['kill', { containerId: 'web', signal: 'KILL' }], ['kill', { containerId: 'web', signal: 'HUP' }]]);
  });

  it('restart and rename send what was typed', async () => {
    const { clients, requests } = fakeClients();
    await LIFECYCLE_COMMANDS.restart(['--time=3', 'web'], clients);
    await LIFECYCLE_COMMANDS.rename(['web', 'api'], clients);
    expect(requests).toEqual([['restart', { containerId: 'web', timeoutSeconds: 3 }], ['rename', { containerId: 'web', newName: 'api' }]]);
    expect(stdout).toBe('web\n');
  });

  it('update sends only the fields given, and prints warnings', async () => {
    const { clients, requests } = fakeClients({ update: () => ({ warnings: ['swap limit ignored'] }) });
    expect(await LIFECYCLE_COMMANDS.update(['--memory', '64m', 'web'], clients)).toBe(0);
    expect(await LIFECYCLE_COMMANDS.update(['--restart', 'always', '--cpus', '0.5', 'web'], clients)).toBe(0);
    expect(requests).toEqual([
      ['update', { containerId: 'web', resources: { memory: 64 * 2 ** 20 }, restartPolicy: undefined }],
      ['update', { containerId: 'web', resources: { nanoCpus: 5e8 }, restartPolicy: { name: 'always', maximumRetryCount: 0 } }],
    ]);
    expect(stdout).toBe('web\nweb\n');
    expect(stderr).toBe('WARNING: swap limit ignored\nWARNING: swap limit ignored\n');
  });

  it.each([
    [['update', 'web']], [['update', '--memory', 'lots', 'web']], [['stop', '-t', 'soon', 'web']], [['stop', '-t', '-1', 'web']],
    [['stop']], [['rename', 'web']],
  ])('%j is a usage error before any call', async ([name, ...argv]) => {
    const { clients, requests } = fakeClients();
    await expect(LIFECYCLE_COMMANDS[name](argv, clients)).rejects.toThrow(UsageError);
    expect(requests).toEqual([]);
  });

  it('container prune -f lists what went and the space, as docker', async () => {
    const { clients } = fakeClients({ prune: () => ({ containersDeleted: ['aaa', 'bbb'], spaceReclaimed: 12_345_678 }) });
    expect(await containerPrune(['-f'], clients)).toBe(0);
    expect(stdout).toBe('Deleted Containers:\naaa\nbbb\n\nTotal reclaimed space: 12.35MB\n');
  });

  it('container prune -f with nothing to remove prints only the total', async () => {
    const { clients } = fakeClients({ prune: () => ({ containersDeleted: [], spaceReclaimed: 0 }) });
    await containerPrune(['--force'], clients);
    expect(stdout).toBe('Total reclaimed space: 0B\n');
  });

  it('wait passes the condition and prints exit codes', async () => {
    const { clients, requests } = fakeClients({ wait: () => ({ exitCode: 137, signal: 9 }) });
    expect(await CONTAINER_COMMANDS.wait(['--condition', 'next-exit', 'web'], clients)).toBe(0);
    expect(await CONTAINER_COMMANDS.wait(['web'], clients)).toBe(0);
    expect(requests).toEqual([['wait', { containerId: 'web', condition: 'next-exit' }], ['wait', { containerId: 'web', condition: 'not-running' }]]);
    expect(stdout).toBe('137\n137\n');
    await expect(CONTAINER_COMMANDS.wait(['--condition', 'stopped', 'web'], clients)).rejects.toThrow(UsageError);
  });
});
