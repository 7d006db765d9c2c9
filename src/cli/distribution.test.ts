import { describe, expect, it } from 'vitest';
import { registryAuth } from './distribution';

describe('registryAuth', () => {
  it('takes flags, then BERTH_REGISTRY_AUTH, else none', () => {
    expect(registryAuth({ username: 'u', password: 'p' }, {})).toEqual({ username: 'u', password: 'p', identityToken: '' });
    expect(registryAuth({}, { BERTH_REGISTRY_AUTH: 'env:pa:ss' })).toEqual({ username: 'env', password: 'pa:ss', identityToken: '' });
    expect(registryAuth({ username: 'u', 'password-stdin': true }, {}, () => 'fromstdin\n')).toEqual({ username: 'u', password: 'fromstdin', identityToken: '' });
    expect(registryAuth({}, {})).toBeUndefined();
    expect(() => registryAuth({ password: 'p' }, {})).toThrow(/needs --username/);
    expect(() => registryAuth({}, { BERTH_REGISTRY_AUTH: 'nocolon' })).toThrow(/BERTH_REGISTRY_AUTH/);
  });
});
