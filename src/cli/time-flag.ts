// --since / --until values, as docker logs and docker events read them, plus "seq:N" to resume events.
import { UsageError } from './args';

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** RFC 3339, Unix seconds (a fraction is fine), or a duration before now ("10m", "1h30m", "45s"). */
export function parseTime(text: string | undefined, flag: string, now = Date.now()): Date | undefined {
  if (text === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return new Date(Number(text) * 1000);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length && parts.map((p) => p[0]).join('') === text) {
    return new Date(now - parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]], 0));
  }
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) throw new UsageError(`${flag} ${text}: expected RFC 3339, Unix seconds, or a duration like 10m`);
  return d;
}

/** events --since: "seq:N" (events after seq N) or a time as parseTime reads it. */
export function parseSince(text: string | undefined, flag: string, now = Date.now()): { sinceSeq: number; since: Date | undefined } {
  if (text?.startsWith('seq:')) {
    const seq = Number(text.slice(4));
    if (!/^\d+$/.test(text.slice(4)) || !Number.isSafeInteger(seq)) throw new UsageError(`${flag} ${text}: expected seq:N with N a whole number`);
    // since_seq 0 means "not by seq" on the wire; every event is after seq 0, and after 1970, so ask for that.
    return seq === 0 ? { sinceSeq: 0, since: new Date(0) } : { sinceSeq: seq, since: undefined };
  }
  return { sinceSeq: 0, since: parseTime(text, flag, now) };
}
