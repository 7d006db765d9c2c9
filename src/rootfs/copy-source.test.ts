// Container path rules and symlink resolution in the container's scope, with a fake filesystem of links.
import { describe, expect, it } from 'vitest';
import { containerPath, followSymlinksInScope } from './copy-source';

describe('containerPath', () => {
  it.each([
    ['/etc/passwd', '/etc/passwd'],
    ['etc/passwd', '/etc/passwd'],
    ['/a/../../b', '/b'],
    ['/data/', '/data/'],
    ['/data//', '/data/'],
    ['/data/.', '/data/.'],
    ['data/./.', '/data/.'],
    ['.', '/.'],
    ['/', '/'],
    ['/.', '/.'],
  ])('%s is %s', (given, want) => {
    expect(containerPath(given)).toBe(want);
  });

  it('refuses an empty path and NUL', () => {
    expect(() => containerPath('')).toThrow(/^path "": a path in the container is required/);
    expect(() => containerPath('/a\0b', 'header.path')).toThrow(/^header.path /);
  });

  it('refuses a path past PATH_MAX and a name past NAME_MAX, before any syscall would', () => {
    expect(() => containerPath(`/${'p'.repeat(4096)}`)).toThrow(/^path "\/p+\.\.\. \(4099 characters\): longer than 4096 bytes/);
    expect(() => containerPath(`/etc/${'n'.repeat(256)}`)).toThrow(/NAME_MAX/);
    expect(containerPath(`/etc/${'n'.repeat(255)}`)).toBe(`/etc/${'n'.repeat(255)}`);
  });
});

describe('followSymlinksInScope', () => {
  const links: Record<string, string> = {
    '/abs': '/etc',
    '/rel': 'etc/sub',
    '/etc/sub/up': '../../../../..',
    '/loop': '/loop',
    '/dangling': '/nowhere/file',
    '/etc/chain': '/abs/passwd',
  };
  const readlink = async (p: string) => links[p];

  it.each([
    ['/abs/passwd', '/etc/passwd'],
    ['/rel/x', '/etc/sub/x'],
    ['/etc/sub/up', '/'],
    ['/etc/sub/up/etc/shadow', '/etc/shadow'],
    ['/dangling', '/nowhere/file'],
    ['/etc/chain', '/etc/passwd'],
    ['/plain/../abs', '/etc'],
  ])('%s leads to %s, never above "/"', async (given, want) => {
    expect(await followSymlinksInScope(given, readlink)).toBe(want);
  });

  it('gives up on a loop as INVALID_ARGUMENT', async () => {
    await expect(followSymlinksInScope('/loop', readlink)).rejects.toMatchObject({ kind: 'InvalidArgument', message: 'path "/loop": too many levels of symbolic links' });
  });
});
