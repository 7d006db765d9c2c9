// Timestamps from requests (Logs and Events since/until): a Timestamp past what a Date holds decodes to an
// invalid Date, which compares false with everything; it is refused here instead of read as "no bound".
import { invalidArgument } from '../errors';

/** A Timestamp the client set, as a Date; undefined when it was not set. */
export function timestamp(value: Date | undefined, field: string): Date | undefined {
  if (value !== undefined && !Number.isFinite(value.getTime())) throw invalidArgument(field, String(value), 'not a time between the years -271821 and 275760');
  return value;
}

/** since and until together: each a valid time, until not before since. */
export function timeRange(since: Date | undefined, until: Date | undefined): { since?: Date; until?: Date } {
  timestamp(since, 'since');
  timestamp(until, 'until');
  if (since && until && until < since) throw invalidArgument('until', until.toISOString(), `is before since ${since.toISOString()}`);
  return { since, until };
}
