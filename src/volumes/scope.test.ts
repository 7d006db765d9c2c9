import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveInScope } from './scope';

describe('resolveInScope', () => {
  let root = '';
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-scope-'));
    fs.mkdirSync(path.join(root, 'real/sub'), { recursive: true });
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('follows links as if the root were /: absolute, relative, and .. past the top', async () => {
    fs.symlinkSync('/real', path.join(root, 'abs'));
    fs.symlinkSync('real/sub', path.join(root, 'rel'));
    fs.symlinkSync('../../../../real', path.join(root, 'up'));
    fs.symlinkSync('/etc/passwd', path.join(root, 'host'));
    expect(await resolveInScope(root, '/abs/sub')).toBe(path.join(root, 'real/sub'));
    expect(await resolveInScope(root, '/rel')).toBe(path.join(root, 'real/sub'));
    expect(await resolveInScope(root, '/up/sub/x')).toBe(path.join(root, 'real/sub/x'));
    expect(await resolveInScope(root, '/../../host')).toBe(path.join(root, 'etc/passwd'));
  });

  it('takes missing parts as written and refuses a loop', async () => {
    expect(await resolveInScope(root, '/no/such/../thing')).toBe(path.join(root, 'no/thing'));
    fs.symlinkSync('b', path.join(root, 'a'));
    fs.symlinkSync('a', path.join(root, 'b'));
    await expect(resolveInScope(root, '/a')).rejects.toThrow('too many levels of symbolic links');
  });
});
