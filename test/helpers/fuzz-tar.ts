// Hostile tars for the fuzz tests: a raw ustar writer that can put anything in any header field, valid seeds,
// byte-level mutators (bit flips, truncation, splicing, header fields rewritten with a fixed checksum), and
// structured layer cases that try to write outside through "..", absolute names, symlinks, hard links and whiteouts.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Rng } from './fuzz-rng';
import { writeChecksum } from '../../src/archive/tar-header';

export interface RawFields {
  name?: string | Buffer;
  mode?: string;
  uid?: string;
  gid?: string;
  /** Raw bytes of the 12-byte size field; the body's length in octal when absent. */
  size?: string | Buffer;
  mtime?: string;
  typeflag?: string;
  linkname?: string | Buffer;
  magic?: string;
  version?: string;
  devmajor?: string;
  devminor?: string;
  prefix?: string | Buffer;
  /** Raw checksum field; the right one when absent. */
  checksum?: string;
}

export const BLOCK = 512;
export const END = Buffer.alloc(2 * BLOCK);

export function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

function put(h: Buffer, offset: number, width: number, v: string | Buffer): void {
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  b.copy(h, offset, 0, Math.min(b.length, width));
}

export function fixChecksum(h: Buffer, offset = 0): void {
  writeChecksum(h.subarray(offset, offset + BLOCK));
}

export function rawHeader(f: RawFields, bodyLength: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  put(h, 0, 100, f.name ?? '');
  put(h, 100, 8, f.mode ?? octal(0o644, 8));
  put(h, 108, 8, f.uid ?? octal(0, 8));
  put(h, 116, 8, f.gid ?? octal(0, 8));
  put(h, 124, 12, f.size ?? octal(bodyLength, 12));
  put(h, 136, 12, f.mtime ?? octal(1_704_067_200, 12));
  put(h, 156, 1, f.typeflag ?? '0');
  put(h, 157, 100, f.linkname ?? '');
  put(h, 257, 6, f.magic ?? 'ustar\0');
  put(h, 263, 2, f.version ?? '00');
  put(h, 265, 32, 'root');
  put(h, 297, 32, 'root');
  put(h, 329, 8, f.devmajor ?? octal(0, 8));
  put(h, 337, 8, f.devminor ?? octal(0, 8));
  put(h, 345, 155, f.prefix ?? '');
  if (f.checksum === undefined) fixChecksum(h);
  else put(h, 148, 8, f.checksum);
  return h;
}

/** A header, its body and the padding to a whole block. */
export function rawEntry(f: RawFields, body: string | Buffer = ''): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const pad = (BLOCK - (b.length % BLOCK)) % BLOCK;
  return Buffer.concat([rawHeader(f, b.length), b, Buffer.alloc(pad)]);
}

export const file = (name: string | Buffer, body: string | Buffer = '', extra: RawFields = {}) => rawEntry({ name, ...extra }, body);
export const dir = (name: string, extra: RawFields = {}) => rawEntry({ name: name.endsWith('/') ? name : `${name}/`, typeflag: '5', mode: octal(0o755, 8), ...extra });
export const symlink = (name: string, target: string | Buffer) => rawEntry({ name, typeflag: '2', linkname: target, mode: octal(0o777, 8) });
export const hardlink = (name: string, target: string | Buffer) => rawEntry({ name, typeflag: '1', linkname: target });
export const device = (name: string, type: '3' | '4' | '6', major: number, minor: number) => rawEntry({ name, typeflag: type, devmajor: octal(major, 8), devminor: octal(minor, 8) });

/** A pax extended header ('x', or 'g' for global) carrying `records` as written, lengths and all. */
export function paxEntry(records: string | Buffer, typeflag: 'x' | 'g' = 'x'): Buffer {
  return rawEntry({ name: 'PaxHeaders/entry', typeflag }, records);
}

/** "<len> key=value\n" with the right length. */
export function paxRecord(key: string, value: string): string {
  const rest = Buffer.byteLength(` ${key}=${value}\n`);
  let len = rest + 1;
  while (String(len).length + rest !== len) len = String(len).length + rest;
  return `${len} ${key}=${value}\n`;
}

