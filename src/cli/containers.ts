// Container commands: create, start, run, ps, logs, wait, rm, inspect.
import type { Clients } from './client';
import { call, statusOf } from './client';
import { status } from '@grpc/grpc-js';
import { parseFlags, UsageError } from './args';
import { CREATE_FLAGS, createRequest } from './create-request';
import { attach, exec, run, startAttached } from './interactive';
import { commandText, ago, decimalSize, statusText, table } from './format';
import type {
  Container, ContainerLogsRequest, CreateContainerRequest, CreateContainerResponse, ListContainersResponse,
  InspectContainerResponse, WaitContainerResponse,
} from '../gen/berth/v1/containers';
import { LogStream } from '../gen/berth/v1/containers';
import type { InspectImageResponse } from '../gen/berth/v1/images';
import { containerView, imageView } from './inspect-view';
import type { Command } from './main';
import { portsText } from './network';
import { perContainer } from './per-container';
import { parseTime } from './time-flag';

/**
 * Prints the log. When following and the daemon goes away (a restart), reconnects and resumes after
 * the last entry seen, so nothing is printed twice or lost.
 */
async function printLogs(clients: Clients, req: ContainerLogsRequest): Promise<void> {
  let afterSeq = req.afterSeq;
  const deadline = () => Date.now() + 30_000;
  let giveUpAt = deadline();
  for (;;) {
    try {
      for await (const entry of clients.containers.logs({ ...req, afterSeq, tail: afterSeq ? undefined : req.tail })) {
        const out = entry.stream === LogStream.LOG_STREAM_STDERR ? process.stderr : process.stdout;
        const stamp = entry.time ? `${entry.time.toISOString()} ` : '';
        out.write(stamp ? Buffer.concat([Buffer.from(stamp), entry.data]) : entry.data);
        afterSeq = entry.seq;
        giveUpAt = deadline();
      }
      return;
    } catch (err) {
      if (!req.follow || (err as { code?: number }).code !== status.UNAVAILABLE || Date.now() > giveUpAt) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const create: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, CREATE_FLAGS);
  const res = await call<typeof clients.containers, CreateContainerRequest, CreateContainerResponse>(clients.containers, 'create', createRequest(flags, positionals));
  process.stdout.write(`${res.id}\n`);
  return 0;
};

const start: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { attach: { short: 'a', kind: 'bool' }, interactive: { short: 'i', kind: 'bool' } }, { interspersed: true });
  if (!positionals.length) throw new UsageError('berth start [-a [-i]] CONTAINER...');
  if (flags.attach) {
    if (positionals.length > 1) throw new UsageError('you cannot start and attach multiple containers at once');
    return startAttached(positionals[0], Boolean(flags.interactive), clients);
  }
  for (const id of positionals) {
    await call(clients.containers, 'start', { containerId: id });
    process.stdout.write(`${id}\n`);
  }
  return 0;
};

const ps: Command = async (argv, clients) => {
  const { flags } = parseFlags(argv, { all: { short: 'a', kind: 'bool' }, quiet: { short: 'q', kind: 'bool' }, size: { short: 's', kind: 'bool' } }, { interspersed: true });
  const res = await call<typeof clients.containers, unknown, ListContainersResponse>(clients.containers, 'list', { all: Boolean(flags.all), size: Boolean(flags.size) });
  if (flags.quiet) { process.stdout.write(res.containers.map((c) => `${c.id.slice(0, 12)}\n`).join('')); return 0; }
  const rows = res.containers.map((c: Container) => [
    c.id.slice(0, 12), c.config!.image, commandText(c), ago(c.created), statusText(c), portsText(c.networkSettings?.ports ?? {}), c.name,
    ...(flags.size ? [`${decimalSize(c.sizeRw)} (virtual ${decimalSize(c.sizeRootFs)})`] : []),
  ]);
  process.stdout.write(table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES', ...(flags.size ? ['SIZE'] : [])], rows));
  return 0;
};

const logs: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, {
    timestamps: { short: 't', kind: 'bool' }, follow: { short: 'f', kind: 'bool' }, tail: { short: 'n', kind: 'string' },
    since: { kind: 'string' }, until: { kind: 'string' },
  }, { interspersed: true });
  if (positionals.length !== 1) throw new UsageError('berth logs [-f] [-t] [--tail N] [--since T] [--until T] CONTAINER');
  const tail = flags.tail === undefined || flags.tail === 'all' ? undefined : Number(flags.tail);
  if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0)) throw new UsageError(`--tail ${flags.tail}: expected a count or "all"`);
  await printLogs(clients, {
    containerId: positionals[0], stdout: true, stderr: true, timestamps: Boolean(flags.timestamps), follow: Boolean(flags.follow),
    tail, since: parseTime(flags.since as string | undefined, '--since'), until: parseTime(flags.until as string | undefined, '--until'), afterSeq: 0,
  });
  return 0;
};

const WAIT_CONDITIONS = ['not-running', 'next-exit', 'removed'];

/** Prints each container's exit code once the condition holds (not-running: at once for a stopped one). */
const wait: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { condition: { kind: 'string' } }, { interspersed: true });
  if (!positionals.length) throw new UsageError('berth wait [--condition not-running|next-exit|removed] CONTAINER...');
  const condition = (flags.condition as string | undefined) ?? 'not-running';
  if (!WAIT_CONDITIONS.includes(condition)) {
    throw new UsageError(`invalid argument ${JSON.stringify(condition)} for --condition: expected ${WAIT_CONDITIONS.join(', ')}`);
  }
  return perContainer(positionals, async (id) => {
    const res = await call<typeof clients.containers, unknown, WaitContainerResponse>(clients.containers, 'wait', { containerId: id, condition });
    return String(res.exitCode);
  });
};

const rm: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { force: { short: 'f', kind: 'bool' }, volumes: { short: 'v', kind: 'bool' } }, { interspersed: true });
  if (!positionals.length) throw new UsageError('berth rm [-f] [-v] CONTAINER...');
  return perContainer(positionals, async (id) => {
    await call(clients.containers, 'remove', { containerId: id, force: Boolean(flags.force), volumes: Boolean(flags.volumes) });
  });
};

/** Containers first, then images, as docker inspect looks them up. */
const inspect: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { size: { short: 's', kind: 'bool' } }, { interspersed: true });
  if (!positionals.length) throw new UsageError('berth inspect [-s] CONTAINER|IMAGE...');
  const out: unknown[] = [];
  for (const ref of positionals) {
    try {
      const res = await call<typeof clients.containers, unknown, InspectContainerResponse>(clients.containers, 'inspect', { containerId: ref, size: Boolean(flags.size) });
      const c = res.container!;
      out.push({ ...containerView(c), ...(flags.size && { SizeRw: c.sizeRw, SizeRootFs: c.sizeRootFs }) });
    } catch (err) {
      if (statusOf(err) !== status.NOT_FOUND) throw err;
      const res = await call<typeof clients.images, unknown, InspectImageResponse>(clients.images, 'inspect', { image: ref });
      out.push(imageView(res.image!));
    }
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  return 0;
};

export const CONTAINER_COMMANDS: Record<string, Command> = { create, start, run, attach, exec, ps, logs, wait, rm, inspect };
