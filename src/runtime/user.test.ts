import { describe, expect, it } from 'vitest';
import { resolveUser } from './user';

const passwd = 'root:x:0:0:root:/root:/bin/sh\nberth:x:1000:1000::/home/berth:/bin/sh\nbroken line\n';
const group = 'root:x:0:\nwheel:x:10:berth,other\nberth:x:1000:\nstaff:x:50:\n';

describe('resolveUser', () => {
  it.each([
    ['', { uid: 0, gid: 0, additionalGids: [], home: '/root' }],
    ['berth', { uid: 1000, gid: 1000, additionalGids: [10], home: '/home/berth' }],
    ['1000', { uid: 1000, gid: 1000, additionalGids: [10], home: '/home/berth' }],
    ['berth:staff', { uid: 1000, gid: 50, additionalGids: [], home: '/home/berth' }],
    ['4242:4343', { uid: 4242, gid: 4343, additionalGids: [], home: '/' }],
    ['4242', { uid: 4242, gid: 0, additionalGids: [], home: '/' }],
  ])('%j resolves', (spec, want) => {
    expect(resolveUser(spec, passwd, group)).toEqual(want);
  });

  it.each([
    ['nobody', /no user "nobody"/],
    ['berth:nogroup', /no group "nogroup"/],
    ['99999999999', /out of range/],
  ])('%j is InvalidArgument naming config.user', (spec, why) => {
    expect(() => resolveUser(spec, passwd, group)).toThrow(why);
    expect(() => resolveUser(spec, passwd, group)).toThrow(/^config\.user /);
  });
});
