// Attach throughput: a container writes N MiB to stdout and a gRPC client receives it, beside the same
// bytes read from a plain pipe by this process. Run on demand (npm run bench:attach); prints figures only.
// BENCH_ATTACH_MIB sets N (default 256; the figure is 1024).
import { spawn, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { call } from '../src/cli/client';
import { withDaemon } from './daemon';
import { AttachOptions, type CreateContainerResponse } from '../src/gen/berth/v1/containers';
import { emptyConfig } from '../src/cli/create-request';

const MIB = Number(process.env.BENCH_ATTACH_MIB ?? 256);
const BYTES = MIB * 1024 * 1024;

async function pipeMiBs(command: string[]): Promise<number> {
  const t0 = performance.now();
  const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let n = 0;
  for await (const chunk of child.stdout) n += (chunk as Buffer).length;
  if (n !== BYTES) throw new Error(`pipe delivered ${n} bytes, wanted ${BYTES}`);
  return MIB / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  await withDaemon(async (clients) => {
    const only = process.env.BENCH_ATTACH_KIND;
    const kinds: [string, string][] = [
      ['binary', `head -c ${BYTES} /dev/urandom`],
      ['text', `yes "a line of text that is about sixty characters long, give or take" | head -c ${BYTES}`],
    ];
    for (const [kind, script] of kinds.filter(([k]) => !only || k === only)) {
      const pipe = await pipeMiBs(['sh', '-c', script]);
      const { id } = await call<typeof clients.containers, unknown, CreateContainerResponse>(clients.containers, 'create', {
        name: '', config: { ...emptyConfig(), image: 'busybox', cmd: ['sh', '-c', script] },
      });
      const stream = clients.containers.attach();
      stream.write({ frame: { $case: 'options', value: AttachOptions.fromPartial({ containerId: id, stdout: true, stderr: true, start: true }) } });
      const t0 = performance.now();
      let n = 0;
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (m: { frame?: { $case: string; value: Buffer } }) => { if (m.frame?.$case === 'stdout') n += m.frame.value.length; });
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      const attach = MIB / ((performance.now() - t0) / 1000);
      if (n !== BYTES) throw new Error(`attach delivered ${n} bytes, wanted ${BYTES}`);
      await call(clients.containers, 'remove', { containerId: id, force: true });
      console.log(`${kind}: ${MIB} MiB  attach ${attach.toFixed(0)} MiB/s  plain pipe ${pipe.toFixed(0)} MiB/s  ratio ${(attach / pipe).toFixed(2)}`);
      console.log(`BENCH attach_${kind}_mib_s ${attach.toFixed(1)} MiB/s`);
      console.log(`BENCH attach_${kind}_vs_pipe ${(attach / pipe).toFixed(3)} ratio`);
    }
    const docker = spawnSync('docker', ['info'], { stdio: 'ignore' });
    console.log(docker.status === 0 ? 'docker: measuring docker attach is not built yet' : 'docker: skipped (no Docker engine running on this machine)');
  });
}

void main();
