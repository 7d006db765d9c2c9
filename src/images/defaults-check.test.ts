// An imported image's defaults are held to a container's own rules, with the header's fields named.
import { describe, expect, it } from 'vitest';
import type { ImageDefaults } from './model';
import { checkImageDefaults } from './defaults-check';

describe('checkImageDefaults', () => {
  it('accepts good defaults and normalizes ports and volume paths', () => {
    expect(checkImageDefaults({ env: ['A=1'], cmd: ['sh'], workingDir: '/srv', user: 'www:www', exposedPorts: ['80', '53/udp'], volumes: ['/data/'], labels: { a: 'b' }, stopSignal: 'SIGINT' }, 'header.config'))
      .toEqual({ env: ['A=1'], cmd: ['sh'], workingDir: '/srv', user: 'www:www', exposedPorts: ['53/udp', '80/tcp'], volumes: ['/data'], labels: { a: 'b' }, stopSignal: 'SIGINT' });
    expect(checkImageDefaults({}, 'header.config')).toEqual({});
  });

  it.each<[Partial<ImageDefaults>, RegExp]>([
    [{ env: ['=x'] }, /^header\.config\.env "=x"/],
    [{ cmd: ['a\0'] }, /^header\.config\.cmd/],
    [{ entrypoint: ['\0'] }, /^header\.config\.entrypoint/],
    [{ workingDir: 'rel' }, /^header\.config\.working_dir "rel"/],
    [{ user: 'a:b:c' }, /^header\.config\.user "a:b:c"/],
    [{ labels: { '': 'x' } }, /^header\.config\.labels ""/],
    [{ stopSignal: 'SIGNOPE' }, /^header\.config\.stop_signal "SIGNOPE"/],
    [{ exposedPorts: ['99999'] }, /^header\.config\.exposed_ports "99999"/],
    [{ volumes: ['rel'] }, /^header\.config\.volumes "rel"/],
  ])('refuses %j naming the field', (d, message) => {
    expect(() => checkImageDefaults(d, 'header.config')).toThrow(message);
  });
});
