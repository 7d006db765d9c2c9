// Commands that stream a container's stdio: run, attach, exec (and start -a).
import { status } from '@grpc/grpc-js';
import type { Clients } from './client';
import { call, details, statusOf } from './client';
import { parseFlags, UsageError, type FlagSpec } from './args';
import { pumpStdio, terminalSize, type StdioResult } from './stdio';
import type { AttachRequest, AttachResponse, CreateContainerRequest, CreateContainerResponse, ExecRequest, ExecResponse, InspectContainerResponse } from '../gen/berth/v1/containers';
import type { Command } from './main';
import { CREATE_FLAGS, createRequest } from './create-request';

interface AttachCall {
  /** The container, or (run) the request that creates it: then it is created, attached and started in one call. */
  target: { containerId: string } | { create: CreateContainerRequest };
  stdin: boolean;
  tty: boolean;
  start: boolean;
  detachKeys: string;
}

/** Attaches (and with start, starts) and pumps the terminal until the exit or a detach. */
async function attachAndPump(clients: Clients, a: AttachCall): Promise<StdioResult> {
  const stream = clients.containers.attach();
  const options: AttachRequest = {
    frame: {
      $case: 'options',
      value: {
        containerId: 'containerId' in a.target ? a.target.containerId : '', create: 'create' in a.target ? a.target.create : undefined,
        stdin: a.stdin, stdout: true, stderr: true, logs: false,
        detachKeys: a.detachKeys, size: a.tty ? terminalSize() : undefined, start: a.start,
      },
    },
  };
  stream.write(options);
  return pumpStdio<AttachRequest, AttachResponse>(stream, { stdin: a.stdin, tty: a.tty });
}

const RUN_FLAGS: Record<string, FlagSpec> = {
  ...CREATE_FLAGS,
  detach: { short: 'd', kind: 'bool' },
  'detach-keys': { kind: 'string' },
};

/** Removes a --rm container the daemon will not remove itself; finding it gone already is fine. */
async function removeAfterRun(clients: Clients, containerId: string): Promise<void> {
  try {
    await call(clients.containers, 'remove', { containerId, force: true });
  } catch (err) {
    if (statusOf(err) !== status.NOT_FOUND) throw err;
  }
}

/**
 * docker run: create, attach and start in one call, so no output is missed; -d creates, then starts.
 * --rm: the daemon removes the container when it exits (auto_remove), and its exit frame comes only
 * once the container is gone; a start that fails removes it too.
 */
export const run: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, RUN_FLAGS);
  const req = createRequest(flags, positionals);
  req.hostConfig!.autoRemove = Boolean(flags.rm);
  if (flags.detach) return runDetached(clients, req);
  let result: StdioResult;
  try {
    result = await attachAndPump(clients, {
      target: { create: req }, stdin: Boolean(flags.interactive), tty: Boolean(flags.tty), start: true,
      detachKeys: (flags['detach-keys'] as string) ?? '',
    });
  } catch (err) {
    process.stderr.write(`berth: ${details(err)}\n`);
    return 125;
  }
  return result.exitCode;
};

/** docker run -d: create, start, print the id. */
async function runDetached(clients: Clients, req: CreateContainerRequest): Promise<number> {
  let id: string;
  try {
    id = (await call<typeof clients.containers, unknown, CreateContainerResponse>(clients.containers, 'create', req)).id;
  } catch (err) {
    process.stderr.write(`berth: ${details(err)}\n`);
    return 125;
  }
  try {
    await call(clients.containers, 'start', { containerId: id });
  } catch (err) {
    // It never ran, so it never exits for the daemon to remove it.
    if (req.hostConfig!.autoRemove) await removeAfterRun(clients, id).catch(() => undefined);
    process.stderr.write(`berth: ${details(err)}\n`);
    return 125;
  }
  process.stdout.write(`${id}\n`);
  return 0;
}

export const attach: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { 'no-stdin': { kind: 'bool' }, 'detach-keys': { kind: 'string' } }, { interspersed: true });
  if (positionals.length !== 1) throw new UsageError('berth attach [--no-stdin] [--detach-keys KEYS] CONTAINER');
  const info = await call<typeof clients.containers, unknown, InspectContainerResponse>(clients.containers, 'inspect', { containerId: positionals[0] });
  const c = info.container!;
  if (!c.state!.running) throw new UsageError('you cannot attach to a stopped container, start it first');
  const result = await attachAndPump(clients, {
    target: { containerId: c.id }, stdin: c.config!.openStdin && !flags['no-stdin'], tty: c.config!.tty, start: false,
    detachKeys: (flags['detach-keys'] as string) ?? '',
  });
  return result.exitCode;
};

/** docker start -a [-i]: start with the attach in one call. */
export const startAttached = async (containerId: string, interactive: boolean, clients: Clients): Promise<number> => {
  const info = await call<typeof clients.containers, unknown, InspectContainerResponse>(clients.containers, 'inspect', { containerId });
  const c = info.container!;
  const result = await attachAndPump(clients, { target: { containerId: c.id }, stdin: interactive && c.config!.openStdin, tty: c.config!.tty, start: true, detachKeys: '' });
  return result.exitCode;
};

export const exec: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, {
    interactive: { short: 'i', kind: 'bool' }, tty: { short: 't', kind: 'bool' }, detach: { short: 'd', kind: 'bool' },
    env: { short: 'e', kind: 'list' }, user: { short: 'u', kind: 'string' }, workdir: { short: 'w', kind: 'string' },
    'detach-keys': { kind: 'string' }, privileged: { kind: 'bool' },
  });
  const [containerId, ...cmd] = positionals;
  if (!containerId || !cmd.length) throw new UsageError('berth exec [-i] [-t] [--privileged] [-e KEY=VALUE] [-u USER] [-w DIR] CONTAINER COMMAND [ARG...]');
  const tty = Boolean(flags.tty);
  const stdin = Boolean(flags.interactive);
  const stream = clients.containers.exec();
  const options: ExecRequest = {
    frame: {
      $case: 'options',
      value: {
        containerId, cmd, env: flags.env as string[], user: (flags.user as string) ?? '', workingDir: (flags.workdir as string) ?? '',
        tty, stdin, size: tty ? terminalSize() : undefined, detachKeys: (flags['detach-keys'] as string) ?? '',
        privileged: Boolean(flags.privileged),
      },
    },
  };
  stream.write(options);
  if (flags.detach) {
    // The process runs on without us: wait for "started", then let go.
    await new Promise<void>((resolve, reject) => { stream.once('data', () => resolve()); stream.once('error', reject); });
    stream.cancel();
    return 0;
  }
  try {
    return (await pumpStdio<ExecRequest, ExecResponse>(stream, { stdin, tty })).exitCode;
  } catch (err) {
    const text = details(err);
    process.stderr.write(`berth: ${text}\n`);
    // As docker exec: 127 when the command is not there, 126 when it cannot be run.
    return /No such file|not found/.test(text) ? 127 : 126;
  }
};
