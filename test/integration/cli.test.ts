// The berth CLI against a real daemon, as a user types it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, destroyDaemon, startDaemon, type TestDaemon } from '../helpers/daemon';
import { BUSYBOX_TAR, IS_ROOT } from '../helpers/paths';

describe.skipIf(!IS_ROOT)('the berth CLI', () => {
  let d: TestDaemon;

  beforeAll(async () => {
    d = await startDaemon();
  });

  afterAll(() => destroyDaemon(d));

  it('imports busybox and lists it', () => {
    const imported = cli(d, ['import', BUSYBOX_TAR, 'busybox']);
    expect(imported.status).toBe(0);
    expect(imported.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const images = cli(d, ['images']);
    expect(images.stdout).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\nbusybox\s+latest\s+[0-9a-f]{12}\s/);
  });

  it('run --rm prints the output and leaves nothing', () => {
    const r = cli(d, ['run', '--rm', 'busybox', 'echo', 'hello']);
    expect(r).toMatchObject({ status: 0, stdout: 'hello\n' });
    expect(cli(d, ['ps', '-a', '-q']).stdout).toBe('');
  });

  it('run exits with the container exit code and passes -e -w -u -h', () => {
    const r = cli(d, ['run', '--rm', '-e', 'X=1', '-w', '/tmp', '-u', 'nobody', '-h', 'box', 'busybox', 'sh', '-c', 'echo $X $(pwd) $(id -un) $(hostname); exit 4']);
    expect(r).toMatchObject({ status: 4, stdout: '1 /tmp nobody box\n' });
  });

  it('create, start, wait, logs, ps, inspect and rm work on a named container', () => {
    const id = cli(d, ['create', '--name', 'named', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 2']).stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(cli(d, ['start', 'named'])).toMatchObject({ status: 0, stdout: 'named\n' });
    expect(cli(d, ['wait', 'named'])).toMatchObject({ status: 0, stdout: '2\n' });
    const logs = cli(d, ['logs', 'named']);
    expect(logs.stdout).toBe('out\n');
    expect(logs.stderr).toBe('err\n');
    expect(cli(d, ['logs', '-t', 'named']).stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z out\n$/);
    expect(cli(d, ['ps', '-a']).stdout).toMatch(new RegExp(`${id.slice(0, 12)}\\s+busybox\\s+"sh -c echo out; ech…"\\s+.*Exited \\(2\\).*named`));
    const inspected = JSON.parse(cli(d, ['inspect', 'named']).stdout);
    expect(inspected[0]).toMatchObject({ Id: id, Name: '/named', State: { Status: 'exited', Running: false, ExitCode: 2, Pid: 0 }, Config: { Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 2'] } });
    expect(JSON.parse(cli(d, ['inspect', 'busybox']).stdout)[0]).toMatchObject({ RepoTags: ['busybox:latest'], Os: 'linux' });
    expect(cli(d, ['rm', 'named'])).toMatchObject({ status: 0, stdout: 'named\n' });
  });

  it('prints one clear line and exits non-zero on errors', () => {
    const missing = cli(d, ['rm', 'no-such-container']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('berth: container no-such-container: not found\n');
    const bad = cli(d, ['run', '--rm', 'busybox', '/nonexistent']);
    expect(bad.status).toBe(125);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    // The daemon removed it: it never ran, so no exit would have.
    expect(cli(d, ['ps', '-a', '-q']).stdout).toBe('');
    expect(cli(d, ['frobnicate']).status).toBe(2);
    const down = cli({ ...d, host: 'unix:///nonexistent.sock' }, ['ps']);
    expect(down.status).toBe(1);
    expect(down.stderr).toMatch(/^berth: cannot reach berthd/);
  });
});
