import { describe, expect, it } from 'vitest';
import { applyChanges } from './changes';

describe('applyChanges', () => {
  it('reads each instruction', () => {
    expect(applyChanges(['CMD ["sh"]', 'ENTRYPOINT /bin/echo hi', 'ENV A=1', 'ENV B two words', 'WORKDIR /srv', 'USER berth'])).toEqual({
      cmd: ['sh'], entrypoint: ['/bin/sh', '-c', '/bin/echo hi'], env: ['A=1', 'B=two words'], workingDir: '/srv', user: 'berth',
      exposedPorts: [], volumes: [], labels: {}, stopSignal: '',
    });
  });

  it.each(['RUN make', 'CMD', 'CMD [1]'])('%j is refused', (c) => {
    expect(() => applyChanges([c])).toThrow();
  });
});
