// Progress for pull, push and load, as docker prints it: on a terminal one line per layer, redrawn in place with a
// bar; elsewhere one plain line per change of status (byte counts would only flood a log file).
import { decimalSize } from './format';

export interface ProgressLine {
  /** '' for a message about the whole image: printed once, never redrawn. */
  id: string;
  status: string;
  current: number;
  total: number;
}

const BAR_WIDTH = 50;

/** "[=====>      ]  1.2MB/3.4MB", or the count alone when the total is unknown. */
export function progressBar(current: number, total: number): string {
  if (total <= 0) return current > 0 ? decimalSize(current) : '';
  const filled = Math.min(BAR_WIDTH, Math.floor((current / total) * BAR_WIDTH));
  const bar = filled >= BAR_WIDTH ? '='.repeat(BAR_WIDTH) : `${'='.repeat(filled)}>${' '.repeat(BAR_WIDTH - filled - 1)}`;
  return `[${bar}]  ${decimalSize(current)}/${decimalSize(total)}`;
}

export function formatLine(p: ProgressLine): string {
  const bar = p.current > 0 || p.total > 0 ? progressBar(p.current, p.total) : '';
  const text = bar ? `${p.status} ${bar}` : p.status;
  return p.id ? `${p.id}: ${text}` : text;
}

export class ProgressView {
  /** Line keys in screen order; image messages get unique keys. */
  private readonly order: string[] = [];
  private readonly lastStatus = new Map<string, string>();
  private anon = 0;

  constructor(private readonly out: NodeJS.WritableStream & { isTTY?: boolean }, private readonly tty = Boolean(out.isTTY)) {}

  update(p: ProgressLine): void {
    if (!this.tty) {
      // Plain output: a line when the status changes, not for every byte counted.
      if (p.id && this.lastStatus.get(p.id) === p.status) return;
      if (p.id) this.lastStatus.set(p.id, p.status);
      this.out.write(`${p.id ? `${p.id}: ${p.status}` : p.status}\n`);
      return;
    }
    const key = p.id || `\0${this.anon++}`;
    const line = formatLine(p);
    const at = this.order.indexOf(key);
    if (at < 0) {
      this.order.push(key);
      this.out.write(`${line}\n`);
      return;
    }
    // Up to the layer's line, rewrite it, and back down below the last line.
    const up = this.order.length - at;
    this.out.write(`\x1b[${up}A\r\x1b[2K${line}\r\x1b[${up}B`);
  }
}
