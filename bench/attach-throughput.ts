// Attach throughput: a container writes N MiB to stdout and a gRPC client receives it, beside the same
// bytes read from a plain pipe, each by a new process. Run on demand (npm run bench:attach); prints figures only.
// BENCH_ATTACH_MIB sets N (default 256; the figure is 1024). `npm run bench` measures the same beside other engines.
import { outputScript, readInFreshProcess, type OutputKind } from './attach';
import { withDaemon } from './daemon';
import { benchLine } from './stats';

const MIB = Number(process.env.BENCH_ATTACH_MIB ?? 256);
const BYTES = MIB * 1024 * 1024;

async function main(): Promise<void> {
  await withDaemon(async (_clients, daemon) => {
    const only = process.env.BENCH_ATTACH_KIND;
    for (const kind of (['binary', 'text'] as OutputKind[]).filter((k) => !only || k === only)) {
      const script = outputScript(kind, BYTES);
      const pipe = await readInFreshProcess({ kind: 'pipe', argv: ['sh', '-c', script], bytes: BYTES });
      const attach = await readInFreshProcess({ kind: 'attach', host: daemon.host, script, bytes: BYTES });
      console.log(`${kind}: ${MIB} MiB  attach ${attach.toFixed(0)} MiB/s  plain pipe ${pipe.toFixed(0)} MiB/s  ratio ${(attach / pipe).toFixed(2)}`);
      benchLine(`attach_${kind}_mib_s`, attach, 'MiB/s', 1);
      benchLine(`attach_${kind}_vs_pipe`, attach / pipe, 'ratio', 3);
    }
    console.log('docker attach and the other engines: see npm run bench');
  });
}

void main();
