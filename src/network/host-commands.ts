// The host tools the network is set up with (iproute2 for the bridge, iptables), run without a shell.
// berthd starts them with the addon's posix_spawn (useSpawner): Node's child_process forks the whole
// daemon for each, about 10 ms of its event loop. A start runs none (the monitor makes the veth), a
// published port one iptables.
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import net from 'node:net';
import { EngineError } from '../errors';
import type { Native } from '../native';

export type CommandSpawner = Pick<Native, 'spawnPiped' | 'reapChild'>;

const TIMEOUT_MS = 30_000;
let spawner: CommandSpawner | undefined;

/** From now on commands start through the addon; without it (unit tests), through child_process. */
export function useSpawner(s: CommandSpawner | undefined): void {
  spawner = s;
}

/** Runs a tool; rejects with its stderr in the message (Internal, or Unavailable when it is missing). */
export function run(cmd: string, args: string[]): Promise<string> {
  const failed = (code: string | undefined, stderr: string, message: string) => {
    const missing = code === 'ENOENT';
    const why = missing ? `${cmd} is not installed` : (stderr || message).trim();
    return new EngineError(missing ? 'Unavailable' : 'Internal', `${cmd} ${args.join(' ')}: ${why}`);
  };
  if (spawner) return runSpawned(spawner, cmd, args, failed);
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: TIMEOUT_MS }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      reject(failed((err as NodeJS.ErrnoException).code, stderr, err.message));
    });
  });
}

async function runSpawned(s: CommandSpawner, cmd: string, args: string[],
  failed: (code: string | undefined, stderr: string, message: string) => EngineError): Promise<string> {
  let child: { pid: number; stdout: number; stderr: number };
  try {
    child = s.spawnPiped(cmd, [cmd, ...args]);
  } catch (err) {
    throw failed((err as NodeJS.ErrnoException).code, '', (err as Error).message);
  }
  const timer = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone already */ } }, TIMEOUT_MS);
  try {
    const [stdout, stderr] = await Promise.all([readAll(child.stdout), readAll(child.stderr)]);
    const exit = await reaped(s, child.pid);
    if (exit.exitCode === 0) return stdout;
    throw failed(undefined, stderr, exit.signal ? `killed by signal ${exit.signal}` : `exited with ${exit.exitCode}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Everything written to a pipe until its last writer is gone. */
function readAll(fd: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = new net.Socket({ fd, readable: true, writable: false });
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/** The child's exit: its pipes are at EOF already, so this is at once or within a few ms. */
async function reaped(s: CommandSpawner, pid: number): Promise<{ exitCode: number; signal: number }> {
  for (let delay = 0; ; delay = Math.min(delay * 2 || 1, 100)) {
    const exit = s.reapChild(pid);
    if (exit) return exit;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** As run(), but a failure is ignored: for cleanup of what may already be gone. */
export async function tryRun(cmd: string, args: string[]): Promise<boolean> {
  return run(cmd, args).then(() => true, () => false);
}

export const ip = (...args: string[]) => run('ip', args);
export const iptables = (...args: string[]) => run('iptables', ['-w', ...args]);

export async function sysctl(key: string, value: string): Promise<void> {
  const file = `/proc/sys/${key.replace(/\./g, '/')}`;
  if ((await fsp.readFile(file, 'utf8').catch(() => '')).trim() === value) return;
  await fsp.writeFile(file, value);
}
