// Tars made in tests: entries with their headers (a fixed mtime unless given) and bodies.
import tar, { type Header } from 'tar-stream';
import { writeChecksum } from '../../src/archive/tar-header';

export type TarEntry = Partial<Header> & { name: string; body?: string | Buffer };

export async function tarOf(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const { body, ...header } of entries) pack.entry({ mtime: new Date('2024-01-01T00:00:00Z'), ...header } as Header, body ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The header at `offset` with a base-256 size field tar-stream reads as null (first byte neither 0x80 nor 0xff). */
export function unreadableSize(bytes: Buffer, offset: number): Buffer {
  const out = Buffer.from(bytes);
  out[offset + 124] = 0x81;
  out.fill(0, offset + 125, offset + 136);
  writeChecksum(out.subarray(offset, offset + 512));
  return out;
}
