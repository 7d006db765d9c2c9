// Container commands: create, start, run, ps, logs, wait, rm, inspect.
import type { Clients } from './client';
import { call } from './client';
import { parseFlags, UsageError, type FlagSpec } from './args';
import { commandText, ago, statusText, table } from './format';
import type {
  Config, Container, ContainerLogsRequest, CreateContainerRequest, CreateContainerResponse, ListContainersResponse,
  InspectContainerResponse, WaitContainerResponse,
} from '../gen/berth/v1/containers';
import { LogStream } from '../gen/berth/v1/containers';
import type { InspectImageResponse } from '../gen/berth/v1/images';
import { containerView, imageView } from './inspect-view';
import type { Command } from './main';

const CREATE_FLAGS: Record<string, FlagSpec> = {
  name: { kind: 'string' },
  env: { short: 'e', kind: 'list' },
  workdir: { short: 'w', kind: 'string' },
  user: { short: 'u', kind: 'string' },
  hostname: { short: 'h', kind: 'string' },
  domainname: { kind: 'string' },
  entrypoint: { kind: 'string' },
};

function emptyConfig(): Config {
  return {
    hostname: '', domainname: '', user: '', memory: 0, memorySwap: 0, cpuShares: 0, attachStdin: false, attachStdout: true,
    attachStderr: true, portSpecs: [], exposedPorts: [], tty: false, openStdin: false, stdinOnce: false, env: [], cmd: [], dns: [],
    image: '', volumes: [], volumesFrom: '', workingDir: '', entrypoint: [], networkDisabled: false,
  };
}

/** `[flags] IMAGE [CMD...]` -> a Create request. */
function createRequest(flags: Record<string, unknown>, positionals: string[]): CreateContainerRequest {
  const [image, ...cmd] = positionals;
  if (!image) throw new UsageError('an image is required: berth create [OPTIONS] IMAGE [COMMAND] [ARG...]');
  const env = (flags.env as string[]).map((e) => (e.includes('=') ? e : `${e}=${process.env[e] ?? ''}`));
  const config: Config = {
    ...emptyConfig(), image, cmd, env,
    workingDir: (flags.workdir as string) ?? '', user: (flags.user as string) ?? '',
    hostname: (flags.hostname as string) ?? '', domainname: (flags.domainname as string) ?? '',
    entrypoint: flags.entrypoint !== undefined ? [flags.entrypoint as string] : [],
  };
  return { config, name: (flags.name as string) ?? '', hostConfig: undefined };
}

async function printLogs(clients: Clients, req: ContainerLogsRequest): Promise<void> {
  for await (const entry of clients.containers.logs(req)) {
    const out = entry.stream === LogStream.LOG_STREAM_STDERR ? process.stderr : process.stdout;
    const stamp = entry.time ? `${entry.time.toISOString()} ` : '';
    out.write(stamp ? Buffer.concat([Buffer.from(stamp), entry.data]) : entry.data);
  }
}

const create: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, CREATE_FLAGS);
  const res = await call<typeof clients.containers, CreateContainerRequest, CreateContainerResponse>(clients.containers, 'create', createRequest(flags, positionals));
  process.stdout.write(`${res.id}\n`);
  return 0;
};

const start: Command = async (argv, clients) => {
  const { positionals } = parseFlags(argv, {}, { interspersed: true });
  if (!positionals.length) throw new UsageError('berth start CONTAINER...');
  for (const id of positionals) {
    await call(clients.containers, 'start', { containerId: id });
    process.stdout.write(`${id}\n`);
  }
  return 0;
};

