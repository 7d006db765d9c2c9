// Container filesystem commands: diff, export, commit and cp (cp.ts).
import { once } from 'node:events';
import fs from 'node:fs';
import { CommitContainerRequest, type CommitContainerResponse, type ContainerChangesResponse } from '../gen/berth/v1/containers';
import { parseFlags, UsageError } from './args';
import { call, type Clients } from './client';
import { cp } from './cp';
import type { Command } from './main';

/** As Docker's API numbers them. */
const KIND_LETTERS = ['C', 'A', 'D'];

const diff: Command = async (argv, clients) => {
  const { positionals } = parseFlags(argv, {}, { interspersed: true });
  if (positionals.length !== 1) throw new UsageError('berth diff CONTAINER');
  const res = await call<typeof clients.containers, unknown, ContainerChangesResponse>(clients.containers, 'changes', { containerId: positionals[0] });
  process.stdout.write(res.changes.map((c) => `${KIND_LETTERS[c.kind] ?? '?'} ${c.path}\n`).join(''));
  return 0;
};

/** The container's filesystem as a tar to -o FILE or stdout (never a terminal, as docker refuses). */
const exportCommand: Command = async (argv, clients: Clients) => {
  const { flags, positionals } = parseFlags(argv, { output: { short: 'o', kind: 'string' } }, { interspersed: true });
  if (positionals.length !== 1) throw new UsageError('berth export [-o FILE] CONTAINER');
  const file = flags.output as string | undefined;
  if (!file && process.stdout.isTTY) throw new UsageError('cowardly refusing to write a tar to a terminal: use -o FILE or redirect stdout');
  const out = file ? fs.createWriteStream(`${file}.tmp-${process.pid}`) : process.stdout;
  let writeError: Error | undefined;
  out.on('error', (err) => { writeError = err; });
  try {
    for await (const msg of clients.containers.export({ containerId: positionals[0] })) {
      if (writeError) throw writeError;
      if (!out.write((msg as { chunk: Buffer }).chunk)) await once(out, 'drain');
    }
  } catch (err) {
    if (file) {
      out.destroy();
      fs.rmSync(`${file}.tmp-${process.pid}`, { force: true });
    }
    throw err;
  }
  if (file) {
    // A failed export leaves no half a tar under the name asked for.
    await new Promise<void>((resolve, reject) => (out as fs.WriteStream).end((err?: Error | null) => (err ? reject(err) : resolve())));
    fs.renameSync(`${file}.tmp-${process.pid}`, file);
  }
  return 0;
};

/** docker commit [-a AUTHOR] [-m MESSAGE] [-c CHANGE]... [--pause=false] CONTAINER [REPO[:TAG]]: prints the new image id. */
const commit: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, {
    author: { short: 'a', kind: 'string' }, message: { short: 'm', kind: 'string' }, change: { short: 'c', kind: 'list' },
    pause: { short: 'p', kind: 'bool' },
  }, { interspersed: true });
  if (positionals.length < 1 || positionals.length > 2) throw new UsageError('berth commit [-a AUTHOR] [-m MESSAGE] [-c CHANGE]... [--pause=false] CONTAINER [REPO[:TAG]]');
  const req = CommitContainerRequest.fromPartial({
    containerId: positionals[0], reference: positionals[1] ?? '', author: (flags.author as string) ?? '', message: (flags.message as string) ?? '',
    changes: flags.change as string[], pause: flags.pause === undefined ? true : Boolean(flags.pause),
  });
  const res = await call<typeof clients.containers, unknown, CommitContainerResponse>(clients.containers, 'commit', req);
  process.stdout.write(`${res.id}\n`);
  return 0;
};

export const FILESYSTEM_COMMANDS: Record<string, Command> = { diff, export: exportCommand, commit, cp };
