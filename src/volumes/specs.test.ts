import { describe, expect, it } from 'vitest';
import { EngineError } from '../errors';
import { cleanDestination, cleanVolumePaths, parseBind, parseVolumesFrom } from './specs';

describe('parseBind', () => {
  it.each([
    ['/host:/in', { source: '/host', isVolume: false, destination: '/in', mode: '' }],
    ['/host/./a/:/in/b/:ro', { source: '/host/a/', isVolume: false, destination: '/in/b', mode: 'ro' }],
    ['data:/var/lib/data:rw', { source: 'data', isVolume: true, destination: '/var/lib/data', mode: 'rw' }],
    ['my.vol_1:/x', { source: 'my.vol_1', isVolume: true, destination: '/x', mode: '' }],
    ['/h:/a/../b', { source: '/h', isVolume: false, destination: '/b', mode: '' }],
  ])('%s', (spec, want) => {
    expect(parseBind(spec)).toEqual(want);
  });

  it.each([
    [':/x', 'the source (host path or volume name) is missing'],
    ['/h', 'expected SOURCE:DESTINATION[:ro|rw]'],
    ['/h:/x:ro:z', 'expected SOURCE:DESTINATION[:ro|rw]'],
    ['/h:', 'the destination (container path) is missing'],
    ['/h:x', 'the destination "x" must be an absolute path'],
    ['/h:/', 'the destination cannot be /'],
    ['/h:/a/..', 'the destination cannot be /'],
    ['/h:/proc', 'the destination cannot be /proc or under it'],
    ['/h:/proc/sys/kernel', 'the destination cannot be /proc or under it'],
    ['/h:/sys/', 'the destination cannot be /sys or under it'],
    ['/h:/x:rx', 'bad mode "rx": expected ro or rw'],
    ['/h:/x:', 'bad mode "": expected ro or rw'],
    ['a:/x', 'is neither an absolute path nor a volume name'],
    ['./rel:/x', 'is neither an absolute path nor a volume name'],
    [`${'v'.repeat(256)}:/x`, 'is neither an absolute path nor a volume name'],
    ['a/b:/x', 'is neither an absolute path nor a volume name'],
  ])('%j is INVALID_ARGUMENT: %s', (spec, why) => {
    let err: unknown;
    try { parseBind(spec); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).kind).toBe('InvalidArgument');
    expect((err as Error).message.startsWith(`host_config.binds ${JSON.stringify(spec)}: `)).toBe(true);
    expect((err as Error).message).toContain(why);
  });

  it('keeps /procfoo and /system: only /proc and /sys themselves and below are reserved', () => {
    expect(cleanDestination('/procfoo', 'f', 'v')).toBe('/procfoo');
    expect(cleanDestination('/system/', 'f', 'v')).toBe('/system');
  });
});

describe('parseVolumesFrom', () => {
  it('reads a comma-separated list with optional modes', () => {
    expect(parseVolumesFrom('')).toEqual([]);
    expect(parseVolumesFrom('a, b:ro,c:rw')).toEqual([{ container: 'a', mode: '' }, { container: 'b', mode: 'ro' }, { container: 'c', mode: 'rw' }]);
  });

  it.each(['a:x', ':ro', 'a:ro:rw', 'a,,b'])('%j is INVALID_ARGUMENT naming config.volumes_from', (text) => {
    expect(() => parseVolumesFrom(text)).toThrow(/^config\.volumes_from "/);
  });
});

describe('cleanVolumePaths', () => {
  it('cleans and drops duplicates; relative paths and / are refused', () => {
    expect(cleanVolumePaths(['/data/', '/data', '/a//b'])).toEqual(['/data', '/a/b']);
    expect(() => cleanVolumePaths(['data'])).toThrow('config.volumes "data": the destination "data" must be an absolute path');
    expect(() => cleanVolumePaths(['/'])).toThrow('config.volumes "/": the destination cannot be /');
  });
});
