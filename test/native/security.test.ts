// berth-monitor's "security" (issue 7), as root and as a user sees it from inside: capabilities,
// no_new_privs, a seccomp filter, masked and read-only paths, a read-only rootfs, sysctls, the
// /dev/null check against CVE-2025-31133, bad fields, and exec'd processes bound the same way.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { FRAME, FrameClient } from './frames-client';
import { canRunContainers, containerScope, readLog, run, startContainer, startMonitor } from './monitor-harness';

type Spec = Record<string, unknown>;

// Docker's default capability set: chown, dac_override, fowner, fsetid, kill, setgid, setuid,
// setpcap, net_bind_service, net_raw, sys_chroot, mknod, audit_write, setfcap.
const DOCKER_CAPS = [0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31];
const capHex = (caps: number[]) => caps.reduce((m, c) => m | (1n << BigInt(c)), 0n).toString(16).padStart(16, '0');
const ZERO = '0000000000000000';

const security = (extra: Record<string, unknown> = {}) => ({
  capabilities: DOCKER_CAPS, noNewPrivileges: false, seccomp: '', maskedPaths: [], readonlyPaths: [],
  readonlyRootfs: false, sysctls: [], ...extra,
});

// A classic BPF program as seccomp reads it: struct sock_filter { u16 code; u8 jt, jf; u32 k; },
// host byte order.
function bpf(insns: Array<[number, number, number, number]>): string {
  const buf = Buffer.alloc(insns.length * 8);
  const le = os.endianness() === 'LE';
  insns.forEach(([code, jt, jf, k], i) => {
    if (le) { buf.writeUInt16LE(code, i * 8); buf.writeUInt32LE(k >>> 0, i * 8 + 4); }
    else { buf.writeUInt16BE(code, i * 8); buf.writeUInt32BE(k >>> 0, i * 8 + 4); }
    buf[i * 8 + 2] = jt;
    buf[i * 8 + 3] = jf;
  });
  return buf.toString('base64');
}
const LD_W_ABS = 0x20, JEQ_K = 0x15, RET_K = 0x06;
const AUDIT_ARCH_X86_64 = 0xc000003e;
const RET_ALLOW = 0x7fff0000, RET_ERRNO = 0x00050000, EPERM = 1;
// x86_64: every syscall allowed except those in nrs, which fail with EPERM.
const denyFilter = (nrs: number[]) => bpf([
  [LD_W_ABS, 0, 0, 4],                                  // seccomp_data.arch
  [JEQ_K, 0, nrs.length + 1, AUDIT_ARCH_X86_64],         // another arch: allow
  [LD_W_ABS, 0, 0, 0],                                  // seccomp_data.nr
  ...nrs.map((nr, i): [number, number, number, number] => [JEQ_K, nrs.length - i, 0, nr]),
  [RET_K, 0, 0, RET_ALLOW],
  [RET_K, 0, 0, RET_ERRNO | EPERM],
]);
const NR = { mkdir: 83, mkdirat: 258, setgroups: 116 };
const isX64 = process.arch === 'x64';

