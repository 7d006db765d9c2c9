// Detach keys ("ctrl-p,ctrl-q" by default, as Docker): typed into an attach, they end it and leave the
// container running. Bytes that might start the sequence are held back until it is clear they do not.
import { invalidArgument } from '../errors';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** "ctrl-p,ctrl-q" -> [0x10, 0x11]; a single character stands for itself; ctrl-@ .. ctrl-_ as on a terminal. */
export function parseDetachKeys(spec: string, field = 'detach_keys'): Buffer {
  const bytes: number[] = [];
  for (const key of spec.split(',')) {
    const ctrl = /^ctrl-(.)$/i.exec(key);
    if (ctrl) {
      const c = ctrl[1].toLowerCase();
      const code = c >= 'a' && c <= 'z' ? c.charCodeAt(0) - 0x60 : '@[\\]^_'.indexOf(ctrl[1]);
      if (code < 0) throw invalidArgument(field, spec, `unknown key ${JSON.stringify(key)}`);
      bytes.push(c >= 'a' && c <= 'z' ? code : code === 0 ? 0 : 0x1a + code);
    } else if (key.length === 1) {
      bytes.push(key.charCodeAt(0));
    } else {
      throw invalidArgument(field, spec, `unknown key ${JSON.stringify(key)}: use a character or ctrl-<char>`);
    }
  }
  return Buffer.from(bytes);
}

export class DetachScanner {
  private matched = 0;

  constructor(private readonly keys: Buffer) {}

  /** Returns the bytes to pass on, and whether the keys were completed (the rest is dropped then). */
  push(data: Buffer): { forward: Buffer; detached: boolean } {
    if (this.keys.length === 0) return { forward: data, detached: false };
    const out: number[] = [];
    for (const byte of data) {
      if (byte === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) return { forward: Buffer.from(out), detached: true };
        continue;
      }
      // A broken match: the held-back bytes were input after all.
      out.push(...this.keys.subarray(0, this.matched));
      this.matched = byte === this.keys[0] ? 1 : 0;
      if (this.matched === 0) out.push(byte);
    }
    return { forward: Buffer.from(out), detached: false };
  }
}
