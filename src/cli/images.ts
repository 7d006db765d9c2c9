// Image and system commands: import, images, tag, rmi, version, info.
import fs from 'node:fs';
import type { Clients } from './client';
import { call } from './client';
import { parseFlags, UsageError } from './args';
import { applyChanges } from './changes';
import { ago, table } from './format';
import type { ImportImageRequest, ImportImageResponse, ListImagesResponse, RemoveImageResponse } from '../gen/berth/v1/images';
import type { InfoResponse, VersionResponse } from '../gen/berth/v1/system';
import type { Command } from './main';

const CHUNK_BYTES = 256 * 1024;

function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let n = bytes;
  let u = 0;
  while (n >= 1000 && u < units.length - 1) { n /= 1000; u++; }
  return `${n < 10 && u > 0 ? n.toFixed(2) : n < 100 && u > 0 ? n.toFixed(1) : Math.round(n)}${units[u]}`;
}

/** `berth import FILE|- [REPO[:TAG]]`: header first, then the tar in chunks, like docker import. */
const importImage: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { change: { short: 'c', kind: 'list' }, message: { short: 'm', kind: 'string' } }, { interspersed: true });
  const [file, reference = ''] = positionals;
  if (!file || positionals.length > 2) throw new UsageError('berth import [-c CHANGE] [-m MESSAGE] FILE|- [REPOSITORY[:TAG]]');
  const input = file === '-' ? process.stdin : fs.createReadStream(file, { highWaterMark: CHUNK_BYTES });
  const res = await new Promise<ImportImageResponse>((resolve, reject) => {
    const stream = clients.images.import((err, r) => (err ? reject(err) : resolve(r)));
    const header: ImportImageRequest = {
      part: { $case: 'header', value: { reference, config: applyChanges(flags.change as string[]), message: (flags.message as string) ?? '' } },
    };
    stream.write(header);
    input.on('data', (chunk: Buffer) => {
      if (!stream.write({ part: { $case: 'chunk', value: chunk } })) {
        input.pause();
        stream.once('drain', () => input.resume());
      }
    });
    input.on('end', () => stream.end());
    input.on('error', (err: Error) => { stream.cancel(); reject(err); });
  });
  process.stdout.write(`${res.id}\n`);
  return 0;
};

const images: Command = async (argv, clients) => {
  const { flags } = parseFlags(argv, { quiet: { short: 'q', kind: 'bool' } }, { interspersed: true });
  const res = await call<typeof clients.images, unknown, ListImagesResponse>(clients.images, 'list', {});
  if (flags.quiet) { process.stdout.write(res.images.map((i) => `${i.id.slice(7, 19)}\n`).join('')); return 0; }
  const rows = res.images.flatMap((i) => {
    const names = i.repoTags.length ? i.repoTags : ['<none>:<none>'];
    return names.map((n) => {
      const colon = n.lastIndexOf(':');
      return [n.slice(0, colon), n.slice(colon + 1), i.id.slice(7, 19), ago(i.created), humanSize(i.sizeBytes)];
    });
  });
  process.stdout.write(table(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], rows));
  return 0;
};

const tag: Command = async (argv, clients) => {
  const { positionals } = parseFlags(argv, {}, { interspersed: true });
  if (positionals.length !== 2) throw new UsageError('berth tag SOURCE_IMAGE TARGET_IMAGE[:TAG]');
  await call(clients.images, 'tag', { image: positionals[0], reference: positionals[1] });
  return 0;
};

const rmi: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, { force: { short: 'f', kind: 'bool' } }, { interspersed: true });
  if (!positionals.length) throw new UsageError('berth rmi [-f] IMAGE...');
  for (const image of positionals) {
    const res = await call<typeof clients.images, unknown, RemoveImageResponse>(clients.images, 'remove', { image, force: Boolean(flags.force) });
    for (const n of res.untagged) process.stdout.write(`Untagged: ${n}\n`);
    for (const d of res.deleted) process.stdout.write(`Deleted: ${d}\n`);
  }
  return 0;
};

const version: Command = async (_argv, clients: Clients) => {
  const v = await call<typeof clients.system, unknown, VersionResponse>(clients.system, 'version', {});
  process.stdout.write(`Server:\n Version:     ${v.version}\n API version: ${v.apiVersion}\n Node:        ${v.nodeVersion}\n OS/Arch:     ${v.os}/${v.arch}\n Kernel:      ${v.kernelVersion}\n`);
  return 0;
};

const info: Command = async (_argv, clients: Clients) => {
  const i = await call<typeof clients.system, unknown, InfoResponse>(clients.system, 'info', {});
  process.stdout.write([
    `Containers: ${i.containers}`, ` Running: ${i.containersRunning}`, ` Stopped: ${i.containersStopped}`, `Images: ${i.images}`,
    `Storage Driver: ${i.storageDriver}`, `Berth Root Dir: ${i.rootDir}`, `Kernel Version: ${i.kernelVersion}`,
    `CPUs: ${i.cpus}`, `Total Memory: ${humanSize(i.memoryBytes)}`, '',
  ].join('\n'));
  return 0;
};

export const IMAGE_COMMANDS: Record<string, Command> = { import: importImage, images, tag, rmi, version, info };
