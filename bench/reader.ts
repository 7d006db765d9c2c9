// One output-throughput reading in a process of its own: `node dist/bench/reader.js '<Reading as JSON>'`
// prints {"mibs": N}. The bench runs every reader this way (readInFreshProcess), because a reader in the
// bench's own process, after its earlier figures, took a plain pipe at half the speed a new process did.
import { call, connect } from '../src/cli/client';
import { attachKeptMiBs, attachMiBs, pipeMiBs, type Reading } from './attach';

async function read(reading: Reading): Promise<number> {
  if (reading.kind === 'pipe') return pipeMiBs(reading.argv, reading.bytes);
  const clients = connect(reading.host);
  try {
    // Connected before the clock starts, as the bench's own client always was.
    await call(clients.system, 'version', {});
    return reading.kind === 'attach'
      ? await attachMiBs(clients, reading.script, reading.bytes)
      : await attachKeptMiBs(clients, reading.script, reading.bytes);
  } finally {
    clients.close();
  }
}

read(JSON.parse(process.argv[2]) as Reading).then((mibs) => {
  process.stdout.write(`${JSON.stringify({ mibs })}\n`);
}, (err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
