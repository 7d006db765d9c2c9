// berth-monitor streams, as root: tty and resize, openStdin through attach frames with
// backpressure, several attach clients, sequence numbers and nextSeq, log rotation.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FRAME, FrameClient } from './frames-client';
import { canRunContainers, connectControl, FINISHED_AT, makeContainer, readLog, startContainer, startMonitor } from './monitor-harness';

const mountinfo = () => fs.readFileSync('/proc/self/mountinfo', 'utf8');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.skipIf(!canRunContainers())('berth-monitor streams', () => {
  const cleanup: Array<() => void> = [];
  let mountsBefore = '';
  beforeEach(() => { mountsBefore = mountinfo(); });
  afterEach(() => {
    for (const c of cleanup.splice(0).reverse()) c();
    expect(mountinfo()).toBe(mountsBefore);
  });
  const container = (args: string[], edit?: (s: Record<string, unknown>) => void) => {
    const c = makeContainer(args, edit);
    cleanup.push(c.remove);
    return c;
  };
  const attach = async (dir: string, what: { stdin?: boolean; stdout?: boolean; stderr?: boolean; runs?: boolean }) => {
    const a = await FrameClient.connect(dir);
    cleanup.push(() => a.close());
    const reply = await a.command(`attach ${JSON.stringify(what)}`);
    return { a, reply };
  };

  it('an attach sent between created and go is answered before init runs, so all output comes live; other requests wait for the start', async () => {
    const c = container(['sh', '-c', 'echo first; echo second >&2']);
    const ch = startMonitor(c.dir);
    expect(await ch.next()).toMatchObject({ type: 'created' });
    const a = await FrameClient.connect(c.dir);
    const other = await connectControl(c.dir);
    cleanup.push(() => a.close(), other.close);
    const attached = a.command(`attach ${JSON.stringify({ stdout: true, stderr: true })}`);
    // A request, and the end of what this client sends: the request still counts.
    other.lines.send('state');
    other.lines.sock.end();
    // Both requests are in the monitor's socket before go, as berthd has them there.
    await new Promise((r) => setTimeout(r, 100));
    ch.send('go');
    expect(await attached).toEqual({ type: 'attached', nextSeq: 1 });
    const started = await ch.next();
    expect(started).toMatchObject({ type: 'started' });
    // Answered once init ran: it knows when.
    expect(await other.lines.next()).toMatchObject({ type: 'state', startedAt: started!.startedAt });
    expect(await a.exited()).toEqual({ exitCode: 0, signal: 0 });
    expect(a.frames.filter((f) => f.type !== FRAME.exit).map((f) => [f.type, f.seq, f.data.toString()]))
      .toEqual([[FRAME.stdout, 1, 'first\n'], [FRAME.stderr, 2, 'second\n']]);
    expect(await ch.next()).toMatchObject({ type: 'exit', exitCode: 0 });
  });

  it('an attach answered before init runs ends without an exit frame when init then fails', async () => {
    const c = container(['/no/such/program']);
    const ch = startMonitor(c.dir);
    expect(await ch.next()).toMatchObject({ type: 'created' });
    const a = await FrameClient.connect(c.dir);
    cleanup.push(() => a.close());
    const attached = a.command(`attach ${JSON.stringify({ stdout: true, stderr: true })}`);
    await new Promise((r) => setTimeout(r, 100));
    ch.send('go');
    expect(await attached).toEqual({ type: 'attached', nextSeq: 1 });
    expect(await ch.next()).toMatchObject({ type: 'failed', step: 'exec', code: 'ENOENT' });
    expect(await a.exited()).toBeUndefined();
    expect(a.frames).toEqual([]);
  });

  it('tty: stty size shows consoleSize, resize changes it, output is stdout frames and log lines', async () => {
    const c = container(['sh', '-c', 'stty size; read x; stty size; echo got $x'], (s) => {
      Object.assign(s, { tty: true, openStdin: true, consoleSize: { rows: 30, cols: 100 } });
    });
    const { ch } = await startContainer(c.dir);
    const { a, reply } = await attach(c.dir, { stdin: true, stdout: true, stderr: true });
    expect(reply).toMatchObject({ type: 'attached' });
    const all = () => readLog(c.logPath).map((l) => l.log).join('') + a.output().toString();
    await a.until(() => all().includes('30 100'));
    ch.send('resize 40 120');
    expect(await ch.next()).toEqual({ type: 'ok' });
    a.stdin('hello\n');
    expect(await a.exited()).toEqual({ exitCode: 0, signal: 0 });
    expect(a.frames.every((f) => f.type === FRAME.stdout || f.type === FRAME.exit)).toBe(true);
    const log = readLog(c.logPath);
    expect(log.every((l) => l.stream === 'stdout')).toBe(true);
    const text = log.map((l) => l.log).join('');
    // The pty echoes the input and turns "\n" into "\r\n".
    expect(text).toContain('30 100\r\n');
    expect(text).toContain('hello\r\n');
    expect(text).toContain('40 120\r\n');
    expect(text).toContain('got hello\r\n');
    expect(await ch.next()).toEqual({ type: 'exit', exitCode: 0, signal: 0, finishedAt: FINISHED_AT });
  });

  it('resize without a tty is an error; attach with stdin but no openStdin is refused', async () => {
    const c = container(['sleep', '100']);
    const { ch } = await startContainer(c.dir);
    ch.send('resize 10 10');
    expect(await ch.next()).toMatchObject({ type: 'error', message: 'resize: no tty' });
    const { a, reply } = await attach(c.dir, { stdin: true });
    expect(reply).toMatchObject({ type: 'error' });
    // Still JSON mode: a plain command works on the same connection.
    expect(await a.command('kill 9')).toEqual({ type: 'ok' });
    expect(await ch.next()).toEqual({ type: 'exit', exitCode: 137, signal: 9, finishedAt: FINISHED_AT });
  });

  it('openStdin: 16 MiB through cat byte-exact via frames, close-stdin ends it with exit 0', async () => {
    const c = container(['cat'], (s) => { s.openStdin = true; });
    await startContainer(c.dir);
    const { a, reply } = await attach(c.dir, { stdin: true, stdout: true });
    expect(reply).toMatchObject({ type: 'attached' });
    const input = randomBytes(16 << 20);
    for (let off = 0; off < input.length; off += 100_000) a.stdin(input.subarray(off, off + 100_000));
    a.sendFrame(FRAME.closeStdin);
    expect(await a.exited(60_000)).toEqual({ exitCode: 0, signal: 0 });
    const out = a.output();
    expect(out.length).toBe(input.length);
    expect(sha256(out)).toBe(sha256(input));
    expect(a.replies()).toEqual([]);
    const seqs = a.frames.filter((f) => f.type === FRAME.stdout).map((f) => f.seq);
    expect(seqs[0]).toBe(reply.nextSeq);
    seqs.forEach((s, i) => expect(s).toBe(seqs[0] + i));
  }, 90_000);

  it('two attach clients get identical frames; seqs run +1 from firstSeq over both streams and match the log', async () => {
    const script = 'echo before; read x; i=0; while [ $i -lt 100 ]; do echo out $i; echo err $i >&2; i=$((i+1)); done';
    const c = container(['sh', '-c', script], (s) => {
      Object.assign(s, { openStdin: true, log: { maxSizeBytes: 0, maxFiles: 1, firstSeq: 1000 } });
    });
    await startContainer(c.dir);
    // Wait until "before" is logged: nextSeq must then be past it.
    for (let i = 0; i < 100 && !fs.readFileSync(c.logPath, 'utf8').includes('before'); i++) await new Promise((r) => setTimeout(r, 20));
    const one = await attach(c.dir, { stdin: true, stdout: true, stderr: true });
    const two = await attach(c.dir, { stdout: true, stderr: true });
    expect(one.reply).toEqual({ type: 'attached', nextSeq: 1001 });
    expect(two.reply).toEqual({ type: 'attached', nextSeq: 1001 });
    one.a.stdin('go\n');
    await one.a.exited();
    await two.a.exited();
    const view = (fc: FrameClient) => fc.frames.map((f) => [f.type, f.seq, f.timeNs, f.data.toString()]);
    expect(view(one.a)).toEqual(view(two.a));
    const log = readLog(c.logPath);
    expect(log).toHaveLength(201);
    log.forEach((l, i) => expect(l.seq).toBe(1000 + i));
    expect(log.filter((l) => l.seq < 1001).map((l) => l.log)).toEqual(['before\n']);
    const outFrames = one.a.frames.filter((f) => f.type !== FRAME.exit);
    expect(outFrames.map((f) => [f.seq, f.type === FRAME.stdout ? 'stdout' : 'stderr', f.data.toString()]))
      .toEqual(log.slice(1).map((l) => [l.seq, l.stream, l.log]));
    // Same instant in both: the frame's ns time is the log line's RFC 3339 time.
    const t = log[1].time;
    const ns = BigInt(Date.parse(t.slice(0, 19) + 'Z') / 1000) * 1_000_000_000n + BigInt(t.slice(20, 29));
    expect(outFrames[0].timeNs).toBe(ns);
    expect(one.a.frames.at(-1)!.type).toBe(FRAME.exit);
    expect(one.a.exitFrame()).toEqual({ exitCode: 0, signal: 0 });
  });

  it('runs: entries in a row of one stream come joined, with first seq, count and the bytes of the log', async () => {
    // A burst of stdout lines, then stdout and stderr taking turns.
    const script = 'read x; i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done; for j in 1 2 3; do echo o$j; echo e$j >&2; done';
    const c = container(['sh', '-c', script], (s) => { s.openStdin = true; });
    await startContainer(c.dir);
    const { a, reply } = await attach(c.dir, { stdin: true, stdout: true, stderr: true, runs: true });
    expect(reply).toEqual({ type: 'attached', nextSeq: 1 });
    a.stdin('go\n');
    await a.exited();
    const runs = a.frames.filter((f) => f.type === 5 || f.type === 6).map((f) => ({
      stream: f.type === 5 ? 'stdout' : 'stderr', first: Number(f.payload.readBigUInt64BE(0)),
      count: f.payload.readUInt32BE(16), data: f.payload.subarray(20).toString(),
    }));
    expect(a.frames.filter((f) => f.type === FRAME.stdout || f.type === FRAME.stderr)).toEqual([]);
    const log = readLog(c.logPath);
    expect(log).toHaveLength(2006);
    // The runs cover the log's entries in order, each a stretch of one stream.
    let next = 1;
    for (const r of runs) {
      expect(r.first).toBe(next);
      const entries = log.slice(r.first - 1, r.first - 1 + r.count);
      expect(entries.every((l) => l.stream === r.stream)).toBe(true);
      expect(r.data).toBe(entries.map((l) => l.log).join(''));
      next += r.count;
    }
    expect(next).toBe(2007);
    expect(runs.length).toBeLessThan(2006);
    // The two pipes are read in turns, so how stderr lines fall between stdout ones may vary.
    expect(runs.filter((r) => r.stream === 'stderr').map((r) => r.data).join('')).toBe('e1\ne2\ne3\n');
  });

  it('rotation: maxSizeBytes 4096, maxFiles 3 leaves log, log.1, log.2 with contiguous seqs', async () => {
    const c = container(['sh', '-c', 'i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); done'], (s) => {
      s.log = { maxSizeBytes: 4096, maxFiles: 3, firstSeq: 1 };
    });
    const { ch } = await startContainer(c.dir);
    expect(await ch.next()).toMatchObject({ type: 'exit', exitCode: 0 });
    expect(fs.existsSync(`${c.logPath}.3`)).toBe(false);
    const files = [`${c.logPath}.2`, `${c.logPath}.1`, c.logPath];
    for (const f of files) expect(fs.statSync(f).size).toBeLessThanOrEqual(4096);
    const entries = files.flatMap((f) => readLog(f));
    entries.forEach((e, i) => expect(e.seq).toBe(entries[0].seq + i));
    expect(entries[0].seq).toBeGreaterThan(1);  // the oldest file was dropped
    expect(entries.at(-1)).toMatchObject({ seq: 300, log: 'line 299\n' });
    expect(entries[0].log).toBe(`line ${entries[0].seq - 1}\n`);
  });

  it('rotation with a large maxFiles keeps every file, oldest first seq 1', async () => {
    const c = container(['sh', '-c', 'i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); done'], (s) => {
      s.log = { maxSizeBytes: 4096, maxFiles: 1000, firstSeq: 1 };
    });
    const { ch } = await startContainer(c.dir);
    expect(await ch.next()).toMatchObject({ type: 'exit', exitCode: 0 });
    let k = 1;
    while (fs.existsSync(`${c.logPath}.${k + 1}`)) k++;
    expect(k).toBeGreaterThan(3);
    const files = [...Array.from({ length: k }, (_, i) => `${c.logPath}.${k - i}`), c.logPath];
    const entries = files.flatMap((f) => readLog(f));
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  it('rotation with maxFiles 1 truncates the log in place', async () => {
    const c = container(['sh', '-c', 'i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); done'], (s) => {
      s.log = { maxSizeBytes: 4096, maxFiles: 1, firstSeq: 7 };
    });
    const { ch } = await startContainer(c.dir);
    expect(await ch.next()).toMatchObject({ type: 'exit', exitCode: 0 });
    expect(fs.existsSync(`${c.logPath}.1`)).toBe(false);
    const entries = readLog(c.logPath);
    expect(fs.statSync(c.logPath).size).toBeLessThanOrEqual(4096);
    entries.forEach((e, i) => expect(e.seq).toBe(entries[0].seq + i));
    expect(entries.at(-1)).toMatchObject({ seq: 306, log: 'line 299\n' });
  });

  it('an attach client gets its exit frame after the last entry, then the close', async () => {
    const c = container(['sh', '-c', 'echo hi; sleep 0.3']);
    const { ch } = await startContainer(c.dir);
    const { a, reply } = await attach(c.dir, { stdout: true });
    expect(reply).toMatchObject({ type: 'attached' });
    expect(await a.exited()).toEqual({ exitCode: 0, signal: 0 });
    expect(a.frames.at(-1)!.type).toBe(FRAME.exit);
    expect(await ch.next()).toMatchObject({ type: 'exit' });
  });

  it('a client that stops reading holds the output back for a moment at most, then is dropped past 16 MiB; the container goes on', async () => {
    const c = container(['sh', '-c', 'head -c 40000000 /dev/zero | tr "\\0" a; echo end']);
    const { ch } = await startContainer(c.dir);
    const { a, reply } = await attach(c.dir, { stdout: true });
    expect(reply).toMatchObject({ type: 'attached' });
    a.sock.pause();
    expect(await ch.next(30_000)).toMatchObject({ type: 'exit', exitCode: 0 });
    expect(readLog(c.logPath).at(-1)!.log.endsWith('aend\n')).toBe(true);
    a.sock.resume();
    await a.until(() => a.ended);
    expect(a.exitFrame()).toBeUndefined();
    expect(a.output().length).toBeLessThan(40_000_000);
  }, 60_000);

  it('an exec still running when init dies gets its exit frame (SIGKILL from the pid namespace)', async () => {
    const c = container(['sleep', '100']);
    const { ch } = await startContainer(c.dir);
    const x = await FrameClient.connect(c.dir);
    cleanup.push(() => x.close());
    const reply = await x.command(`exec ${JSON.stringify({ args: ['sleep', '100'], env: ['PATH=/bin'] })}`);
    expect(reply).toMatchObject({ type: 'exec-started' });
    ch.send('kill 9');
    expect(await ch.next()).toEqual({ type: 'ok' });
    expect(await x.exited()).toEqual({ exitCode: 137, signal: 9 });
    expect(await ch.next()).toEqual({ type: 'exit', exitCode: 137, signal: 9, finishedAt: FINISHED_AT });
  });

  it('a prompt without a newline becomes its own entry after 100 ms, so attach clients see it', async () => {
    const c = container(['sh', '-c', 'sleep 0.3; printf "name? "; read x; echo "hi $x"'], (s) => { s.openStdin = true; });
    await startContainer(c.dir);
    const { a } = await attach(c.dir, { stdin: true, stdout: true });
    await a.until(() => a.output().toString() === 'name? ');
    a.stdin('bob\n');
    expect(await a.exited()).toEqual({ exitCode: 0, signal: 0 });
    expect(readLog(c.logPath).map((l) => l.log)).toEqual(['name? ', 'hi bob\n']);
  });
});
