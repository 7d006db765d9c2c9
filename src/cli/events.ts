// `berth events`: the daemon's event journal, one line per event as docker events prints it, each ending with
// its seq so that `--since seq:N` resumes right after it.
import { parseFlags, UsageError } from './args';
import type { Command } from './main';
import { parseSince, parseTime } from './time-flag';
import type { Event, EventsRequest } from '../gen/berth/v1/system';

/** "2026-11-30T02:19:42.801000000Z": RFC 3339 in UTC with nine digits of the second, as docker's RFC3339NanoFixed. */
export function rfc3339Nano(time: Date): string {
  return time.toISOString().replace(/Z$/, '000000Z');
}

/** `TIME TYPE ACTION ID (k=v, k=v) seq=N`, the attributes sorted by key as docker sorts them. */
export function eventLine(event: Event): string {
  const attributes = Object.entries(event.actor?.attributes ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  const attrs = attributes.length ? ` (${attributes.join(', ')})` : '';
  return `${rfc3339Nano(event.time ?? new Date(0))} ${event.type} ${event.action} ${event.actor?.id ?? ''}${attrs} seq=${event.seq}`;
}

/** Replays from --since (if any), then follows until --until passes or the user interrupts. */
const events: Command = async (argv, clients) => {
  const { flags, positionals } = parseFlags(argv, {
    since: { kind: 'string' }, until: { kind: 'string' }, filter: { short: 'f', kind: 'list' },
  }, { interspersed: true });
  if (positionals.length) throw new UsageError('berth events [--since TIME|seq:N] [--until TIME] [--filter KEY=VALUE]...');
  const filters = flags.filter as string[];
  for (const f of filters) if (f.indexOf('=') <= 0) throw new UsageError(`--filter ${JSON.stringify(f)}: expected KEY=VALUE`);
  const now = Date.now();
  const req: EventsRequest = {
    ...parseSince(flags.since as string | undefined, '--since', now),
    until: parseTime(flags.until as string | undefined, '--until', now),
    filters,
  };
  for await (const event of clients.system.events(req)) process.stdout.write(`${eventLine(event as Event)}\n`);
  return 0;
};

export const EVENT_COMMANDS: Record<string, Command> = { events };
