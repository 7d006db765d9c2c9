// Commands that change a container's state or settings: stop, kill, restart, pause, unpause, rename, update,
// and `container prune`.
import readline from 'node:readline';
import { parseFlags, UsageError } from './args';
import { call } from './client';
import { decimalSize } from './format';
import type { Command } from './main';
import { perContainer } from './per-container';
import { parseInteger, parseResources, parseRestartPolicy, RESOURCE_FLAGS } from './resources';
import type { PruneContainersResponse, UpdateContainerRequest, UpdateContainerResponse } from '../gen/berth/v1/containers';

/** -t / --time (docker's older name) / --timeout: seconds before KILL; undefined leaves it to the container. */
const TIMEOUT_FLAGS = { time: { short: 't', kind: 'string' as const }, timeout: { kind: 'string' as const } };

function timeoutSeconds(flags: Record<string, unknown>): number | undefined {
  const name = flags.timeout !== undefined ? 'timeout' : 'time';
  const text = flags[name] as string | undefined;
  if (text === undefined) return undefined;
  const seconds = parseInteger(text, name);
  if (seconds < 0 || seconds > 2 ** 31 - 1) throw new UsageError(`invalid argument ${JSON.stringify(text)} for --${name}: expected seconds, 0 or more`);
  return seconds;
}

const stop: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, TIMEOUT_FLAGS, { interspersed: true });
  if (!positionals.length) throw new UsageError('berth stop [-t SECONDS] CONTAINER...');
  const seconds = timeoutSeconds(flags);
  return perContainer(positionals, async (id) => {
    await call(clients.containers, 'stop', { containerId: id, timeoutSeconds: seconds });
  });
};

const restart: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, TIMEOUT_FLAGS, { interspersed: true });
  if (!positionals.length) throw new UsageError('berth restart [-t SECONDS] CONTAINER...');
  const seconds = timeoutSeconds(flags);
  return perContainer(positionals, async (id) => {
    await call(clients.containers, 'restart', { containerId: id, timeoutSeconds: seconds });
  });
};

/** The signal goes to the daemon as typed ("KILL", "SIGHUP", "9"): it knows the names, and KILL is its default. */
const kill: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { signal: { short: 's', kind: 'string' } }, { interspersed: true });
  if (!positionals.length) throw new UsageError('berth kill [-s SIGNAL] CONTAINER...');
  const signal = (flags.signal as string | undefined) ?? 'KILL';
  return perContainer(positionals, async (id) => {
    await call(clients.containers, 'kill', { containerId: id, signal });
  });
};

const pause: Command = async (argv, clients) => {
  const { positionals } = parseFlags(argv, {}, { interspersed: true });
  if (!positionals.length) throw new UsageError('berth pause CONTAINER...');
  return perContainer(positionals, async (id) => {
    await call(clients.containers, 'pause', { containerId: id });
  });
};

const unpause: Command = async (argv, clients) => {
  const { positionals } = parseFlags(argv, {}, { interspersed: true });
  if (!positionals.length) throw new UsageError('berth unpause CONTAINER...');
  return perContainer(positionals, async (id) => {
    await call(clients.containers, 'unpause', { containerId: id });
  });
};

const rename: Command = async (argv, clients) => {
  const { positionals } = parseFlags(argv, {}, { interspersed: true });
  if (positionals.length !== 2) throw new UsageError('berth rename CONTAINER NEW_NAME');
  await call(clients.containers, 'rename', { containerId: positionals[0], newName: positionals[1] });
  return 0;
};

/** Only the flags given change; the same change goes to each container, as docker update does. */
const update: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, RESOURCE_FLAGS, { interspersed: true });
  if (!positionals.length) throw new UsageError('berth update [OPTIONS] CONTAINER...');
  const resources = parseResources(flags);
  const restartPolicy = flags.restart === undefined ? undefined : parseRestartPolicy(flags.restart as string);
  if (!Object.keys(resources).length && !restartPolicy) throw new UsageError('you must provide one or more flags when using this command');
  return perContainer(positionals, async (id) => {
    const req: UpdateContainerRequest = { containerId: id, resources, restartPolicy };
    const res = await call<typeof clients.containers, UpdateContainerRequest, UpdateContainerResponse>(clients.containers, 'update', req);
    for (const w of res.warnings) process.stderr.write(`WARNING: ${w}\n`);
  });
};

/** One line from stdin; an empty answer when stdin ends first (no terminal, nothing piped in). */
function readLine(): Promise<string> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin });
    rl.once('line', (line) => { resolve(line); rl.close(); });
    rl.once('close', () => resolve(''));
  });
}

export const containerPrune: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { force: { short: 'f', kind: 'bool' } }, { interspersed: true });
  if (positionals.length) throw new UsageError('berth container prune [-f]');
  if (!flags.force) {
    process.stdout.write('WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ');
    const answer = (await readLine()).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') return 0;
  }
  const res = await call<typeof clients.containers, unknown, PruneContainersResponse>(clients.containers, 'prune', {});
  if (res.containersDeleted.length) process.stdout.write(`Deleted Containers:\n${res.containersDeleted.map((id) => `${id}\n`).join('')}\n`);
  process.stdout.write(`Total reclaimed space: ${decimalSize(res.spaceReclaimed, 4)}\n`);
  return 0;
};

export const LIFECYCLE_COMMANDS: Record<string, Command> = { stop, restart, kill, pause, unpause, rename, update };
