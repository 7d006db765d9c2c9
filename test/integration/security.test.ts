// Default hardening, seen from inside real containers: capabilities, seccomp, masked and read-only paths,
// the device cgroup, /dev/shm, no-new-privileges, a read-only rootfs, sysctls, and what --privileged lifts.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/client';
import { ContainerLogsRequest, HostConfig, type ListContainersResponse } from '../../src/gen/berth/v1/containers';
import { cli, config, destroyDaemon, importBusybox, mountsUnder, startDaemon, type TestDaemon } from '../helpers/daemon';
import { IS_ROOT } from '../helpers/paths';

/** Docker's default capability set, as /proc/<pid>/status shows it. */
const DEFAULT_CAPS = '00000000a80425fb';

function statusField(text: string, field: string): string {
  const line = text.split('\n').find((l) => l.startsWith(`${field}:`));
  return line ? line.slice(field.length + 1).trim() : '';
}

/** Every capability berthd itself may hold (the host's bounding set), as a CapEff mask. */
function hostCaps(): string {
  return statusField(fs.readFileSync('/proc/self/status', 'utf8'), 'CapBnd');
}

describe.skipIf(!IS_ROOT)('default hardening', () => {
  let d: TestDaemon;
  let tools: string;
  const mountsBefore = mountsUnder('/');

  beforeAll(async () => {
    d = await startDaemon();
    await importBusybox(d);
    tools = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-sec-'));
    const cc = spawnSync('cc', ['-static', '-O1', '-o', path.join(tools, 'probe'), path.join(__dirname, '..', 'fixtures', 'syscall-probe.c')], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await destroyDaemon(d);
    fs.rmSync(tools, { recursive: true, force: true });
    expect(mountsUnder('/').length).toBe(mountsBefore.length);
  });

  /** Creates, starts and waits for a container; its output and exit code. */
  async function run(cmd: string[], host: Partial<HostConfig> = {}, user = '') {
    const created = await call<typeof d.clients.containers, unknown, { id: string }>(d.clients.containers, 'create', {
      config: config('busybox', cmd, { user }), name: '', hostConfig: HostConfig.fromPartial(host),
    });
    await call(d.clients.containers, 'start', { containerId: created.id });
    const exit = await call<typeof d.clients.containers, unknown, { exitCode: number }>(d.clients.containers, 'wait', { containerId: created.id, condition: '' });
    let stdout = '';
    let stderr = '';
    for await (const e of d.clients.containers.logs(ContainerLogsRequest.fromPartial({ containerId: created.id, stdout: true, stderr: true }))) {
      if (e.stream === 2) stderr += e.data.toString(); else stdout += e.data.toString();
    }
    await call(d.clients.containers, 'remove', { containerId: created.id, force: true });
    return { exitCode: exit.exitCode, stdout, stderr };
  }

  const probe = (host: Partial<HostConfig> = {}) => run(['/tools/probe'], { binds: [`${tools}:/tools:ro`], ...host })
    .then((r) => Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(' '))));

  const containerCount = async () =>
    (await call<typeof d.clients.containers, unknown, ListContainersResponse>(d.clients.containers, 'list', { all: true })).containers.length;

  it("has Docker's default capabilities: bounding, permitted and effective a80425fb; none inheritable or ambient", async () => {
    const { stdout } = await run(['cat', '/proc/self/status']);
    expect(['CapBnd', 'CapPrm', 'CapEff', 'CapInh', 'CapAmb'].map((f) => statusField(stdout, f)))
      .toEqual([DEFAULT_CAPS, DEFAULT_CAPS, DEFAULT_CAPS, '0000000000000000', '0000000000000000']);
    expect(statusField(stdout, 'Seccomp')).toBe('2');
    expect(statusField(stdout, 'NoNewPrivs')).toBe('0');
  });

  it('a non-root user has no permitted or effective capability, and the same bounding set', async () => {
    const { stdout } = await run(['cat', '/proc/self/status'], {}, '1000');
    expect(['CapBnd', 'CapPrm', 'CapEff'].map((f) => statusField(stdout, f))).toEqual([DEFAULT_CAPS, '0000000000000000', '0000000000000000']);
  });

  it('exec gets the same capabilities and filter as the container', async () => {
    const created = await call<typeof d.clients.containers, unknown, { id: string }>(d.clients.containers, 'create', {
      config: config('busybox', ['sleep', '60']), name: '', hostConfig: HostConfig.fromPartial({ capDrop: ['NET_RAW'] }),
    });
    await call(d.clients.containers, 'start', { containerId: created.id });
    try {
      const r = cli(d, ['exec', created.id, 'cat', '/proc/self/status']);
      expect(r.status, r.stderr).toBe(0);
      expect(statusField(r.stdout, 'CapEff')).toBe('00000000a80405fb');
      expect(statusField(r.stdout, 'Seccomp')).toBe('2');
    } finally {
      await call(d.clients.containers, 'remove', { containerId: created.id, force: true });
    }
  });

  it('exec --privileged gets every capability for itself alone; the filter and the container stay as they are', async () => {
    const created = await call<typeof d.clients.containers, unknown, { id: string }>(d.clients.containers, 'create', {
      config: config('busybox', ['sleep', '60']), name: '', hostConfig: HostConfig.fromPartial({ capDrop: ['NET_RAW'] }),
    });
    await call(d.clients.containers, 'start', { containerId: created.id });
    try {
      const privileged = cli(d, ['exec', '--privileged', created.id, 'cat', '/proc/self/status']);
      expect(privileged.status, privileged.stderr).toBe(0);
      expect(['CapBnd', 'CapEff'].map((f) => statusField(privileged.stdout, f))).toEqual([hostCaps(), hostCaps()]);
      expect(statusField(privileged.stdout, 'Seccomp')).toBe('2');
      // What the extra capabilities allow where the filter lets the call through: CAP_NET_ADMIN on the
      // container's own loopback (a mount would still meet the filter, as with docker exec --privileged).
      const plain = cli(d, ['exec', created.id, 'ip', 'link', 'set', 'lo', 'mtu', '1280']);
      expect(plain.status).not.toBe(0);
      expect(plain.stderr).toMatch(/not permitted/);
      const admin = cli(d, ['exec', '--privileged', created.id, 'sh', '-c', 'ip link set lo mtu 1280 && cat /sys/class/net/lo/mtu']);
      expect(admin.stdout.trim(), admin.stderr).toBe('1280');
      const init = cli(d, ['exec', created.id, 'cat', '/proc/1/status']);
      expect(statusField(init.stdout, 'CapEff')).toBe('00000000a80405fb');
    } finally {
      await call(d.clients.containers, 'remove', { containerId: created.id, force: true });
    }
  });

  it('--cap-drop ALL --cap-add NET_ADMIN leaves exactly CAP_NET_ADMIN; names take any case and the CAP_ prefix', async () => {
    const { stdout } = await run(['cat', '/proc/self/status'], { capDrop: ['ALL'], capAdd: ['net_admin'] });
    expect(statusField(stdout, 'CapEff')).toBe('0000000000001000');
    const chown = await run(['chown', '1:1', '/etc/passwd'], { capDrop: ['CAP_CHOWN'] });
    expect(chown.exitCode).not.toBe(0);
    expect(chown.stderr).toMatch(/Operation not permitted/);
  });

  it('an unknown capability is INVALID_ARGUMENT naming it, and creates nothing', async () => {
    const before = await containerCount();
    for (const host of [{ capAdd: ['CAP_FLY'] }, { capDrop: ['NET_RAW', 'bogus'] }]) {
      await expect(call(d.clients.containers, 'create', { config: config('busybox', ['true']), name: '', hostConfig: HostConfig.fromPartial(host) }))
        .rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/host_config\.cap_(add|drop) "(CAP_FLY|bogus)": unknown capability/) });
    }
    expect(await containerCount()).toBe(before);
  });

  it('the default seccomp profile refuses unshare, mount, keyctl, bpf, ptrace, kexec and the like with EPERM', async () => {
    const r = await probe();
    for (const name of ['unshare', 'clone-newuser', 'setns', 'mount', 'umount2', 'pivot_root', 'keyctl', 'bpf', 'ptrace', 'kexec_load', 'perf_event_open']) {
      expect([name, r[name]]).toEqual([name, 'EPERM']);
    }
    expect(r.getpid).toBe('ok');
    expect(r['personality-query']).toBe('ok');
    const unshare = await run(['unshare', '-r', 'true']);
    expect(unshare.exitCode).not.toBe(0);
    expect(unshare.stderr).toMatch(/Operation not permitted/);
  });

  it('seccomp=unconfined lifts the filter: a user namespace, keyctl and ptrace work, and Seccomp is 0', async () => {
    const r = await probe({ securityOpt: ['seccomp=unconfined'] });
    expect([r.unshare, r['clone-newuser'], r.keyctl, r.ptrace]).toEqual(['ok', 'ok', 'ok', 'ok']);
    const { stdout } = await run(['grep', 'Seccomp:', '/proc/self/status'], { securityOpt: ['seccomp=unconfined'] });
    expect(stdout.trim()).toBe('Seccomp:\t0');
  });

  it('a custom profile from a file applies (through the CLI), and a bad one is INVALID_ARGUMENT', async () => {
    const profile = path.join(tools, 'no-mkdir.json');
    fs.writeFileSync(profile, JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }],
    }));
    const r = cli(d, ['run', '--rm', '--security-opt', `seccomp=${profile}`, 'busybox', 'sh', '-c', 'mkdir /made || echo refused; touch /file && echo touched']);
    expect(r.stdout).toBe('refused\ntouched\n');
    expect(r.stderr).toMatch(/Operation not permitted/);
    const before = await containerCount();
    await expect(call(d.clients.containers, 'create', {
      config: config('busybox', ['true']), name: '', hostConfig: HostConfig.fromPartial({ securityOpt: ['seccomp={"defaultAction":"SCMP_ACT_NOPE","syscalls":[]}'] }),
    })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining('host_config.security_opt') });
    await expect(call(d.clients.containers, 'create', {
      config: config('busybox', ['true']), name: '', hostConfig: HostConfig.fromPartial({ securityOpt: ['apparmor=unconfined'] }),
    })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining('apparmor') });
    expect(await containerCount()).toBe(before);
  });

  it('no-new-privileges shows NoNewPrivs 1', async () => {
    const { stdout } = await run(['grep', 'NoNewPrivs:', '/proc/self/status'], { securityOpt: ['no-new-privileges'] });
    expect(stdout.trim()).toBe('NoNewPrivs:\t1');
  });

  it('masks /proc and /sys paths with a 1:3 char device or an empty read-only tmpfs', async () => {
    const { stdout } = await run(['sh', '-c', [
      'for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do [ -e $f ] && echo "$f $(stat -c %F:%t:%T $f) $(head -c 16 $f | wc -c)"; done',
      'for d in /proc/acpi /proc/scsi /sys/firmware; do [ -d $d ] && echo "$d $(ls -A $d | wc -l) $(touch $d/x 2>&1 | grep -c Read-only)"; done',
    ].join('; ')]);
    const lines = stdout.trim().split('\n');
    // Those this kernel has: /proc/keys is always there (keyrings), kcore only with CONFIG_PROC_KCORE.
    expect(lines).toContain('/proc/keys character special file:1:3 0');
    for (const line of lines.filter((l) => !l.startsWith('/proc/keys ') && / file:/.test(l))) expect(line).toMatch(/ character special file:1:3 0$/);
    expect(lines.find((l) => l.startsWith('/sys/firmware '))).toBe('/sys/firmware 0 1');
  });

  it('/proc/sys, sysrq-trigger and the other read-only paths refuse writes', async () => {
    const { stdout } = await run(['sh', '-c', [
      '(echo x > /proc/sys/kernel/domainname) 2>&1 | grep -c Read-only',
      'cat /proc/sys/kernel/ostype',
      // Those this kernel has (sysrq-trigger needs CONFIG_MAGIC_SYSRQ) are mounts of their own, read-only.
      'for p in /proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger; do [ -e $p ] && echo "$p $(grep " $p " /proc/self/mountinfo | cut -d" " -f6 | cut -d, -f1)"; done',
    ].join('; ')]);
    const [refused, ostype, ...mounts] = stdout.trim().split('\n');
    expect([refused, ostype]).toEqual(['1', 'Linux']);
    expect(mounts).toContain('/proc/sys ro');
    for (const m of mounts) expect(m).toMatch(/^\/proc\/[a-z-]+ ro$/);
  });

  it('the device cgroup allows making any node but using only the standard ones', async () => {
    // 1:11 is /dev/kmsg: writable by root on the host, not in the allow list.
    const { stdout } = await run(['sh', '-c', 'mknod /tmp/kmsg c 1 11 && echo made; (echo berth > /tmp/kmsg) 2>&1 | grep -c "Operation not permitted"; mknod /tmp/zero c 1 5 && head -c 4 /tmp/zero | wc -c']);
    expect(stdout).toBe('made\n1\n4\n');
  });

  it('/dev/shm is a 64 MiB tmpfs; --shm-size changes it', async () => {
    const df = (out: string) => out.trim().split('\n')[1].split(/\s+/)[1];
    expect(df((await run(['df', '-k', '/dev/shm'])).stdout)).toBe('65536');
    expect(df((await run(['df', '-k', '/dev/shm'], { shmSize: 128 * 1024 * 1024 })).stdout)).toBe('131072');
  });

  it('--read-only makes the rootfs read-only; /dev/shm and volumes stay writable', async () => {
    const { stdout } = await run(['sh', '-c', '(touch /x) 2>&1 | grep -c Read-only; touch /dev/shm/x && echo shm; touch /data/x && echo vol'], {
      readOnlyRootfs: true, binds: [`${tools}:/data`],
    });
    expect(stdout).toBe('1\nshm\nvol\n');
    fs.rmSync(path.join(tools, 'x'));
  });

  it('sysctls are set inside only; a host-wide one or a value smuggling another is INVALID_ARGUMENT', async () => {
    const hostForward = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
    const hostRmid = fs.readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8');
    const corePattern = fs.readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
    const { stdout } = await run(['sh', '-c', 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced'], {
      sysctls: { 'net.ipv4.ip_forward': hostForward.trim() === '1' ? '0' : '1', 'kernel.shm_rmid_forced': hostRmid.trim() === '1' ? '0' : '1' },
    });
    expect(stdout).toBe(`${hostForward.trim() === '1' ? '0' : '1'}\n${hostRmid.trim() === '1' ? '0' : '1'}\n`);
    const before = await containerCount();
    for (const [sysctls, why] of [
      [{ 'kernel.core_pattern': '|/tmp/x' }, 'not a namespaced kernel parameter'],
      [{ 'kernel.shm_rmid_forced': '1+kernel.core_pattern=|/tmp/x' }, 'without NUL, newline or "="'],
      [{ 'vm.overcommit_memory': '1' }, 'not a namespaced kernel parameter'],
    ] as const) {
      await expect(call(d.clients.containers, 'create', { config: config('busybox', ['true']), name: '', hostConfig: HostConfig.fromPartial({ sysctls }) }))
        .rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining(why) });
    }
    await expect(call(d.clients.containers, 'create', {
      config: config('busybox', ['true']), name: '', hostConfig: HostConfig.fromPartial({ networkMode: 'host', sysctls: { 'net.ipv4.ip_forward': '1' } }),
    })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining("host's network") });
    expect(await containerCount()).toBe(before);
    expect(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8')).toBe(hostForward);
    expect(fs.readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8')).toBe(hostRmid);
    expect(fs.readFileSync('/proc/sys/kernel/core_pattern', 'utf8')).toBe(corePattern);
  });

  it('--privileged lifts it all: every capability, no filter, nothing masked, host devices, writable /sys', async () => {
    const { stdout } = await run(['sh', '-c', [
      'grep -E "^(CapEff|Seccomp):" /proc/self/status',
      'stat -c %F /proc/keys',
      'test -c /dev/kmsg && echo kmsg',
      'grep " /sys " /proc/self/mounts | grep -c "sysfs rw"',
      'mkdir -p /m && mount -t tmpfs none /m && echo mounted',
    ].join('; ')], { privileged: true });
    expect(stdout).toBe(`CapEff:\t${hostCaps()}\nSeccomp:\t0\nregular empty file\nkmsg\n1\nmounted\n`);
  });

  it('inspect shows the security settings as given', async () => {
    const created = await call<typeof d.clients.containers, unknown, { id: string }>(d.clients.containers, 'create', {
      config: config('busybox', ['true']), name: '',
      hostConfig: HostConfig.fromPartial({ capAdd: ['NET_ADMIN'], capDrop: ['MKNOD'], securityOpt: ['no-new-privileges'], readOnlyRootfs: true, sysctls: { 'kernel.shmmni': '4096' } }),
    });
    const r = cli(d, ['inspect', created.id]);
    const host = JSON.parse(r.stdout)[0].HostConfig;
    expect(host).toMatchObject({
      CapAdd: ['NET_ADMIN'], CapDrop: ['MKNOD'], SecurityOpt: ['no-new-privileges'], ReadonlyRootfs: true, Sysctls: { 'kernel.shmmni': '4096' },
      Privileged: false, ShmSize: 64 * 1024 * 1024,
    });
    await call(d.clients.containers, 'remove', { containerId: created.id, force: true });
  });
});
