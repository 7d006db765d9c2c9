// Signal names and numbers as `docker kill -s` takes them: "KILL", "SIGKILL", "9".
import os from 'node:os';
import { invalidArgument } from '../errors';

const SIGNALS = os.constants.signals as Record<string, number>;
/** Linux's real-time signals run to 64; SIGRTMIN is 34 under glibc. */
const MAX_SIGNAL = 64;

export function parseSignal(text: string, field = 'signal'): number {
  if (text === '') return SIGNALS.SIGKILL;
  if (/^[0-9]+$/.test(text)) {
    const n = Number(text);
    if (n < 1 || n > MAX_SIGNAL) throw invalidArgument(field, text, `signal numbers run from 1 to ${MAX_SIGNAL}`);
    return n;
  }
  const upper = text.toUpperCase();
  const n = SIGNALS[upper.startsWith('SIG') ? upper : `SIG${upper}`];
  if (n === undefined) throw invalidArgument(field, text, 'not a signal name');
  return n;
}
