// Dockerfile instructions for commit and import --change: what each one sets, and the values refused.
import { describe, expect, it } from 'vitest';
import { parseChanges } from './changes';

describe('parseChanges', () => {
  it('sets the config fields the instructions name', () => {
    expect(parseChanges(['CMD ["sh"]', 'ENTRYPOINT /bin/echo hi', 'ENV A=1 B="two words"', 'WORKDIR /srv', 'USER www:www',
      'STOPSIGNAL SIGINT', 'EXPOSE 80 53/udp 8000-8001', 'VOLUME /data', 'LABEL tier=web'], 'changes')).toEqual({
      cmd: ['sh'], entrypoint: ['/bin/sh', '-c', '/bin/echo hi'], env: ['A=1', 'B=two words'], workingDir: '/srv', user: 'www:www',
      stopSignal: 'SIGINT', exposedPorts: ['80/tcp', '53/udp', '8000/tcp', '8001/tcp'], volumes: ['/data'], labels: { tier: 'web' },
    });
  });

  it.each<[string, RegExp]>([
    ['RUN make', /^changes "RUN make": RUN is not supported/],
    ['CMD', /^changes "CMD": expected INSTRUCTION ARGS/],
    ['WORKDIR relative', /^changes "WORKDIR relative": WORKDIR "relative": must be an absolute path/],
    ['USER a:b:c', /^changes "USER a:b:c": USER "a:b:c"/],
    ['STOPSIGNAL SIGNOPE', /^changes "STOPSIGNAL SIGNOPE": STOPSIGNAL "SIGNOPE": not a signal name/],
    ['STOPSIGNAL 99', /signal numbers run from 1 to 64/],
    ['EXPOSE 99999', /^changes "EXPOSE 99999": EXPOSE "99999": port 99999 is out of range/],
    ['EXPOSE 0', /port 0 is out of range/],
    ['EXPOSE 80/sctp', /^changes "EXPOSE 80\/sctp"/],
    ['EXPOSE http', /^changes "EXPOSE http": http: not a port/],
    ['ENV A=b\0', /^changes "ENV A=b\\u0000": contains a NUL byte/],
    ['VOLUME data', /a volume path must be absolute/],
  ])('%j is INVALID_ARGUMENT naming the change', (change, message) => {
    expect(() => parseChanges([change], 'changes')).toThrow(message);
  });
});