/** A GNU long name ('L') or long link name ('K') header before the next entry. */
export function gnuLong(typeflag: 'L' | 'K', value: string | Buffer, declared?: string): Buffer {
  const body = Buffer.concat([typeof value === 'string' ? Buffer.from(value) : value, Buffer.from([0])]);
  return rawEntry({ name: '././@LongLink', typeflag, magic: 'ustar ', version: ' \0', ...(declared ? { size: declared } : {}) }, body);
}

export function tarOf(...entries: Buffer[]): Buffer {
  return Buffer.concat([...entries, END]);
}

export function sha256(b: Buffer | string): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** A small valid rootfs: directories, files, a symlink, a hard link, a long name through pax and through GNU. */
export function seedRootfs(variant = 0): Buffer {
  const long = `deep/${'x'.repeat(120)}/file`;
  return tarOf(
    dir('etc'), file('etc/hostname', `seed-${variant}\n`), dir('bin'), file('bin/tool', Buffer.alloc(700 + variant, 0x41), { mode: octal(0o755, 8) }),
    dir('usr'), symlink('usr/bin', '../bin'), hardlink('bin/tool2', 'bin/tool'), symlink('etc/mtab', '/proc/mounts'),
    dir('deep'), dir(`deep/${'x'.repeat(120)}`), paxEntry(paxRecord('path', long)), file(long.slice(0, 90), 'long'),
    gnuLong('L', `deep/${'y'.repeat(150)}`), file('ignored-short-name', 'gnu'), dir('tmp', { mode: octal(0o1777, 8) }),
  );
}

// ---- byte-level mutation ----

const FIELDS: [number, number][] = [[0, 100], [100, 8], [108, 8], [116, 8], [124, 12], [136, 12], [148, 8], [156, 1], [157, 100], [257, 6], [263, 2], [329, 8], [337, 8], [345, 155]];

/** Offsets of blocks that look like headers (their checksum adds up). */
export function headerOffsets(tar: Buffer): number[] {
  const out: number[] = [];
  for (let off = 0; off + BLOCK <= tar.length; off += BLOCK) {
    let sum = 8 * 0x20;
    for (let i = 0; i < 148; i++) sum += tar[off + i];
    for (let i = 156; i < BLOCK; i++) sum += tar[off + i];
    if (sum === 8 * 0x20) continue;
    if (parseInt(tar.toString('latin1', off + 148, off + 155).replace(/[\0 ]/g, ''), 8) === sum) out.push(off);
  }
  return out;
}

function garbageField(rng: Rng, width: number): Buffer {
  const choices: (() => Buffer)[] = [
    () => Buffer.from('7'.repeat(width - 1) + '\0'),
    () => Buffer.from('-'.padEnd(width - 1, '1') + '\0'),
    () => Buffer.from('z'.repeat(width)),
    () => Buffer.concat([Buffer.from([0x80]), Buffer.alloc(width - 1, 0xff)]),
    () => Buffer.concat([Buffer.from([0xff]), rng.bytes(width - 1)]),
    () => Buffer.concat([Buffer.from([0x81 + rng.int(0x7e)]), rng.bytes(width - 1)]),
    () => Buffer.alloc(width, 0x20),
    () => Buffer.alloc(width, 0),
    () => Buffer.from(' 1e100      '.slice(0, width)),
    () => Buffer.from('../../../../'.slice(0, width)),
    () => rng.bytes(width),
  ];
  return rng.pick(choices)();
}

