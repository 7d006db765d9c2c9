import { describe, expect, it } from 'vitest';
import { checkImageRef, parseReference, parseRemoteReference } from './reference';

describe('parseReference', () => {
  it.each([
    ['busybox', 'busybox', 'latest'],
    ['busybox:1.36', 'busybox', '1.36'],
    ['library/busybox:v1', 'library/busybox', 'v1'],
    ['localhost:5000/team/app', 'localhost:5000/team/app', 'latest'],
    ['localhost:5000/app:dev_1', 'localhost:5000/app', 'dev_1'],
  ])('%s is %s with tag %s', (text, repo, tag) => {
    expect(parseReference(text, 'reference')).toEqual({ repo, tag });
  });

  it.each(['', 'Busybox', 'bad name', 'app:', 'app:-x', '../x', 'a'.repeat(64).replace(/a/g, 'f')])('%j is refused with the field named', (text) => {
    expect(() => parseReference(text, 'reference')).toThrow(/^reference /);
  });
});

describe('parseRemoteReference', () => {
  const hex = 'ab'.repeat(32);
  it.each([
    ['busybox', { domain: 'docker.io', path: 'library/busybox', tag: 'latest', digest: '', name: 'busybox' }],
    ['docker.io/library/busybox:1.36', { domain: 'docker.io', path: 'library/busybox', tag: '1.36', digest: '', name: 'busybox' }],
    ['index.docker.io/team/app', { domain: 'docker.io', path: 'team/app', tag: 'latest', digest: '', name: 'team/app' }],
    ['127.0.0.1:5000/busybox', { domain: '127.0.0.1:5000', path: 'busybox', tag: 'latest', digest: '', name: '127.0.0.1:5000/busybox' }],
    ['localhost/a/b:v2', { domain: 'localhost', path: 'a/b', tag: 'v2', digest: '', name: 'localhost/a/b' }],
    ['ghcr.io/org/img:1', { domain: 'ghcr.io', path: 'org/img', tag: '1', digest: '', name: 'ghcr.io/org/img' }],
    [`reg.example:443/app@sha256:${hex}`, { domain: 'reg.example:443', path: 'app', tag: '', digest: `sha256:${hex}`, name: 'reg.example:443/app' }],
    [`app:v1@sha256:${hex}`, { domain: 'docker.io', path: 'library/app', tag: 'v1', digest: `sha256:${hex}`, name: 'app' }],
    ['[::1]:5000/x', { domain: '[::1]:5000', path: 'x', tag: 'latest', digest: '', name: '[::1]:5000/x' }],
  ])('%s', (text, want) => {
    expect(parseRemoteReference(text, 'reference')).toEqual(want);
  });

  it.each(['', 'UPPER', 'app@sha256:short', `app@md5:${hex}`, 'host:99x/app', 'a/../b', 'app:', 'bad_host_/x', 'reg.io/App'])('%j is INVALID_ARGUMENT naming the field', (text) => {
    expect(() => parseRemoteReference(text, 'reference')).toThrow(/^reference /);
  });
});

describe('checkImageRef', () => {
  const hex = 'ab'.repeat(32);
  it.each(['busybox', 'busybox:1.36', 'abc', 'sha256:abc', `sha256:${hex}`, hex, 'localhost:5000/team/app:dev', `app@sha256:${hex}`, '[::1]:5000/x:1'])('%j has the shape of an image reference', (text) => {
    expect(() => checkImageRef(text, 'image')).not.toThrow();
  });

  it.each<[string, RegExp]>([
    ['', /^image "": an image reference is required/],
    ['a\0b', /an image reference is required/],
    ['BusyBox', /^image "BusyBox": not a valid repository name/],
    ['bad chars!', /^image "bad chars!"/],
    ['../x', /^image "\.\.\/x"/],
    ['sha256:xyz', /^image "sha256:xyz": an image id is/],
    [`sha256:${hex}0`, /^image "sha256:/],
    [`busybox:${'t'.repeat(129)}`, /not a valid tag/],
    ['x'.repeat(300), /^image "x+": not a valid repository name/],
    ['busybox@sha256:123', /the digest must be sha256: and 64 lower-case hex digits/],
  ])('%j is INVALID_ARGUMENT naming the field', (text, message) => {
    expect(() => checkImageRef(text, 'image')).toThrow(message);
  });
});
