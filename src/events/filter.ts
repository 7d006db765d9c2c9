// `docker events --filter` for the journal: parse "key=value" arguments, then test events against them.
// Values of one key OR and different keys AND, as in Docker, except label, where Docker ANDs every value.
import { invalidArgument } from '../errors';
import { EVENT_TYPES, isEventType, type BerthEvent } from './event';

export interface EventFilter {
  /** Event types (container, image, ...). */
  type?: string[];
  /** Actions; Docker's key is "event". "exec_start" also matches Docker-style "exec_start: <cmd>". */
  action?: string[];
  /** Container events whose actor id starts with the value or whose "name" attribute equals it. */
  container?: string[];
  /** Image events by id or "name" attribute, other events by "image" attribute; a tag is optional. */
  image?: string[];
  /** "k" (attribute present) or "k=v" (attribute equals v); every value must match (Docker's MatchKVList). */
  label?: string[];
}

const KEYS: Record<string, keyof EventFilter> = {
  type: 'type',
  event: 'action',
  container: 'container',
  image: 'image',
  label: 'label',
};

/** Parses Docker's filter arguments ("type=container", "event=die", "label=a=b"); a bad one is InvalidArgument. */
export function parseFilters(args: string[], field = 'filter'): EventFilter {
  const filter: EventFilter = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw invalidArgument(field, arg, 'want key=value');
    const name = arg.slice(0, eq);
    const key = Object.hasOwn(KEYS, name) ? KEYS[name] : undefined;
    if (!key) throw invalidArgument(field, arg, `unknown key ${JSON.stringify(name)}; want one of ${Object.keys(KEYS).join(', ')}`);
    const value = arg.slice(eq + 1);
    if (!value) throw invalidArgument(field, arg, 'empty value');
    if (key === 'type' && !isEventType(value)) throw invalidArgument(field, arg, `type must be one of ${EVENT_TYPES.join(', ')}`);
    if (key === 'label' && value.startsWith('=')) throw invalidArgument(field, arg, 'empty label key');
    (filter[key] ??= []).push(value);
  }
  return filter;
}

export function matches(e: BerthEvent, f: EventFilter): boolean {
  if (given(f.type) && !f.type.includes(e.type)) return false;
  if (given(f.action) && !f.action.some((a) => e.action === a || e.action.startsWith(`${a}:`))) return false;
  if (given(f.container) && !matchesContainer(e, f.container)) return false;
  if (given(f.image) && !matchesImage(e, f.image)) return false;
  if (given(f.label) && !f.label.every((l) => matchesLabel(e.attributes, l))) return false;
  return true;
}

function given(values: string[] | undefined): values is string[] {
  return values !== undefined && values.length > 0;
}

function matchesContainer(e: BerthEvent, wanted: string[]): boolean {
  if (e.type !== 'container') return false;
  const name = e.attributes.name;
  return wanted.some((w) => e.actorId.startsWith(w) || (name !== undefined && name === w));
}

/**
 * Docker's matchImage: an image event is named by its "name" attribute, any other event by its "image". The filter
 * "app" matches "app:1.2", but "app:1.2" does not match "app:1.3".
 */
function matchesImage(e: BerthEvent, wanted: string[]): boolean {
  const named = e.type === 'image' ? e.attributes.name : e.attributes.image;
  const candidates = [e.actorId];
  if (named !== undefined) candidates.push(named, withoutTag(named));
  return wanted.some((w) => candidates.includes(w));
}

/** "registry:5000/app:1.2" -> "registry:5000/app"; a digest ("@sha256:...") goes too. */
function withoutTag(ref: string): string {
  const at = ref.indexOf('@');
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

function matchesLabel(attributes: Readonly<Record<string, string>>, label: string): boolean {
  const eq = label.indexOf('=');
  const key = eq >= 0 ? label.slice(0, eq) : label;
  if (!Object.hasOwn(attributes, key)) return false;
  return eq < 0 || attributes[key] === label.slice(eq + 1);
}
