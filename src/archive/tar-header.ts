// POSIX tar headers (ustar, with a pax extended header before it when a name, a link target or a
// number does not fit), so that tar producers can be plain async generators of Buffers: nothing is
// made until the consumer asks for it. See pax(1), "ustar Interchange Format" and "pax Header Block".

export type TarType = 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';

export interface TarHeader {
  /** Relative; a directory's ends in "/". */
  name: string;
  type: TarType;
  /** Permission bits (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Body bytes: regular files only, 0 for every other type. */
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

export const BLOCK = 512;
/** Two zero blocks end an archive. */
export const END_OF_ARCHIVE: Buffer = Buffer.alloc(2 * BLOCK);

const TYPE_FLAGS: Record<TarType, string> = {
  file: '0', link: '1', symlink: '2', 'character-device': '3', 'block-device': '4', directory: '5', fifo: '6',
};

/** The zeros that bring a body of `size` bytes to a whole block. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** The header block(s) of one entry: a pax header first when needed, then the ustar header. */
export function encodeHeader(h: TarHeader): Buffer {
  const pax: Record<string, string> = {};
  const fullName = Buffer.from(h.name);
  let name: Buffer = fullName;
  let prefix: Buffer = Buffer.alloc(0);
  if (fullName.length > 100) {
    const split = splitName(fullName);
    if (split) [prefix, name] = split;
    else {
      pax.path = h.name;
      name = fullName.subarray(0, 100);
    }
  }
  let linkname: Buffer = Buffer.from(h.linkname ?? '');
  if (linkname.length > 100) {
    pax.linkpath = h.linkname!;
    linkname = linkname.subarray(0, 100);
  }
  const number = (key: string, value: number, digits: number): number => {
    if (Number.isSafeInteger(value) && value >= 0 && value < 8 ** digits) return value;
    pax[key] = String(value);
    return 0;
  };
  const uid = number('uid', h.uid, 7);
  const gid = number('gid', h.gid, 7);
  const size = number('size', h.size, 11);
  const mtime = number('mtime', h.mtime, 11);

  const ustar = Buffer.alloc(BLOCK);
  name.copy(ustar, 0);
  writeOctal(ustar, 100, 8, h.mode & 0o7777);
  writeOctal(ustar, 108, 8, uid);
  writeOctal(ustar, 116, 8, gid);
  writeOctal(ustar, 124, 12, size);
  writeOctal(ustar, 136, 12, mtime);
  ustar.write(TYPE_FLAGS[h.type], 156, 'latin1');
  linkname.copy(ustar, 157);
  ustar.write('ustar\u000000', 257, 'latin1');
  if (h.type === 'character-device' || h.type === 'block-device') {
    writeOctal(ustar, 329, 8, h.devmajor ?? 0);
    writeOctal(ustar, 337, 8, h.devminor ?? 0);
  }
  prefix.copy(ustar, 345);
  writeChecksum(ustar);

  if (Object.keys(pax).length === 0) return ustar;
  return Buffer.concat([paxHeader(h, pax), ustar]);
}

/** A name of up to 256 bytes split at a "/" into prefix (<= 155) and name (<= 100, not empty). */
function splitName(full: Buffer): [Buffer, Buffer] | undefined {
  for (let i = Math.min(full.length - 1, 155); i > 0; i--) {
    if (full[i] !== 0x2f) continue;
    if (full.length - i - 1 > 100) return undefined;
    if (full.length - i - 1 === 0) continue;
    return [full.subarray(0, i), full.subarray(i + 1)];
  }
  return undefined;
}

/** A type "x" entry: records "<len> <key>=<value>\n", where len counts the whole record. */
function paxHeader(h: TarHeader, records: Record<string, string>): Buffer {
  const body = Buffer.concat(Object.entries(records).map(([key, value]) => {
    const rest = Buffer.byteLength(` ${key}=${value}\n`);
    let len = rest + 1;
    while (String(len).length + rest !== len) len = String(len).length + rest;
    return Buffer.from(`${len} ${key}=${value}\n`);
  }));
  const base = h.name.replace(/\/+$/, '').split('/').pop() ?? '';
  const header = Buffer.alloc(BLOCK);
  Buffer.from(`PaxHeaders/${base}`).subarray(0, 100).copy(header, 0);
  writeOctal(header, 100, 8, 0o644);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, body.length);
  writeOctal(header, 136, 12, Math.min(Math.max(h.mtime, 0), 8 ** 11 - 1));
  header.write('x', 156, 'latin1');
  header.write('ustar\u000000', 257, 'latin1');
  writeChecksum(header);
  return Buffer.concat([header, body, padding(body.length)]);
}

/** width - 1 octal digits, zero-padded, then NUL. */
function writeOctal(buf: Buffer, offset: number, width: number, value: number): void {
  buf.write(`${value.toString(8).padStart(width - 1, '0')}\u0000`, offset, width, 'latin1');
}

/** The sum of one header block's bytes with the checksum field counted as spaces: 6 digits, NUL, space. */
export function writeChecksum(buf: Buffer): void {
  buf.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of buf) sum += byte;
  buf.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
}
