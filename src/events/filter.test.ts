// parseFilters and matches: Docker's `events --filter` keys and how their values combine.
import { describe, expect, it } from 'vitest';
import type { BerthEvent } from './event';
import { matches, parseFilters } from './filter';

const ID = 'a1b2c3d4e5f6'.padEnd(64, '0');

function event(over: Partial<BerthEvent>): BerthEvent {
  return { seq: 1, timeNs: 1n, type: 'container', action: 'start', actorId: ID, attributes: { name: 'web', image: 'busybox:latest' }, ...over };
}

describe('parseFilters', () => {
  it('maps Docker keys, "event" to action, and keeps everything after the first "=" as the value', () => {
    expect(parseFilters(['type=container', 'type=image', 'event=die', 'container=web', 'image=busybox', 'label=a=b', 'label=c'])).toEqual({
      type: ['container', 'image'],
      action: ['die'],
      container: ['web'],
      image: ['busybox'],
      label: ['a=b', 'c'],
    });
  });

  it('reads no arguments as the empty filter', () => {
    expect(parseFilters([])).toEqual({});
  });

  it.each([
    ['type', /filter "type": want key=value/],
    ['=web', /filter "=web": want key=value/],
    ['colour=red', /filter "colour=red": unknown key/],
    ['type=nope', /filter "type=nope": type must be one of/],
    ['container=', /filter "container=": empty value/],
    ['label==b', /filter "label==b": empty label key/],
    ['constructor=x', /filter "constructor=x": unknown key "constructor"/],
    ['__proto__=x', /filter "__proto__=x": unknown key "__proto__"/],
  ])('rejects %j with InvalidArgument naming the value', (arg, message) => {
    expect(() => parseFilters([arg])).toThrow(message);
    expect(() => parseFilters([arg])).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
  });

  it('names the request field it is given', () => {
    expect(() => parseFilters(['colour=red'], 'filters')).toThrow(/^filters "colour=red": unknown key "colour"/);
  });
});

describe('matches', () => {
  it('matches everything with an empty filter, or with empty value lists', () => {
    expect(matches(event({}), {})).toBe(true);
    expect(matches(event({}), { type: [], label: [] })).toBe(true);
  });

  it('ORs values of one key', () => {
    const f = parseFilters(['event=die', 'event=stop']);
    expect(matches(event({ action: 'die' }), f)).toBe(true);
    expect(matches(event({ action: 'stop' }), f)).toBe(true);
    expect(matches(event({ action: 'start' }), f)).toBe(false);
  });

  it('ANDs different keys', () => {
    const f = parseFilters(['type=container', 'event=die']);
    expect(matches(event({ action: 'die' }), f)).toBe(true);
    expect(matches(event({ action: 'start' }), f)).toBe(false);
    expect(matches(event({ type: 'image', action: 'die' }), f)).toBe(false);
  });

  it('matches an action with a Docker-style detail after ":"', () => {
    const f = parseFilters(['event=exec_start']);
    expect(matches(event({ action: 'exec_start: sh -c true' }), f)).toBe(true);
    expect(matches(event({ action: 'exec_started' }), f)).toBe(false);
  });

  it('finds a container by full id, id prefix or name attribute', () => {
    for (const value of [ID, 'a1b2c3', 'web']) expect(matches(event({}), parseFilters([`container=${value}`]))).toBe(true);
    expect(matches(event({}), parseFilters(['container=we']))).toBe(false); // a name must match whole
    expect(matches(event({}), parseFilters(['container=ffff']))).toBe(false);
    expect(matches(event({}), parseFilters(['container=db', 'container=web']))).toBe(true);
  });

  it('gives container= only container events', () => {
    expect(matches(event({ type: 'image', attributes: { name: 'web' } }), parseFilters(['container=web']))).toBe(false);
  });

  it('finds an image by id or name, and a container event by its image, with the tag optional', () => {
    const pulled = event({ type: 'image', action: 'pull', actorId: 'sha256:feed', attributes: { name: 'registry:5000/app:1.2' } });
    for (const value of ['sha256:feed', 'registry:5000/app:1.2', 'registry:5000/app']) {
      expect(matches(pulled, parseFilters([`image=${value}`]))).toBe(true);
    }
    expect(matches(pulled, parseFilters(['image=registry:5000/app:1.3']))).toBe(false);
    expect(matches(event({}), parseFilters(['image=busybox']))).toBe(true);
    expect(matches(event({}), parseFilters(['image=alpine']))).toBe(false);
  });

  it('matches label k by presence and k=v by value, and needs every label to match (Docker ANDs labels)', () => {
    const e = event({ attributes: { name: 'web', tier: 'front', team: 'a' } });
    expect(matches(e, parseFilters(['label=tier']))).toBe(true);
    expect(matches(e, parseFilters(['label=tier=front']))).toBe(true);
    expect(matches(e, parseFilters(['label=tier=back']))).toBe(false);
    expect(matches(e, parseFilters(['label=zone']))).toBe(false);
    expect(matches(e, parseFilters(['label=tier=front', 'label=team=a']))).toBe(true);
    expect(matches(e, parseFilters(['label=tier=front', 'label=team=b']))).toBe(false);
  });

  it('does not take a label from the prototype chain', () => {
    expect(matches(event({}), parseFilters(['label=toString']))).toBe(false);
  });
});
