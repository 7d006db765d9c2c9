// `berth volume create|ls|inspect|rm|prune`, as docker volume prints them.
import readline from 'node:readline';
import { parseFlags, UsageError } from './args';
import { call, type Clients } from './client';
import { decimalSize, table } from './format';
import { perContainer } from './per-container';
import type { ListVolumesResponse, PruneVolumesResponse, Volume } from '../gen/berth/v1/volumes';
import type { Command } from './main';

const rpc = <Res>(clients: Clients, method: keyof Clients['volumes'], req: unknown) => call<Clients['volumes'], unknown, Res>(clients.volumes, method, req);

function keyValues(items: string[], flag: string): Record<string, string> {
  return Object.fromEntries(items.map((item) => {
    const eq = item.indexOf('=');
    if (eq === 0) throw new UsageError(`--${flag} ${JSON.stringify(item)}: expected KEY[=VALUE]`);
    return eq < 0 ? [item, ''] : [item.slice(0, eq), item.slice(eq + 1)];
  }));
}

/** docker volume inspect's shape. */
export function volumeView(v: Volume): Record<string, unknown> {
  return {
    CreatedAt: v.createdAt?.toISOString() ?? '', Driver: v.driver, Labels: v.labels, Mountpoint: v.mountpoint,
    Name: v.name, Options: null, Scope: v.scope, Anonymous: v.anonymous, UsedBy: v.usedBy,
  };
}

const create: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { driver: { short: 'd', kind: 'string' }, label: { kind: 'list' }, name: { kind: 'string' } }, { interspersed: true });
  if (positionals.length > 1 || (positionals.length === 1 && flags.name)) throw new UsageError('berth volume create [-d local] [--label KEY=VALUE] [NAME]');
  const name = positionals[0] ?? (flags.name as string | undefined) ?? '';
  const v = await rpc<Volume>(clients, 'create', { name, driver: (flags.driver as string) ?? '', labels: keyValues(flags.label as string[], 'label') });
  process.stdout.write(`${v.name}\n`);
  return 0;
};

const ls: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { quiet: { short: 'q', kind: 'bool' }, filter: { short: 'f', kind: 'list' } }, { interspersed: true });
  if (positionals.length) throw new UsageError('berth volume ls [-q] [-f dangling=true|name=NAME|label=KEY[=VALUE]]');
  const res = await rpc<ListVolumesResponse>(clients, 'list', { filters: flags.filter });
  if (flags.quiet) { process.stdout.write(res.volumes.map((v) => `${v.name}\n`).join('')); return 0; }
  process.stdout.write(table(['DRIVER', 'VOLUME NAME'], res.volumes.map((v) => [v.driver, v.name])));
  return 0;
};

const inspect: Command = async (argv, clients) => {
  const { positionals } = parseFlags(argv, {}, { interspersed: true });
  if (!positionals.length) throw new UsageError('berth volume inspect VOLUME...');
  const out: unknown[] = [];
  let failed = 0;
  for (const name of positionals) {
    try {
      out.push(volumeView(await rpc<Volume>(clients, 'inspect', { name })));
    } catch (err) {
      process.stderr.write(`berth: ${(err as { details?: string }).details ?? String(err)}\n`);
      failed++;
    }
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  return failed ? 1 : 0;
};

const rm: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { force: { short: 'f', kind: 'bool' } }, { interspersed: true });
  if (!positionals.length) throw new UsageError('berth volume rm [-f] VOLUME...');
  return perContainer(positionals, async (name) => {
    await rpc(clients, 'remove', { name, force: Boolean(flags.force) });
  });
};

const prune: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { force: { short: 'f', kind: 'bool' } }, { interspersed: true });
  if (positionals.length) throw new UsageError('berth volume prune [-f]');
  if (!flags.force) {
    process.stdout.write('WARNING! This will remove all volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ');
    const answer = (await readLine()).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') return 0;
  }
  const res = await rpc<PruneVolumesResponse>(clients, 'prune', {});
  if (res.volumesDeleted.length) process.stdout.write(`Deleted Volumes:\n${res.volumesDeleted.map((n) => `${n}\n`).join('')}\n`);
  process.stdout.write(`Total reclaimed space: ${decimalSize(res.spaceReclaimed, 4)}\n`);
  return 0;
};

/** One line from stdin; an empty answer when stdin ends first. */
function readLine(): Promise<string> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin });
    rl.once('line', (line) => { resolve(line); rl.close(); });
    rl.once('close', () => resolve(''));
  });
}

const SUBCOMMANDS: Record<string, Command> = { create, ls, list: ls, inspect, rm, remove: rm, prune };

const volume: Command = async (argv, clients) => {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : SUBCOMMANDS[name];
  if (!command) throw new UsageError(`berth volume COMMAND, where COMMAND is one of: ${Object.keys(SUBCOMMANDS).sort().join(' ')}`);
  return command(rest, clients);
};

export const VOLUME_COMMANDS: Record<string, Command> = { volume };