export function mutateBytes(rng: Rng, input: Buffer, splice: () => Buffer): Buffer {
  let buf: Buffer = Buffer.from(input);
  const rounds = rng.range(1, 4);
  for (let r = 0; r < rounds; r++) {
    const op = rng.int(9);
    if (buf.length === 0) buf = rng.bytes(rng.size(2048));
    if (op === 0) { // bit flips
      for (let i = rng.range(1, 16); i > 0; i--) buf[rng.int(buf.length)] ^= 1 << rng.int(8);
    } else if (op === 1) { // interesting bytes
      for (let i = rng.range(1, 8); i > 0; i--) buf[rng.int(buf.length)] = rng.pick([0, 0xff, 0x80, 0x2f, 0x2e, 0x37, 0x20, 0x7f]);
    } else if (op === 2) { // truncate, sometimes on a block boundary
      const at = rng.chance(0.5) ? rng.int(Math.ceil(buf.length / BLOCK)) * BLOCK : rng.int(buf.length);
      buf = buf.subarray(0, at);
    } else if (op === 3) { // splice with another input
      const other = splice();
      buf = Buffer.concat([buf.subarray(0, rng.int(buf.length + 1)), other.subarray(rng.int(other.length + 1))]);
    } else if (op === 4) { // drop, duplicate or swap whole blocks
      const blocks = Math.floor(buf.length / BLOCK);
      if (blocks < 2) continue;
      const a = rng.int(blocks) * BLOCK;
      const b = rng.int(blocks) * BLOCK;
      const blockA = Buffer.from(buf.subarray(a, a + BLOCK));
      if (rng.chance(0.33)) buf = Buffer.concat([buf.subarray(0, a), buf.subarray(a + BLOCK)]);
      else if (rng.chance(0.5)) buf = Buffer.concat([buf.subarray(0, b), blockA, buf.subarray(b)]);
      else { buf.copy(buf, a, b, b + BLOCK); blockA.copy(buf, b); }
    } else if (op === 5 || op === 6) { // a header field rewritten, checksum fixed (usually) so parsing goes on
      const heads = headerOffsets(buf);
      if (heads.length === 0) continue;
      const off = rng.pick(heads);
      const [start, width] = rng.pick(FIELDS);
      garbageField(rng, width).copy(buf, off + start, 0, width);
      if (rng.chance(0.85)) fixChecksum(buf, off);
    } else if (op === 7) { // insert random bytes
      const at = rng.int(buf.length + 1);
      buf = Buffer.concat([buf.subarray(0, at), rng.bytes(rng.size(1024)), buf.subarray(at)]);
    } else { // typeflag changed to anything
      const heads = headerOffsets(buf);
      if (heads.length === 0) continue;
      const off = rng.pick(heads);
      buf[off + 156] = rng.chance(0.7) ? rng.pick([...Buffer.from('0123456789xgLKVSMNAZ\0 ')]) : rng.int(256);
      fixChecksum(buf, off);
    }
  }
  return buf;
}

// ---- structured hostile layers ----

export interface EscapeTargets {
  /** A fresh host path ("/tmp/<marker>-escape-<n>" or under /etc or the canary dir) that must never exist. */
  next(): string;
  canaryDir: string;
  /** A file in the canary dir whose content must not change. */
  canaryFile: string;
}

const climb = (rng: Rng) => '../'.repeat(rng.range(1, 24));
const rel = (abs: string) => abs.replace(/^\/+/, '');

