import { describe, expect, it } from 'vitest';
import { formatLine, ProgressView } from './progress';

function sink(): NodeJS.WritableStream & { text: string } {
  const s = { text: '', write(chunk: string) { s.text += chunk; return true; } };
  return s as unknown as NodeJS.WritableStream & { text: string };
}

describe('progress lines', () => {
  it('draws docker\'s bar', () => {
    expect(formatLine({ id: 'abc', status: 'Downloading', current: 500_000, total: 1_000_000 })).toBe(`abc: Downloading [${'='.repeat(25)}>${' '.repeat(24)}]  500kB/1MB`);
    expect(formatLine({ id: 'abc', status: 'Pull complete', current: 0, total: 0 })).toBe('abc: Pull complete');
    expect(formatLine({ id: '', status: 'Digest: sha256:x', current: 0, total: 0 })).toBe('Digest: sha256:x');
  });

  it('on a terminal rewrites a layer\'s line in place', () => {
    const out = sink();
    const view = new ProgressView(out, true);
    view.update({ id: 'a', status: 'Pulling fs layer', current: 0, total: 0 });
    view.update({ id: 'b', status: 'Pulling fs layer', current: 0, total: 0 });
    view.update({ id: 'a', status: 'Pull complete', current: 0, total: 0 });
    expect(out.text).toBe('a: Pulling fs layer\nb: Pulling fs layer\n\x1b[2A\r\x1b[2Ka: Pull complete\r\x1b[2B');
  });

  it('elsewhere prints a line per change of status only', () => {
    const out = sink();
    const view = new ProgressView(out, false);
    for (const n of [1, 2, 3]) view.update({ id: 'a', status: 'Downloading', current: n, total: 3 });
    view.update({ id: 'a', status: 'Pull complete', current: 0, total: 0 });
    view.update({ id: '', status: 'Status: done', current: 0, total: 0 });
    expect(out.text).toBe('a: Downloading\na: Pull complete\nStatus: done\n');
  });
});
