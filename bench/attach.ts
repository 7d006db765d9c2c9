// Output throughput: N bytes written by a shell command, read through a plain pipe by this process, or
// from a Berth container by a gRPC client attached with start (the attach-throughput bench and `npm run bench`).
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { call, type Clients } from '../src/cli/client';
import { emptyConfig } from '../src/cli/create-request';
import { AttachOptions, type CreateContainerResponse } from '../src/gen/berth/v1/containers';

export type OutputKind = 'binary' | 'text';

/** The command (for sh -c) that writes exactly `bytes` of binary or of 60-byte text lines to stdout. */
export function outputScript(kind: OutputKind, bytes: number): string {
  if (kind === 'binary' && bytes % 65536 !== 0) throw new Error(`binary output comes in 64 KiB blocks; ${bytes} bytes is not a whole number of them`);
  // Binary is NUL bytes from dd, as the issue measured (Docker's 6x expansion is \u0000 for each byte);
  // busybox head would cap the plain pipe at about 300 MiB/s, dd in 64 KiB blocks writes 2-4 GiB/s.
  return kind === 'binary'
    ? `dd if=/dev/zero bs=65536 count=${bytes / 65536} 2>/dev/null`
    : `yes "a line of text that is about sixty characters long, give or take" | head -c ${bytes}`;
}

/** MiB/s of argv's stdout read through a pipe, from spawn to end; it must deliver exactly `bytes`. */
export async function pipeMiBs(argv: string[], bytes: number): Promise<number> {
  const t0 = performance.now();
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve, reject) => { child.on('error', reject); child.on('close', resolve); });
  let n = 0;
  for await (const chunk of child.stdout) n += (chunk as Buffer).length;
  const status = await exited;
  const seconds = (performance.now() - t0) / 1000;
  if (n !== bytes) throw new Error(`${argv[0]} delivered ${n} bytes, wanted ${bytes} (exit ${status}: ${stderr.trim()})`);
  return bytes / (1024 * 1024) / seconds;
}

/**
 * MiB/s of a Berth container running `sh -c script`, received by an Attach client that starts it; from the
 * attach to the end of the stream. The container is created before the clock starts and removed after it stops.
 */
export async function attachMiBs(clients: Clients, script: string, bytes: number): Promise<number> {
  const { id } = await call<Clients['containers'], unknown, CreateContainerResponse>(clients.containers, 'create', {
    name: '', config: { ...emptyConfig(), image: 'busybox', cmd: ['sh', '-c', script], networkDisabled: true },
  });
  try {
    const stream = clients.containers.attach();
    const t0 = performance.now();
    stream.write({ frame: { $case: 'options', value: AttachOptions.fromPartial({ containerId: id, stdout: true, stderr: true, start: true }) } });
    let n = 0;
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (m: { frame?: { $case: string; value: Buffer } }) => { if (m.frame?.$case === 'stdout') n += m.frame.value.length; });
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    const seconds = (performance.now() - t0) / 1000;
    if (n !== bytes) throw new Error(`attach delivered ${n} bytes, wanted ${bytes}`);
    return bytes / (1024 * 1024) / seconds;
  } finally {
    await call(clients.containers, 'remove', { containerId: id, force: true });
  }
}
