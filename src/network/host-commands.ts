// The host tools the network is wired with (iproute2, iptables, nsenter), run without a shell.
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import { EngineError } from '../errors';

/** Runs a tool; rejects with its stderr in the message (Internal, or Unavailable when it is missing). */
export function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      const why = missing ? `${cmd} is not installed` : (stderr || err.message).trim();
      reject(new EngineError(missing ? 'Unavailable' : 'Internal', `${cmd} ${args.join(' ')}: ${why}`));
    });
  });
}

/** As run(), but a failure is ignored: for cleanup of what may already be gone. */
export async function tryRun(cmd: string, args: string[]): Promise<boolean> {
  return run(cmd, args).then(() => true, () => false);
}

export const ip = (...args: string[]) => run('ip', args);
export const iptables = (...args: string[]) => run('iptables', ['-w', ...args]);

/** `ip` inside the net namespace of a process (init's is not a named netns). */
export function ipIn(pid: number, ...args: string[]): Promise<string> {
  return run('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', ...args]);
}

export async function sysctl(key: string, value: string): Promise<void> {
  const file = `/proc/sys/${key.replace(/\./g, '/')}`;
  if ((await fsp.readFile(file, 'utf8').catch(() => '')).trim() === value) return;
  await fsp.writeFile(file, value);
}
