import { describe, expect, it } from 'vitest';
import { allCapabilities, canonicalCapability, capabilityNumber, DEFAULT_CAPABILITIES, effectiveCapabilities } from './capabilities';

/** The CapEff-style hex mask of a list of names. */
function mask(names: string[]): string {
  return names.reduce((m, n) => m | (1n << BigInt(capabilityNumber(n))), 0n).toString(16).padStart(16, '0');
}

describe('capabilities', () => {
  it("the default set is Docker's a80425fb", () => {
    expect(mask([...DEFAULT_CAPABILITIES])).toBe('00000000a80425fb');
    expect(mask(effectiveCapabilities([], [], false, 40))).toBe('00000000a80425fb');
  });

  it('takes names in any case, with or without CAP_, and refuses unknown ones naming the field', () => {
    expect(canonicalCapability('net_admin', 'f')).toBe('CAP_NET_ADMIN');
    expect(canonicalCapability('CAP_SYS_ADMIN', 'f')).toBe('CAP_SYS_ADMIN');
    expect(canonicalCapability('all', 'f')).toBe('ALL');
    expect(() => effectiveCapabilities(['CAP_FLY'], [], false, 40)).toThrow('host_config.cap_add "CAP_FLY": unknown capability');
    expect(() => effectiveCapabilities([], [''], false, 40)).toThrow('host_config.cap_drop');
  });

  it("applies Docker's rules: drop ALL then add, add ALL minus drops, an add beats a drop", () => {
    expect(effectiveCapabilities(['NET_ADMIN'], ['ALL'], false, 40)).toEqual(['CAP_NET_ADMIN']);
    expect(effectiveCapabilities(['ALL'], ['SYS_ADMIN'], false, 40)).toEqual(allCapabilities(40).filter((n) => n !== 'CAP_SYS_ADMIN'));
    expect(effectiveCapabilities(['MKNOD'], ['MKNOD'], false, 40)).toContain('CAP_MKNOD');
    expect(effectiveCapabilities([], ['CHOWN', 'net_raw'], false, 40)).not.toContain('CAP_NET_RAW');
  });

  it('privileged is every capability the kernel knows; a newer one is refused on an older kernel', () => {
    expect(effectiveCapabilities([], ['ALL'], true, 40)).toHaveLength(41);
    expect(effectiveCapabilities([], [], true, 37)).toHaveLength(38);
    expect(() => effectiveCapabilities(['BPF'], [], false, 37)).toThrow('not known to this kernel');
  });
});
