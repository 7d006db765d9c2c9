// Tars made in tests: entries with their headers (a fixed mtime unless given) and bodies.
import tar, { type Header } from 'tar-stream';

export type TarEntry = Partial<Header> & { name: string; body?: string | Buffer };

export async function tarOf(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const { body, ...header } of entries) pack.entry({ mtime: new Date('2024-01-01T00:00:00Z'), ...header } as Header, body ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
