// Moving images in and out: load, save, pull, push, history. Registry credentials come from --username and
// --password (or --password-stdin), else BERTH_REGISTRY_AUTH="user:password"; there is no stored login.
import fs from 'node:fs';
import { parseFlags, UsageError } from './args';
import { call } from './client';
import { ago, decimalSize, table } from './format';
import { ProgressView } from './progress';
import type { ImageHistoryResponse, LoadImageResponse, PullImageResponse, PushImageResponse, RegistryAuth } from '../gen/berth/v1/images';
import type { Command } from './main';

const CHUNK_BYTES = 256 * 1024;
const AUTH_FLAGS = {
  username: { short: 'u', kind: 'string' },
  password: { short: 'p', kind: 'string' },
  'password-stdin': { kind: 'bool' },
} as const;

/** Flags first, then BERTH_REGISTRY_AUTH; undefined for anonymous access. */
export function registryAuth(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env, stdin?: () => string): RegistryAuth | undefined {
  let username = (flags.username as string | undefined) ?? '';
  let password = (flags.password as string | undefined) ?? '';
  if (flags['password-stdin']) {
    if (flags.password) throw new UsageError('--password and --password-stdin are mutually exclusive');
    password = (stdin ?? (() => fs.readFileSync(0, 'utf8')))().replace(/\r?\n$/, '');
  }
  if (!username && env.BERTH_REGISTRY_AUTH) {
    const text = env.BERTH_REGISTRY_AUTH;
    const colon = text.indexOf(':');
    if (colon <= 0) throw new UsageError('BERTH_REGISTRY_AUTH must be "username:password"');
    username = text.slice(0, colon);
    password = text.slice(colon + 1);
  }
  if (password && !username) throw new UsageError('a password needs --username');
  return username ? { username, password, identityToken: '' } : undefined;
}

const pull: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { ...AUTH_FLAGS, platform: { kind: 'string' }, quiet: { short: 'q', kind: 'bool' } }, { interspersed: true });
  if (positionals.length !== 1) throw new UsageError('berth pull [--platform OS/ARCH] [-u USER -p PASSWORD] NAME[:TAG|@DIGEST]');
  const view = new ProgressView(process.stdout);
  const stream = clients.images.pull({ reference: positionals[0], auth: registryAuth(flags), platform: (flags.platform as string) ?? '' });
  let done: PullImageResponse['part'];
  for await (const msg of stream as AsyncIterable<PullImageResponse>) {
    if (msg.part?.$case === 'progress' && !flags.quiet) view.update(msg.part.value);
    if (msg.part?.$case === 'done') done = msg.part;
  }
  if (done?.$case === 'done') process.stdout.write(`${done.value.reference}\n`);
  return 0;
};

const push: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { ...AUTH_FLAGS, quiet: { short: 'q', kind: 'bool' } }, { interspersed: true });
  if (positionals.length !== 1) throw new UsageError('berth push [-u USER -p PASSWORD] NAME[:TAG]');
  const view = new ProgressView(process.stdout);
  const stream = clients.images.push({ reference: positionals[0], auth: registryAuth(flags) });
  for await (const msg of stream as AsyncIterable<PushImageResponse>) {
    if (msg.part?.$case === 'progress' && !flags.quiet) view.update(msg.part.value);
    if (msg.part?.$case === 'done' && flags.quiet) process.stdout.write(`${msg.part.value.digest}\n`);
  }
  return 0;
};

/** `berth load [-i FILE]`: the archive from a file or stdin, with a bar of bytes sent on a terminal. */
const load: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { input: { short: 'i', kind: 'string' }, quiet: { short: 'q', kind: 'bool' } }, { interspersed: true });
  if (positionals.length) throw new UsageError('berth load [-i FILE] [-q]');
  const file = flags.input as string | undefined;
  if (!file && process.stdin.isTTY) throw new UsageError('requested load from stdin, but stdin is a terminal: use -i FILE or redirect');
  const input = file ? fs.createReadStream(file, { highWaterMark: CHUNK_BYTES }) : process.stdin;
  const total = file ? fs.statSync(file).size : 0;
  const view = new ProgressView(process.stderr);
  const showBytes = Boolean(process.stderr.isTTY) && !flags.quiet;
  let sent = 0;
  const res = await new Promise<LoadImageResponse>((resolve, reject) => {
    const stream = clients.images.load((err, r) => (err ? reject(err) : resolve(r)));
    input.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (showBytes) view.update({ id: 'archive', status: 'Loading', current: sent, total });
      if (!stream.write({ chunk })) {
        input.pause();
        stream.once('drain', () => input.resume());
      }
    });
    input.on('end', () => stream.end());
    input.on('error', (err: Error) => { stream.cancel(); reject(err); });
  });
  for (const name of res.loaded) process.stdout.write(name.startsWith('sha256:') ? `Loaded image ID: ${name}\n` : `Loaded image: ${name}\n`);
  return 0;
};

/** `berth save [-o FILE] [--format oci] IMAGE...`: never to a terminal, as docker refuses too. */
const save: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { output: { short: 'o', kind: 'string' }, format: { kind: 'string' } }, { interspersed: true });
  if (!positionals.length) throw new UsageError('berth save [-o FILE] [--format docker-archive|oci] IMAGE...');
  const file = flags.output as string | undefined;
  if (!file && process.stdout.isTTY) throw new UsageError('cowardly refusing to save to a terminal: use -o FILE or redirect');
  const tmp = file ? `${file}.berth-tmp-${process.pid}` : undefined;
  const out: NodeJS.WritableStream = tmp ? fs.createWriteStream(tmp, { mode: 0o644 }) : process.stdout;
  try {
    const stream = clients.images.save({ images: positionals, format: (flags.format as string) ?? '' });
    for await (const msg of stream as AsyncIterable<{ chunk: Buffer }>) {
      if (!out.write(msg.chunk)) await new Promise<void>((r) => { out.once('drain', () => r()); });
    }
    if (tmp) {
      await new Promise<void>((resolve, reject) => (out as fs.WriteStream).end((err?: Error | null) => (err ? reject(err) : resolve())));
      // Renamed into place only when complete: a failed save never leaves a truncated archive under FILE.
      fs.renameSync(tmp, file!);
    }
  } catch (err) {
    if (tmp) { (out as fs.WriteStream).destroy(); fs.rmSync(tmp, { force: true }); }
    throw err;
  }
  return 0;
};

const history: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { 'no-trunc': { kind: 'bool' }, quiet: { short: 'q', kind: 'bool' } }, { interspersed: true });
  if (positionals.length !== 1) throw new UsageError('berth history [--no-trunc] [-q] IMAGE');
  const res = await call<typeof clients.images, unknown, ImageHistoryResponse>(clients.images, 'history', { image: positionals[0] });
  const full = Boolean(flags['no-trunc']);
  const id = (s: string) => (s.startsWith('sha256:') && !full ? s.slice(7, 19) : s);
  if (flags.quiet) { process.stdout.write(res.history.map((h) => `${id(h.id)}\n`).join('')); return 0; }
  const rows = res.history.map((h) => {
    const by = h.createdBy.replace(/\s+/g, ' ');
    return [id(h.id), ago(h.created), full || by.length <= 45 ? by : `${by.slice(0, 44)}…`, decimalSize(h.size), h.comment];
  });
  process.stdout.write(table(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], rows));
  return 0;
};

export const DISTRIBUTION_COMMANDS: Record<string, Command> = { pull, push, load, save, history };