/** create + start + wait + logs; exit with the container's code (125 when Berth itself failed, as docker run). */
const run: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { ...CREATE_FLAGS, rm: { kind: 'bool' }, detach: { short: 'd', kind: 'bool' } });
  if (flags.rm && flags.detach) throw new UsageError('conflicting options: --rm and -d');
  const req = createRequest(flags, positionals);
  let id: string;
  try {
    id = (await call<typeof clients.containers, CreateContainerRequest, CreateContainerResponse>(clients.containers, 'create', req)).id;
  } catch (err) {
    return reportRunError(err);
  }
  try {
    await call(clients.containers, 'start', { containerId: id });
  } catch (err) {
    if (flags.rm) await call(clients.containers, 'remove', { containerId: id, force: true }).catch(() => undefined);
    return reportRunError(err);
  }
  if (flags.detach) { process.stdout.write(`${id}\n`); return 0; }
  const exit = await call<typeof clients.containers, unknown, WaitContainerResponse>(clients.containers, 'wait', { containerId: id });
  await printLogs(clients, { containerId: id, stdout: true, stderr: true, timestamps: false, follow: false });
  if (flags.rm) await call(clients.containers, 'remove', { containerId: id, force: true });
  return exit.exitCode;
};

function reportRunError(err: unknown): number {
  process.stderr.write(`berth: ${(err as { details?: string }).details ?? String(err)}\n`);
  return 125;
}

const ps: Command = async (argv, clients) => {
  const { flags } = parseFlags(argv, { all: { short: 'a', kind: 'bool' }, quiet: { short: 'q', kind: 'bool' } }, { interspersed: true });
  const res = await call<typeof clients.containers, unknown, ListContainersResponse>(clients.containers, 'list', { all: Boolean(flags.all) });
  if (flags.quiet) { process.stdout.write(res.containers.map((c) => `${c.id.slice(0, 12)}\n`).join('')); return 0; }
  const rows = res.containers.map((c: Container) => [
    c.id.slice(0, 12), c.config!.image, commandText(c), ago(c.created), statusText(c), c.name,
  ]);
  process.stdout.write(table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES'], rows));
  return 0;
};

const logs: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { timestamps: { short: 't', kind: 'bool' }, follow: { short: 'f', kind: 'bool' } }, { interspersed: true });
  if (positionals.length !== 1) throw new UsageError('berth logs [-t] CONTAINER');
  await printLogs(clients, { containerId: positionals[0], stdout: true, stderr: true, timestamps: Boolean(flags.timestamps), follow: Boolean(flags.follow) });
  return 0;
};

const wait: Command = async (argv, clients) => {
  const { positionals } = parseFlags(argv, {}, { interspersed: true });
  if (!positionals.length) throw new UsageError('berth wait CONTAINER...');
  for (const id of positionals) {
    const res = await call<typeof clients.containers, unknown, WaitContainerResponse>(clients.containers, 'wait', { containerId: id });
    process.stdout.write(`${res.exitCode}\n`);
  }
  return 0;
};

const rm: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { force: { short: 'f', kind: 'bool' } }, { interspersed: true });
  if (!positionals.length) throw new UsageError('berth rm [-f] CONTAINER...');
  let failed = 0;
  for (const id of positionals) {
    try {
      await call(clients.containers, 'remove', { containerId: id, force: Boolean(flags.force) });
      process.stdout.write(`${id}\n`);
    } catch (err) {
      process.stderr.write(`berth: ${(err as { details?: string }).details ?? String(err)}\n`);
      failed++;
    }
  }
  return failed ? 1 : 0;
};

/** Containers first, then images, as docker inspect looks them up. */
const inspect: Command = async (argv, clients) => {
  const { positionals } = parseFlags(argv, {}, { interspersed: true });
  if (!positionals.length) throw new UsageError('berth inspect CONTAINER|IMAGE...');
  const out: unknown[] = [];
  for (const ref of positionals) {
    try {
      const res = await call<typeof clients.containers, unknown, InspectContainerResponse>(clients.containers, 'inspect', { containerId: ref });
      out.push(containerView(res.container!));
    } catch (err) {
      if ((err as { code?: number }).code !== 5) throw err;
      const res = await call<typeof clients.images, unknown, InspectImageResponse>(clients.images, 'inspect', { image: ref });
      out.push(imageView(res.image!));
    }
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  return 0;
};

export const CONTAINER_COMMANDS: Record<string, Command> = { create, start, run, ps, logs, wait, rm, inspect };
