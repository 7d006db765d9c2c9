// Log throughput: a container writes N MiB to stdout with no client attached, so the monitor alone
// reads, logs and discards it; beside the same command writing to /dev/null. Run on demand.
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { call } from '../src/cli/client';
import { withDaemon } from './daemon';
import { type CreateContainerResponse } from '../src/gen/berth/v1/containers';
import { emptyConfig } from '../src/cli/create-request';
import { outputScript, type OutputKind } from './attach';

const MIB = Number(process.env.BENCH_LOG_MIB ?? 256);
const BYTES = MIB * 1024 * 1024;

async function main(): Promise<void> {
  await withDaemon(async (clients) => {
    for (const kind of (['binary', 'text'] as OutputKind[]).filter((k) => !process.env.BENCH_LOG_KIND || k === process.env.BENCH_LOG_KIND)) {
      const script = outputScript(kind, BYTES);
      let t0 = performance.now();
      spawnSync('sh', ['-c', `${script} > /dev/null`]);
      const devnull = MIB / ((performance.now() - t0) / 1000);
      const { id } = await call<typeof clients.containers, unknown, CreateContainerResponse>(clients.containers, 'create', {
        name: '', config: { ...emptyConfig(), image: 'busybox', cmd: ['sh', '-c', script] },
      });
      t0 = performance.now();
      await call(clients.containers, 'start', { containerId: id });
      await call(clients.containers, 'wait', { containerId: id, condition: '' });
      const logged = MIB / ((performance.now() - t0) / 1000);
      await call(clients.containers, 'remove', { containerId: id, force: true });
      console.log(`${kind}: ${MIB} MiB  logged ${logged.toFixed(0)} MiB/s  to /dev/null ${devnull.toFixed(0)} MiB/s  ratio ${(logged / devnull).toFixed(2)}`);
      console.log(`BENCH log_${kind}_mib_s ${logged.toFixed(1)} MiB/s`);
    }
  });
}

void main();
