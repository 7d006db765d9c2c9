import { describe, expect, it } from 'vitest';
import { parseFlags, UsageError } from './args';
import { CREATE_FLAGS, createRequest, parseVolumeFlags } from './create-request';

function request(argv: string[]) {
  const { flags, positionals } = parseFlags(argv, CREATE_FLAGS);
  return createRequest(flags, positionals);
}

describe('createRequest', () => {
  it('leaves limits at zero and no restart policy when no flag asks', () => {
    const req = request(['busybox', 'true']);
    expect(req.config).toMatchObject({ memory: 0, memorySwap: 0, cpuShares: 0, stopSignal: '', stopTimeout: undefined });
    expect(req.hostConfig).toMatchObject({
      nanoCpus: 0, cpuQuota: 0, cpuPeriod: 0, cpusetCpus: '', cpusetMems: '', pidsLimit: 0, restartPolicy: undefined, autoRemove: false,
    });
  });

  it('puts memory and CPU shares in Config, the rest in HostConfig', () => {
    const req = request([
      '-m', '512m', '--memory-swap', '1g', '-c', '512', '--cpus', '1.5', '--cpu-quota', '50000', '--cpu-period', '100000',
      '--cpuset-cpus', '0-1', '--cpuset-mems', '0', '--pids-limit', '64', '--restart', 'on-failure:3',
      '--stop-signal', 'SIGUSR1', '--stop-timeout', '2', 'busybox', 'sleep', '1000',
    ]);
    expect(req.config).toMatchObject({
      image: 'busybox', cmd: ['sleep', '1000'], memory: 512 * 2 ** 20, memorySwap: 2 ** 30, cpuShares: 512, stopSignal: 'SIGUSR1', stopTimeout: 2,
    });
    expect(req.hostConfig).toMatchObject({
      nanoCpus: 1.5e9, cpuQuota: 50_000, cpuPeriod: 100_000, cpusetCpus: '0-1', cpusetMems: '0', pidsLimit: 64,
      restartPolicy: { name: 'on-failure', maximumRetryCount: 3 },
    });
  });

  it('asks the daemon to remove the container with --rm', () => {
    expect(request(['--rm', 'busybox']).hostConfig!.autoRemove).toBe(true);
    expect(request(['--rm', '--restart', 'no', 'busybox']).hostConfig).toMatchObject({ autoRemove: true, restartPolicy: { name: 'no' } });
  });

  it('refuses --restart with --rm, as docker', () => {
    expect(() => request(['--rm', '--restart', 'always', 'busybox'])).toThrow('conflicting options: --restart and --rm');
  });

  it.each([[['-m', 'lots', 'busybox'], '--memory'], [['--cpus', 'x', 'busybox'], '--cpus'], [['--stop-timeout', '1s', 'busybox'], '--stop-timeout'],
    [['--restart', 'sometimes', 'busybox'], '--restart']])('%j is a usage error naming %s', (argv, flag) => {
    expect(() => request(argv)).toThrow(UsageError);
    expect(() => request(argv)).toThrow(flag);
  });
});

describe('-v and --volumes-from', () => {
  it('-v /path is an anonymous volume; SRC:DST[:ro] a bind or named volume; --volumes-from joins with commas', () => {
    const req = request(['-v', '/data', '-v', '/host:/in:ro', '-v', 'named:/n', '--volumes-from', 'a', '--volumes-from', 'b:ro', 'busybox']);
    expect(req.config).toMatchObject({ volumes: ['/data'], volumesFrom: 'a,b:ro' });
    expect(req.hostConfig!.binds).toEqual(['/host:/in:ro', 'named:/n']);
  });

  it('a source starting with "." is made absolute; a relative volume path is a usage error', () => {
    expect(parseVolumeFlags(['./data:/d', '../x:/x:rw'], '/home/me/app')).toEqual({ volumes: [], binds: ['/home/me/app/data:/d', '/home/me/x:/x:rw'] });
    expect(() => parseVolumeFlags(['data'])).toThrow(UsageError);
  });
});