/** "Name:\tvalue" lines (as /proc/self/status) into a map. */
const fields = (text: string) => Object.fromEntries(
  text.split('\n').filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
const STATUS = "grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status";

describe.skipIf(!canRunContainers())('berth-monitor security', () => {
  const { container, cleanup } = containerScope();
  /** Runs sh -c script to its exit; stdout and stderr as the log has them. */
  const runScript = async (script: string, edit?: (s: Spec) => void) => {
    const c = container(['sh', '-c', script], edit);
    const { outcome, exit } = await run(c.dir);
    expect(outcome).toMatchObject({ type: 'started' });
    const lines = readLog(c.logPath);
    const out = lines.filter((l) => l.stream === 'stdout').map((l) => l.log).join('');
    const err = lines.filter((l) => l.stream === 'stderr').map((l) => l.log).join('');
    return { c, exit, out, err };
  };
  const failedStart = async (edit: (s: Spec) => void) => {
    const c = container(['true'], edit);
    const { outcome, exit } = await run(c.dir);
    expect(exit).toBeNull();
    return { c, outcome };
  };

  describe('capabilities', () => {
    it("Docker's default list is 00000000a80425fb", () => {
      expect(capHex(DOCKER_CAPS)).toBe('00000000a80425fb');
    });

    it('uid 0 has exactly the list in its bounding, permitted and effective sets; inheritable and ambient are empty', async () => {
      const { out } = await runScript(STATUS, (s) => { s.security = security(); });
      expect(fields(out)).toEqual({
        CapInh: ZERO, CapPrm: capHex(DOCKER_CAPS), CapEff: capHex(DOCKER_CAPS), CapBnd: capHex(DOCKER_CAPS),
        CapAmb: ZERO, NoNewPrivs: '0', Seccomp: '0',
      });
    });

    it('a capability left out is gone: without CAP_SYS_ADMIN sethostname is refused', async () => {
      const { out, err } = await runScript('hostname other || echo refused', (s) => { s.security = security(); });
      expect(out).toBe('refused\n');
      expect(err).toContain('Operation not permitted');
    });

    it('uid 1000 keeps the bounding set but has no permitted or effective capabilities', async () => {
      const { out } = await runScript(`id -u; ${STATUS}`, (s) => {
        s.security = security();
        s.user = { uid: 1000, gid: 1000, additionalGids: [] };
      });
      expect(out.split('\n')[0]).toBe('1000');
      expect(fields(out)).toMatchObject({ CapInh: ZERO, CapPrm: ZERO, CapEff: ZERO, CapBnd: capHex(DOCKER_CAPS), CapAmb: ZERO });
    });

    it('without security nothing is restricted: the bounding set is the host one', async () => {
      const host = fields(fs.readFileSync('/proc/self/status', 'utf8'));
      const { out } = await runScript(STATUS);
      expect(fields(out)).toMatchObject({ CapBnd: host.CapBnd, CapEff: host.CapBnd, NoNewPrivs: '0', Seccomp: '0' });
    });

    it('noNewPrivileges shows as NoNewPrivs: 1', async () => {
      const { out } = await runScript(STATUS, (s) => { s.security = security({ noNewPrivileges: true }); });
      expect(fields(out).NoNewPrivs).toBe('1');
    });
  });

  describe.skipIf(!isX64)('seccomp', () => {
    it('a filter denying mkdir and mkdirat makes mkdir fail with EPERM; Seccomp: 2', async () => {
      const { out, err } = await runScript(`mkdir /made || echo denied; ${STATUS}`, (s) => {
        s.security = security({ seccomp: denyFilter([NR.mkdir, NR.mkdirat]) });
      });
      expect(out.split('\n')[0]).toBe('denied');
      expect(err).toContain('Operation not permitted');
      expect(fields(out).Seccomp).toBe('2');
    });

    it('the filter already judges the credential syscalls: denying setgroups fails step setgroups', async () => {
      const { outcome } = await failedStart((s) => { s.security = security({ seccomp: denyFilter([NR.setgroups]) }); });
      expect(outcome).toMatchObject({ type: 'failed', step: 'setgroups', code: 'EPERM' });
    });

    it('a filter the kernel rejects fails step seccomp with EINVAL (named right after every per-item step)', async () => {
      const { outcome } = await failedStart((s) => {
        s.security = security({
          seccomp: bpf([[0xffff, 0, 0, 0]]), sysctls: [{ key: 'kernel.shm_rmid_forced', value: '1' }],
          maskedPaths: ['/proc/keys', '/sys/firmware'], readonlyPaths: ['/proc/sys'], readonlyRootfs: true,
        });
      });
      expect(outcome).toMatchObject({ type: 'failed', step: 'seccomp', code: 'EINVAL' });
    });
  });

  describe('masked paths', () => {
    it('a masked file is the null device (1:3, empty), a masked directory an empty read-only tmpfs; missing ones are skipped', async () => {
      const masked = ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/acpi', '/sys/firmware', '/no/such/path'];
      const script = masked.map((p) => `if [ -d ${p} ]; then echo "${p} dir $(ls -A ${p} | wc -l)"; `
        + `touch ${p}/x 2>/dev/null && echo "${p} writable"; `
        + `elif [ -e ${p} ]; then echo "${p} $(stat -c '%F %t:%T' ${p}) $(cat ${p} | wc -c)"; else echo "${p} missing"; fi`).join('; ');
      const { out } = await runScript(script, (s) => { s.security = security({ maskedPaths: masked }); });
      // What the host has is what the container's procfs and sysfs have.
      const want = masked.map((p) => {
        if (!fs.existsSync(p)) return `${p} missing`;
        return fs.statSync(p).isDirectory() ? `${p} dir 0` : `${p} character special file 1:3 0`;
      });
      expect(out.trim().split('\n')).toEqual(want);
      // At least one of each kind was really masked on this host.
      expect(want.some((l) => l.endsWith(' 1:3 0'))).toBe(true);
      expect(want.some((l) => l.endsWith(' dir 0'))).toBe(true);
    });

    it('the masking null device must be the real one: a /dev/null of another kind fails with ENODEV', async () => {
      type Device = Record<string, unknown>;
      const cases: Array<(s: Spec) => void> = [
        // A node with other numbers (zero's) at /dev/null.
        (s) => { (s.devices as Device[])[0].minor = 5; },
        // A symlink, even to a real null device elsewhere: the last component is never followed.
        (s) => {
          s.devices = [{ ...(s.devices as Device[])[0], path: '/dev/realnull' }];
          s.symlinks = [{ target: '/dev/realnull', path: '/dev/null' }];
        },
      ];
      for (const edit of cases) {
        const { outcome } = await failedStart((s) => {
          edit(s);
          s.security = security({ maskedPaths: ['/proc/keys'] });
        });
        expect(outcome).toMatchObject({ type: 'failed', step: 'mask /proc/keys', code: 'ENODEV' });
      }
    });

    describe('CVE-2025-31133: /dev/null swapped for a symlink to a host file', () => {
      // /dev is a bind of a host directory whose `null` is a symlink to a host canary. An
      // implementation that mounts "<rootfs>/dev/null" follows it and binds the canary over the
      // masked path, where the container could read and write it.
      const withHostDev = (keepNullDevice: boolean) => {
        const hostDev = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-hostdev-'));
        const canary = path.join(hostDev, '..', `${path.basename(hostDev)}-canary`);
        fs.writeFileSync(canary, 'canary\n');
        fs.symlinkSync(canary, path.join(hostDev, 'null'));
        cleanup.push(() => { fs.rmSync(hostDev, { recursive: true, force: true }); fs.rmSync(canary, { force: true }); });
        const edit = (s: Spec) => {
          const mounts = s.mounts as Array<Record<string, unknown>>;
          const i = mounts.findIndex((m) => m.target === '/dev');
          mounts[i] = { source: hostDev, target: '/dev', fstype: '', flags: ['bind', 'rec'], data: '', kind: 'dir' };
          if (!keepNullDevice) s.devices = (s.devices as Array<Record<string, unknown>>).filter((d) => d.path !== '/dev/null');
          s.security = security({ maskedPaths: ['/proc/keys'] });
        };
        return { hostDev, canary, edit };
      };

      it('is refused: step mask fails with ENODEV and the canary is untouched', async () => {
        const { hostDev, canary, edit } = withHostDev(false);
        const { outcome } = await failedStart(edit);
        expect(outcome).toMatchObject({ type: 'failed', step: 'mask /proc/keys', code: 'ENODEV' });
        expect(fs.readFileSync(canary, 'utf8')).toBe('canary\n');
        expect(fs.lstatSync(path.join(hostDev, 'null')).isSymbolicLink()).toBe(true);
      });

      it('after the device step replaced the symlink, the mask is the real null device and writes reach nothing', async () => {
        const { canary, edit } = withHostDev(true);
        const { exit, out } = await runScript("stat -c '%F %t:%T' /proc/keys; echo pwned > /proc/keys; cat /proc/keys | wc -c", edit);
        expect(exit).toMatchObject({ exitCode: 0 });
        expect(out).toBe('character special file 1:3\n0\n');
        expect(fs.readFileSync(canary, 'utf8')).toBe('canary\n');
      });
    });
  });

  describe('read-only paths, rootfs and sysctls', () => {
    it('a read-only /proc/sys refuses writes (EROFS) and is mounted ro,nosuid,nodev,noexec', async () => {
      const script = "echo 1 > /proc/sys/kernel/shm_rmid_forced || echo refused; grep ' /proc/sys ' /proc/self/mountinfo";
      const { out, err } = await runScript(script, (s) => {
        s.security = security({ readonlyPaths: ['/proc/sys', '/proc/sysrq-trigger', '/proc/bus', '/proc/irq', '/no/such/path'] });
      });
      expect(out.split('\n')[0]).toBe('refused');
      expect(err).toContain('Read-only file system');
      const opts = out.split('\n')[1].split(' ')[5].split(',');
      expect(opts).toEqual(expect.arrayContaining(['ro', 'nosuid', 'nodev', 'noexec']));
    });

    it('a read-only file and a symlinked directory (followed inside the rootfs) refuse writes; the rest stays writable', async () => {
      const script = 'echo x > /data.txt || echo file-refused; touch /data/new || echo dir-refused; '
        + 'touch /other && echo rootfs-writable; cat /data.txt';
      const { out, err } = await runScript(script, (s) => {
        const rootfs = s.rootfs as string;
        fs.writeFileSync(path.join(rootfs, 'data.txt'), 'original\n');
        fs.mkdirSync(path.join(rootfs, 'data'));
        fs.symlinkSync('/data', path.join(rootfs, 'link'));
        s.security = security({ readonlyPaths: ['/data.txt', '/link'] });
      });
      expect(out).toBe('file-refused\ndir-refused\nrootfs-writable\noriginal\n');
      expect(err.match(/Read-only file system/g)).toHaveLength(2);
    });

    it('a read-only rootfs refuses writes while /dev/shm stays writable; a missing cwd is still made', async () => {
      const script = 'pwd; touch /x || echo refused; echo ok > /dev/shm/t && cat /dev/shm/t';
      const { c, out, err } = await runScript(script, (s) => {
        s.cwd = '/work';
        s.security = security({ readonlyRootfs: true });
      });
      expect(out).toBe('/work\nrefused\nok\n');
      expect(err).toContain('Read-only file system');
      // Only the container's bind of it was read-only.
      fs.writeFileSync(path.join(c.rootfs, 'y'), 'host can write\n');
    });

    it('sysctls are written inside (ipc and net namespaces) before /proc/sys turns read-only; the host keeps its values', async () => {
      const hostShm = fs.readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8');
      const hostFwd = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
      const fwd = hostFwd.trim() === '1' ? '0' : '1';
      const { out } = await runScript('cat /proc/sys/kernel/shm_rmid_forced /proc/sys/net/ipv4/ip_forward', (s) => {
        s.security = security({
          sysctls: [{ key: 'kernel.shm_rmid_forced', value: hostShm.trim() === '1' ? '0' : '1' }, { key: 'net.ipv4.ip_forward', value: fwd }],
          readonlyPaths: ['/proc/sys'],
        });
      });
      expect(out).toBe(`${hostShm.trim() === '1' ? '0' : '1'}\n${fwd}\n`);
      expect(fs.readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8')).toBe(hostShm);
      expect(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8')).toBe(hostFwd);
    });

    it('a sysctl the kernel does not have fails its step with ENOENT', async () => {
      const { outcome } = await failedStart((s) => { s.security = security({ sysctls: [{ key: 'kernel.no_such_knob', value: '1' }] }); });
      expect(outcome).toMatchObject({ type: 'failed', step: 'sysctl kernel.no_such_knob', code: 'ENOENT' });
    });
  });

  describe('bad fields are read spec EINVAL naming the field', () => {
    const lastCap = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    const cases: Array<[string, unknown, string]> = [
      ['not an object', 'yes', 'security: expected an object'],
      ['no capabilities', { ...security(), capabilities: undefined }, 'security.capabilities'],
      ['a capability above 63', security({ capabilities: [64] }), 'security.capabilities'],
      ['a capability above cap_last_cap', security({ capabilities: [lastCap + 1] }), 'above cap_last_cap'],
      ['a negative capability', security({ capabilities: [-1] }), 'security.capabilities'],
      ['noNewPrivileges not a boolean', security({ noNewPrivileges: 'true' }), 'security.noNewPrivileges'],
      ['seccomp not base64', security({ seccomp: 'not base64!' }), 'security.seccomp: expected base64'],
      ['seccomp not whole instructions', security({ seccomp: Buffer.alloc(12).toString('base64') }), 'security.seccomp'],
      ['seccomp over 4096 instructions', security({ seccomp: Buffer.alloc(4097 * 8).toString('base64') }), 'security.seccomp'],
      ['a relative masked path', security({ maskedPaths: ['proc/kcore'] }), 'security.maskedPaths[0]'],
      ['a readonly path not a string', security({ readonlyPaths: [3] }), 'security.readonlyPaths'],
      ['a sysctl key with a slash', security({ sysctls: [{ key: 'kernel/shm_rmid_forced', value: '1' }] }), 'security.sysctls[0].key'],
      ['a sysctl key with ..', security({ sysctls: [{ key: 'net..ipv4', value: '1' }] }), 'security.sysctls[0].key'],
      ['a sysctl key that is ..', security({ sysctls: [{ key: '..', value: '1' }] }), 'security.sysctls[0].key'],
      ['an empty sysctl key', security({ sysctls: [{ key: '', value: '1' }] }), 'security.sysctls[0].key'],
      ['a sysctl without value', security({ sysctls: [{ key: 'kernel.domainname' }] }), 'security.sysctls[0].value'],
      ['sysctls not an array', security({ sysctls: {} }), 'security.sysctls'],
    ];
    it.each(cases)('%s', async (_name, value, field) => {
      const c = container(['true'], (s) => { s.security = value; });
      const ch = startMonitor(c.dir);
      const msg = await ch.next();
      expect(msg).toMatchObject({ type: 'failed', step: 'read spec', code: 'EINVAL', errno: 22 });
      expect(String(msg!.message)).toContain(`read spec: spec.json: `);
      expect(String(msg!.message)).toContain(field);
      await ch.closed;
    });
  });

  describe('exec', () => {
    it("an exec'd process gets the container's capabilities, no_new_privs and seccomp filter", async () => {
      const c = container(['sleep', '100'], (s) => {
        s.security = security({ noNewPrivileges: true, seccomp: isX64 ? denyFilter([NR.mkdir, NR.mkdirat]) : '' });
      });
      const { ch } = await startContainer(c.dir);
      const exec = async (user: Record<string, unknown>, script: string) => {
        const x = await FrameClient.connect(c.dir);
        cleanup.push(() => x.close());
        const spec = { args: ['sh', '-c', script], env: ['PATH=/bin'], cwd: '/', user, tty: false, stdin: false };
        expect(await x.command(`exec ${JSON.stringify(spec)}`)).toMatchObject({ type: 'exec-started' });
        expect(await x.exited()).toEqual({ exitCode: 0, signal: 0 });
        return { out: x.output(FRAME.stdout).toString(), err: x.output(FRAME.stderr).toString() };
      };
      const root = await exec({ uid: 0, gid: 0, additionalGids: [] }, `mkdir /made || echo denied; ${STATUS}`);
      expect(fields(root.out)).toMatchObject({
        CapInh: ZERO, CapPrm: capHex(DOCKER_CAPS), CapEff: capHex(DOCKER_CAPS), CapBnd: capHex(DOCKER_CAPS),
        CapAmb: ZERO, NoNewPrivs: '1', Seccomp: isX64 ? '2' : '0',
      });
      if (isX64) expect(root.out.split('\n')[0]).toBe('denied');
      const user = await exec({ uid: 1000, gid: 1000, additionalGids: [] }, STATUS);
      expect(fields(user.out)).toMatchObject({ CapPrm: ZERO, CapEff: ZERO, CapBnd: capHex(DOCKER_CAPS), NoNewPrivs: '1' });
      ch.send('kill 9');
      expect(await ch.next()).toEqual({ type: 'ok' });
      expect(await ch.next()).toMatchObject({ type: 'exit', signal: 9 });
      await ch.closed;
    });
  });
});
