// One event in the journal: Docker's events.Message (type, action, actor id and attributes) plus the seq
// that lets a client resume a stream with no gap and no duplicate.

export const EVENT_TYPES = ['container', 'image', 'volume', 'network', 'daemon'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface BerthEvent {
  /** 1, 2, 3... assigned by the journal; never reused, across restarts and crashes. */
  seq: number;
  /**
   * Nanoseconds since the Unix epoch. The wall clock gives millisecond resolution; within one daemon run the
   * journal adds nanoseconds where needed so that time strictly increases with seq (no two events share a time).
   * A bigint because 2^53 ns is only ~104 days; the file stores it as a decimal string.
   */
  timeNs: bigint;
  type: EventType;
  /** create, start, die, stop, kill, pause, unpause, restart, oom, rename, exec_start, pull, tag, delete, ... */
  action: string;
  /** The container, image, volume or network id. */
  actorId: string;
  /** Docker's Actor.Attributes: name, image, exitCode, signal, oldName, and the object's labels. */
  attributes: Readonly<Record<string, string>>;
}

/** What a caller hands to EventJournal.append: the journal assigns seq and time. */
export type NewEvent = Omit<BerthEvent, 'seq' | 'timeNs'>;

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}
