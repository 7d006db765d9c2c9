import { describe, expect, it } from 'vitest';
import { JsonSyntaxError, parseJson } from './json-u64';

describe('parseJson', () => {
  it.each([
    '{}', '[]', '0', '-0', '1.5', '-2.5e-3', '1E3', '"x"', 'true', 'false', 'null', ' [1, "a", {"b": [null, {}]}] ',
    '"\\u00e9\\n\\"\\\\\\/"', '{"a":1,"a":2}', '9007199254740991', '-9007199254740991', '\t\r\n{ "k" : [ ] }\n',
  ])('reads %s as JSON.parse does', (text) => {
    expect(parseJson(text)).toEqual(JSON.parse(text));
  });

  it('keeps integers beyond 2^53 exact as bigints', () => {
    expect(parseJson('[9007199254740993, 18446744073709551615, -9007199254740993, 12345678901234567890123]')).toEqual([
      9007199254740993n, 18446744073709551615n, -9007199254740993n, 12345678901234567890123n,
    ]);
    expect(parseJson('9007199254740992')).toBe(9007199254740992n);
    expect(parseJson('1e20')).toBe(1e20);
  });

  it('reads "__proto__" as an ordinary field', () => {
    const value = parseJson('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['', 0], ['{', 1], ['[1,]', 3], ['[1 2]', 3], ['{"a" 1}', 5], ['{a:1}', 1], ['01', 1], ['-', 0], ['1.', 1],
    ['"abc', 0], ['"a\u0001"', 0], ['"\\x"', 0], ["'a'", 0], ['nul', 0], ['{"a":1}}', 7], ['[1] [2]', 4],
  ])('refuses %j at offset %i', (text, offset) => {
    expect(() => parseJson(text)).toThrow(JsonSyntaxError);
    try {
      parseJson(text);
    } catch (err) {
      expect((err as JsonSyntaxError).offset).toBe(offset);
    }
  });

  it('refuses nesting deep enough to threaten the stack', () => {
    expect(() => parseJson('['.repeat(10_000))).toThrow(/nested deeper than 256/);
    expect(parseJson('['.repeat(200) + ']'.repeat(200))).toBeInstanceOf(Array);
  });
});
