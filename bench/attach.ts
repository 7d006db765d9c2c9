// Output throughput: N bytes written by a shell command, read through a plain pipe, or from a Berth container
// by a gRPC client attached with start (the attach-throughput bench and `npm run bench`), each by a new process.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { call, type Clients } from '../src/cli/client';
import { AttachOptions, type AttachResponse, type CreateContainerResponse, type ExitStatus } from '../src/gen/berth/v1/containers';
import { runRequest } from './berth-run';

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

/** One measurement of output throughput: a plain pipe, or a Berth container as `berth run --rm` or kept. */
export type Reading =
  | { kind: 'pipe'; argv: string[]; bytes: number }
  | { kind: 'attach' | 'attach-kept'; host: string; script: string; bytes: number };

/**
 * MiB/s of one reading taken by a new node process (reader.ts), as a client such as `berth` or a program reading
 * a pipe is: a process that has done nothing else. Its start and its connection to berthd are outside the clock.
 */
export async function readInFreshProcess(reading: Reading): Promise<number> {
  const child = spawn(process.execPath, [path.join(__dirname, 'reader.js'), JSON.stringify(reading)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString(); });
  const status = await new Promise<number | null>((resolve, reject) => { child.on('error', reject); child.on('close', resolve); });
  if (status !== 0) throw new Error(stderr.trim() || `the reader exited with ${status}`);
  return (JSON.parse(stdout) as { mibs: number }).mibs;
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

/** Sends an Attach's options and reads the stream to its end: the stdout bytes and the exit frame. */
async function readAttach(clients: Clients, options: AttachOptions): Promise<{ stdoutBytes: number; exit?: ExitStatus }> {
  const stream = clients.containers.attach();
  stream.write({ frame: { $case: 'options', value: options } });
  let stdoutBytes = 0;
  let exit: ExitStatus | undefined;
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (m: AttachResponse) => {
      if (m.frame?.$case === 'stdout') stdoutBytes += m.frame.value.length;
      if (m.frame?.$case === 'exit') exit = m.frame.value;
    });
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  return { stdoutBytes, exit };
}

/**
 * MiB/s of a Berth container running `sh -c script` as `berth run --rm` runs it (and as ctr and podman run
 * theirs here): one Attach that creates it (auto-remove), starts it and reads it, timed to the call's end,
 * which comes once the container is removed. The request comes from the CLI's own flag parser.
 */
export async function attachMiBs(clients: Clients, script: string, bytes: number): Promise<number> {
  const request = runRequest(['--rm', '--network', 'none', 'busybox', 'sh', '-c', script]);
  const t0 = performance.now();
  const { stdoutBytes: n, exit } = await readAttach(clients, AttachOptions.fromPartial({ create: request, stdout: true, stderr: true, start: true }));
  const seconds = (performance.now() - t0) / 1000;
  if (n !== bytes) throw new Error(`attach delivered ${n} bytes, wanted ${bytes}`);
  if (exit?.exitCode !== 0) throw new Error(`the container exited with ${exit ? exit.exitCode : 'no status'}`);
  return bytes / (1024 * 1024) / seconds;
}

/**
 * The same container created first (without auto-remove) and attached with start, timed from the attach to
 * the end of the stream, which comes after the monitor has fsynced the log (a container that is kept keeps a
 * durable log); created and removed outside the clock. The attach rows measured this until the ninth round.
 */
export async function attachKeptMiBs(clients: Clients, script: string, bytes: number): Promise<number> {
  const { id } = await call<Clients['containers'], unknown, CreateContainerResponse>(clients.containers, 'create', runRequest(['--network', 'none', 'busybox', 'sh', '-c', script]));
  try {
    const t0 = performance.now();
    const { stdoutBytes: n } = await readAttach(clients, AttachOptions.fromPartial({ containerId: id, stdout: true, stderr: true, start: true }));
    const seconds = (performance.now() - t0) / 1000;
    if (n !== bytes) throw new Error(`attach delivered ${n} bytes, wanted ${bytes}`);
    return bytes / (1024 * 1024) / seconds;
  } finally {
    await call(clients.containers, 'remove', { containerId: id, force: true });
  }
}
