// Init resolves every mount target, device and symlink inside the rootfs (openat2 RESOLVE_IN_ROOT):
// symlinks an image plants towards the host land inside the container, and a ro bind is read-only.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { canRunContainers, makeContainer, readLog, run } from './monitor-harness';

const mountinfo = () => fs.readFileSync('/proc/self/mountinfo', 'utf8');
const bind = (source: string, target: string, flags: string[] = ['bind'], kind = 'dir') => ({ source, target, fstype: '', flags, data: '', kind });

describe.skipIf(!canRunContainers())('init resolves paths inside the rootfs', () => {
  let cleanup: Array<() => void> = [];
  let mountsBefore = '';
  let canary = '';
  let volume = '';
  beforeEach(() => {
    mountsBefore = mountinfo();
    // A host directory the image's symlinks aim at: it must stay empty.
    canary = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-canary-'));
    volume = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-volume-'));
    fs.writeFileSync(path.join(volume, 'hello'), 'from the volume\n');
    cleanup.push(() => fs.rmSync(canary, { recursive: true, force: true }), () => fs.rmSync(volume, { recursive: true, force: true }));
  });
  afterEach(() => {
    expect(fs.readdirSync(canary)).toEqual([]);
    for (const c of cleanup.splice(0)) c();
    expect(mountinfo()).toBe(mountsBefore);
  });
  const container = (args: string[], edit?: (s: Record<string, unknown>) => void) => {
    const c = makeContainer(args, edit);
    cleanup.push(c.remove);
    return c;
  };
  const stdout = (logPath: string) => readLog(logPath).filter((l) => l.stream === 'stdout').map((l) => l.log).join('');

  it('a bind onto an absolute symlink to a host directory lands inside the rootfs', async () => {
    const c = container(['sh', '-c', 'cat /evil/hello; ls /']);
    fs.symlinkSync(canary, path.join(c.rootfs, 'evil'));
    (c.spec.mounts as unknown[]).push(bind(volume, '/evil'));
    fs.writeFileSync(path.join(c.dir, 'spec.json'), JSON.stringify(c.spec));
    const { outcome, exit } = await run(c.dir);
    expect(outcome).toMatchObject({ type: 'started' });
    expect(exit).toMatchObject({ exitCode: 0 });
    expect(stdout(c.logPath)).toContain('from the volume\n');
    // The link's target was made inside the rootfs, under the same absolute path.
    expect(fs.statSync(path.join(c.rootfs, canary)).isDirectory()).toBe(true);
  });

  it('relative links with .. and chains of dangling links stay inside too', async () => {
    const c = container(['cat', '/a/hello']);
    fs.symlinkSync('../../../../../b', path.join(c.rootfs, 'a'));
    fs.symlinkSync(`../../..${canary}/c`, path.join(c.rootfs, 'b'));
    (c.spec.mounts as unknown[]).push(bind(volume, '/a'));
    fs.writeFileSync(path.join(c.dir, 'spec.json'), JSON.stringify(c.spec));
    const { exit } = await run(c.dir);
    expect(exit).toMatchObject({ exitCode: 0 });
    expect(stdout(c.logPath)).toBe('from the volume\n');
    expect(fs.statSync(path.join(c.rootfs, canary, 'c')).isDirectory()).toBe(true);
  });

  it('a file bind through a symlinked directory lands inside the rootfs', async () => {
    const c = container(['cat', '/conf/hello']);
    fs.symlinkSync(canary, path.join(c.rootfs, 'conf'));
    (c.spec.mounts as unknown[]).push(bind(path.join(volume, 'hello'), '/conf/hello', ['bind', 'ro'], 'file'));
    fs.writeFileSync(path.join(c.dir, 'spec.json'), JSON.stringify(c.spec));
    const { exit } = await run(c.dir);
    expect(exit).toMatchObject({ exitCode: 0 });
    expect(stdout(c.logPath)).toBe('from the volume\n');
  });

  it('a magic link (/proc/self/root) is refused, not followed to the host', async () => {
    const c = container(['true']);
    fs.symlinkSync(`/proc/self/root${canary}`, path.join(c.rootfs, 'magic'));
    (c.spec.mounts as unknown[]).push(bind(volume, '/magic'));
    fs.writeFileSync(path.join(c.dir, 'spec.json'), JSON.stringify(c.spec));
    const { outcome } = await run(c.dir);
    expect(outcome).toMatchObject({ type: 'failed', step: 'mount /magic', code: 'ELOOP' });
  });

  it('a symlinked /dev gets its tmpfs, nodes and links inside the rootfs', async () => {
    const c = container(['sh', '-c', 'ls /dev; echo x > /dev/null && echo null ok']);
    fs.rmSync(path.join(c.rootfs, 'dev'), { recursive: true, force: true });
    fs.symlinkSync(canary, path.join(c.rootfs, 'dev'));
    const { exit } = await run(c.dir);
    expect(exit).toMatchObject({ exitCode: 0 });
    expect(stdout(c.logPath)).toContain('null ok\n');
  });

  it('a ro bind refuses writes with EROFS; a rw bind writes through to the host', async () => {
    const rw = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-rw-'));
    cleanup.push(() => fs.rmSync(rw, { recursive: true, force: true }));
    const c = container(['sh', '-c', 'echo no > /ro/new || echo refused; echo yes > /rw/new && echo wrote']);
    (c.spec.mounts as unknown[]).push(bind(volume, '/ro', ['bind', 'ro']), bind(rw, '/rw', ['bind', 'rec']));
    fs.writeFileSync(path.join(c.dir, 'spec.json'), JSON.stringify(c.spec));
    const { exit } = await run(c.dir);
    expect(exit).toMatchObject({ exitCode: 0 });
    expect(stdout(c.logPath)).toBe('refused\nwrote\n');
    expect(readLog(c.logPath).filter((l) => l.stream === 'stderr').map((l) => l.log).join('')).toMatch(/Read-only file system/);
    expect(fs.existsSync(path.join(volume, 'new'))).toBe(false);
    expect(fs.readFileSync(path.join(rw, 'new'), 'utf8')).toBe('yes\n');
  });
});