/** A layer that tries to escape or confuse the extractor; every host path it aims at comes from targets. */
export function hostileLayer(rng: Rng, t: EscapeTargets): { kind: string; tar: Buffer } {
  const target = t.next();
  const dirOf = path.dirname(target);
  const base = path.basename(target);
  const linkTo = rng.pick([dirOf, `${climb(rng)}${rel(dirOf)}`, t.canaryDir, `${climb(rng)}${rel(t.canaryDir)}`]);
  const cases: [string, () => Buffer[]][] = [
    ['dotdot name', () => [file(`${climb(rng)}${rel(target)}`, 'x')]],
    ['dotdot in the middle', () => [dir('a'), file(`a/${climb(rng)}${rel(target)}`, 'x')]],
    ['dotdot through pax path', () => [paxEntry(paxRecord('path', `${climb(rng)}${rel(target)}`)), file('innocent', 'x')]],
    ['dotdot through GNU long name', () => [gnuLong('L', `${climb(rng)}${rel(target)}`), file('innocent', 'x')]],
    ['dotdot in the ustar prefix', () => [file(base, 'x', { prefix: `${climb(rng)}${rel(dirOf)}`.slice(0, 155) })]],
    ['absolute name', () => [file(target, 'x')]],
    ['file through a symlinked dir', () => [symlink('l', linkTo), file(`l/${base}`, 'x')]],
    ['dir through a symlinked dir', () => [symlink('l', linkTo), dir(`l/${base}`)]],
    ['implicit parent through a symlink', () => [symlink('l', linkTo), file(`l/${base}/inner`, 'x')]],
    ['overwrite the canary through a symlink', () => [symlink('l', t.canaryDir), file(`l/${path.basename(t.canaryFile)}`, 'pwned')]],
    ['symlink chain', () => [symlink('a', 'b'), symlink('b', `c/${climb(rng)}`), dir('c'), file(`a/${rel(target)}`, 'x')]],
    ['symlink replacing a dir', () => [dir('d'), symlink('d', linkTo), file(`d/${base}`, 'x')]],
    ['file written onto a symlink', () => [symlink(base, target), file(base, 'x'), symlink('s2', t.canaryFile), file('s2', 'pwned')]],
    ['hard link out by dotdot', () => [hardlink('h', `${climb(rng)}${rel(t.canaryFile)}`), file('h', 'pwned')]],
    ['hard link out by absolute name', () => [hardlink('h', t.canaryFile), hardlink('p', '/etc/passwd')]],
    ['hard link through a symlinked dir', () => [symlink('l', t.canaryDir), hardlink('h', `l/${path.basename(t.canaryFile)}`), file('h', 'pwned')]],
    ['hard link to a symlink out', () => [symlink('s', t.canaryFile), hardlink('h', 's'), file('h', 'pwned')]],
    ['whiteout through a symlink', () => [symlink('l', t.canaryDir), file(`l/.wh.${path.basename(t.canaryFile)}`)]],
    ['opaque marker through a symlink', () => [symlink('l', t.canaryDir), file('l/.wh..wh..opq')]],
    ['whiteout of dotdot', () => [file('.wh...'), file(`.wh.${climb(rng)}${rel(target)}`)]],
    ['devices', () => [device(`dev-${base}`, '3', 1, 3), device('blk', '4', 8, 0), device('fifo', '6', 0, 0), device('huge', '3', 0o7777777, 0o7777777)]],
    ['device through a symlinked dir', () => [symlink('l', linkTo), device(`l/${base}`, '3', 1, 3)]],
    ['device onto a symlink', () => [symlink(base, target), device(base, '6', 0, 0)]],
    ['symlink out by pax linkpath', () => [paxEntry(paxRecord('linkpath', dirOf)), symlink('l', 'short'), file(`l/${base}`, 'x')]],
    ['hard link out by GNU long link', () => [gnuLong('K', `${climb(rng)}${rel(t.canaryFile)}`), hardlink('h', 'x'), file('h', 'pwned')]],
    ['garbage pax', () => [paxEntry(rng.pick([
      `999999999 path=${target}\n`, `-5 path=${target}\n`, `abc path=x\n`, `12 size=-1\n`, paxRecord('size', '99999999999999999999'),
      paxRecord('size', 'NaN'), paxRecord('uid', '-5') + paxRecord('gid', 'abc'), paxRecord('mtime', 'abc'), '\0\0\0', `${rng.bytes(rng.size(3000)).toString('latin1')}`,
      `30 path=${target}`, paxRecord('path', '') + paxRecord('linkpath', ''),
    ])), file('after-pax', 'x')]],
    ['global pax path', () => [paxEntry(paxRecord('path', `${climb(rng)}${rel(target)}`), 'g'), file('one', 'x'), file('two', 'y')]],
    ['pax header too large', () => [rawEntry({ name: 'PaxHeaders/big', typeflag: 'x', size: octal(4 * 1024 * 1024 + 1, 12) }, Buffer.alloc(1024))]],
    ['GNU long name absurdly long', () => [gnuLong('L', 'a/'.repeat(rng.range(2048, 300_000))), file('x', 'x')]],
    ['GNU long name declared huge', () => [gnuLong('L', 'short', octal(2 ** 33 - 1, 12)), file('x', 'x')]],
    ['deep nesting by one name', () => [paxEntry(paxRecord('path', `${'d/'.repeat(rng.range(100, 3000))}leaf`)), file('short', 'x')]],
    ['deep nesting by many dirs', () => Array.from({ length: rng.range(50, 400) }, (_, i) => {
      const name = 'n/'.repeat(i + 1);
      return name.length > 100 ? Buffer.concat([paxEntry(paxRecord('path', name)), dir('x')]) : dir(name);
    })],
    ['huge declared size', () => [file('big', 'tiny', { size: rng.pick(['77777777777\0', '7777777777777', '99999999999\0']) })]],
    ['base-256 size', () => [file('big', 'tiny', { size: Buffer.concat([Buffer.from([rng.pick([0x80, 0xff, 0x81, 0xc0])]), rng.bytes(11)]) })]],
    ['negative and garbage octal', () => [file('neg', 'x', {
      mode: rng.pick(['-000001\0', 'zzzzzzz\0', '7777777\0']), uid: rng.pick(['-000001\0', '9999999\0', '\x80\xff\xff\xff\xff\xff\xff\xff']),
      mtime: rng.pick(['-0000000001\0', 'zzzzzzzzzzz\0', '77777777777\0']), size: rng.pick(['-0000000004\0', 'z0000000004\0', ' 4\0']),
    })]],
    ['bad checksum', () => [file('a', 'x', { checksum: rng.pick(['0000000\0', 'zzzzzz\0 ', '\0\0\0\0\0\0\0\0', '-000001\0']) })]],
    ['odd type flags', () => Array.from({ length: 8 }, (_, i) => rawEntry({ name: `t${i}`, typeflag: String.fromCharCode(rng.pick([...'789ABCDEFGHIJKMNOSVXZgx', '\0', ' ', '\x7f', '\xff'].map((c) => c.charCodeAt(0)))) }, rng.chance(0.5) ? 'body' : ''))],
    ['odd names', () => [file('', 'root?'), file('.', 'dot'), file('/', 'slash'), file('a\nb', 'nl'), file(Buffer.from([0xff, 0xfe, 0x2f, 0x41]), 'bytes'), dir('.wh..wh..opq'), file('.wh.')]],
    ['odd links', () => [hardlink('self', 'self'), hardlink('empty', ''), hardlink('dotlink', '.'), dir('d'), hardlink('todir', 'd'), symlink('nolink', ''), symlink('.', '/'), symlink('', '/tmp')]],
    ['type flips', () => [file('f', 'x'), dir('f'), file('f/inner', 'x'), symlink('f', '/'), dir('f'), file('f', 'y')]],
    ['symlink target too long', () => [paxEntry(paxRecord('linkpath', '/'.repeat(rng.range(4000, 70_000)))), symlink('l', 'x')]],
    ['many entries', () => Array.from({ length: rng.range(200, 3000) }, (_, i) => file(`m/${i}`, ''))],
  ];
  const [kind, make] = rng.pick(cases);
  let tar = tarOf(...make());
  if (rng.chance(0.15)) tar = tar.subarray(0, tar.length - rng.int(2 * BLOCK + 1));
  if (rng.chance(0.2)) tar = gzipSync(tar);
  return { kind, tar };
}

/** Compressed or almost-compressed inputs: truncated gzip, gzip with garbage, zstd/xz/bzip2 magic. */
export function oddCompression(rng: Rng, seed: Buffer): Buffer {
  const gz = gzipSync(seed);
  return rng.pick([
    () => gz.subarray(0, rng.int(gz.length)),
    () => Buffer.concat([gz, rng.bytes(rng.size(4096))]),
    () => Buffer.concat([Buffer.from([0x1f, 0x8b]), rng.bytes(rng.size(4096))]),
    () => Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), rng.bytes(rng.size(4096))]),
    () => Buffer.concat([Buffer.from('\xfd7zXZ\0', 'latin1'), rng.bytes(rng.size(1024))]),
    () => Buffer.concat([Buffer.from('BZh9'), rng.bytes(rng.size(1024))]),
    () => Buffer.concat([gz, gz]),
    () => gzipSync(gz),
    () => { const b = Buffer.from(gz); b[rng.range(10, b.length - 1)] ^= 0xff; return b; },
  ])();
}
