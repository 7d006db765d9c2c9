import { describe, expect, it } from 'vitest';
import { MASKED_PATHS, parseSecurityOptions, READONLY_PATHS, securitySpec, validateSysctls } from './options';

const base = { privileged: false, capAdd: [], capDrop: [], securityOpt: [], readonlyRootfs: false, sysctls: {} };

describe('security options', () => {
  it('reads seccomp and no-new-privileges as docker writes them', () => {
    expect(parseSecurityOptions([])).toEqual({ seccomp: { kind: 'default' }, noNewPrivileges: false });
    expect(parseSecurityOptions(['seccomp=unconfined', 'no-new-privileges'])).toEqual({ seccomp: { kind: 'unconfined' }, noNewPrivileges: true });
    expect(parseSecurityOptions(['seccomp:unconfined', 'no-new-privileges:true', 'no-new-privileges=false']).noNewPrivileges).toBe(false);
    const profile = '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}';
    expect(parseSecurityOptions([`seccomp=${profile}`]).seccomp).toEqual({ kind: 'custom', profile });
  });

  it('refuses what it does not know, naming the field', () => {
    expect(() => parseSecurityOptions(['apparmor=unconfined'])).toThrow('host_config.security_opt "apparmor=unconfined": apparmor is not supported');
    expect(() => parseSecurityOptions(['no-new-privileges=maybe'])).toThrow('takes true or false');
    expect(() => parseSecurityOptions(['seccomp=/etc/profile.json'])).toThrow('profile\'s JSON text');
    expect(() => parseSecurityOptions(['seccomp={"defaultAction":1}'])).toThrow('bad seccomp profile');
    expect(() => parseSecurityOptions(['bogus'])).toThrow('host_config.security_opt "bogus"');
  });

  it('takes namespaced sysctls only, each value one value (CVE-2022-0811)', () => {
    expect(() => validateSysctls({ 'net.ipv4.ip_forward': '1', 'kernel.shm_rmid_forced': '1', 'fs.mqueue.msg_max': '20', 'kernel.sem': '250 32000 32 128' }, undefined)).not.toThrow();
    expect(() => validateSysctls({ 'kernel.core_pattern': 'x' }, undefined)).toThrow('not a namespaced kernel parameter');
    expect(() => validateSysctls({ 'kernel.shm_rmid_forced': '1+kernel.core_pattern=|/x' }, undefined)).toThrow('host_config.sysctls[kernel.shm_rmid_forced]');
    expect(() => validateSysctls({ 'net.ipv4.ip_forward': '1\nkernel.core_pattern' }, undefined)).toThrow('without NUL, newline');
    expect(() => validateSysctls({ 'net.ipv4.ip_forward': '' }, undefined)).toThrow('one value');
    expect(() => validateSysctls({ 'net/ipv4/ip_forward': '1' }, undefined)).toThrow('dotted kernel parameter name');
    expect(() => validateSysctls({ 'net.ipv4.ip_forward': '1' }, 'host')).toThrow("host's network");
  });

  it('builds the monitor\'s section: hardening by default, none of it when privileged', () => {
    const spec = securitySpec(base);
    expect(spec.capabilities).toEqual([0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31]);
    expect(spec.seccomp.length).toBeGreaterThan(0);
    expect(Buffer.from(spec.seccomp, 'base64').length % 8).toBe(0);
    expect(spec.maskedPaths).toEqual(MASKED_PATHS);
    expect(spec.readonlyPaths).toEqual(READONLY_PATHS);
    const priv = securitySpec({ ...base, privileged: true, sysctls: { 'kernel.shmmni': '100' } });
    expect(priv).toMatchObject({ seccomp: '', maskedPaths: [], readonlyPaths: [], sysctls: [{ key: 'kernel.shmmni', value: '100' }] });
    expect(securitySpec({ ...base, securityOpt: ['seccomp=unconfined'] }).seccomp).toBe('');
  });
});
