import { describe, expect, it } from 'vitest';
import { parseReference } from './reference';

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
