// Human output for the CLI: aligned tables, "2 minutes ago", Docker's status column, sizes as docker prints them.
import type { Container } from '../gen/berth/v1/containers';

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] + 3))).join('').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 1) return 'Less than a second';
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.round(s / 60);
  if (m < 60) return m === 1 ? 'About a minute' : `${m} minutes`;
  const h = Math.round(m / 60);
  if (h < 48) return h === 1 ? 'About an hour' : `${h} hours`;
  return `${Math.round(h / 24)} days`;
}

export function ago(date: Date | undefined, now = Date.now()): string {
  return date ? `${duration(now - date.getTime())} ago` : '';
}

export function statusText(c: Container, now = Date.now()): string {
  const s = c.state!;
  if (s.restarting) return `Restarting (${s.exitCode}) ${ago(s.finishedAt, now)}`;
  if (s.running || s.paused) return `Up ${duration(now - (s.startedAt?.getTime() ?? now))}${s.paused ? ' (Paused)' : ''}`;
  if (s.status === 'exited') return `Exited (${s.exitCode}) ${ago(s.finishedAt, now)}`;
  return 'Created';
}

export function commandText(c: Container): string {
  const text = [c.path, ...c.args].join(' ');
  return JSON.stringify(text.length > 20 ? `${text.slice(0, 19)}…` : text);
}

/** Go's %.<digits>g for the sizes below: at most that many significant digits, no trailing zeros. */
function significant(n: number, digits: number): string {
  return String(Number(n.toPrecision(digits)));
}

function scaled(bytes: number, base: number, units: string[], digits: number): string {
  let n = bytes;
  let u = 0;
  while (n >= base && u < units.length - 1) { n /= base; u++; }
  return `${significant(n, digits)}${units[u]}`;
}

/** "1.2kB", "648B", "12.3MB": docker's HumanSizeWithPrecision, in powers of 1000 (stats NET I/O, BLOCK I/O). */
export function decimalSize(bytes: number, digits = 3): string {
  return scaled(bytes, 1000, ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'], digits);
}

/** "1.5MiB", "1GiB": docker's BytesSize, in powers of 1024, four significant digits (stats MEM USAGE / LIMIT). */
export function binarySize(bytes: number): string {
  return scaled(bytes, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'], 4);
}
