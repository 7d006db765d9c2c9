// Hostile input never takes the daemon down. For a bounded time per category: random and malformed tars go to
// Images.Import and Images.Load, a lying registry on loopback serves Images.Pull, and random protobuf payloads go to
// every method of every service. After each, the daemon is alive, answers Version in time, stored nothing half-made
// and no image a failed call started, and nothing outside its data root changed.
// A fixed seed by default (CI replays the same inputs); BERTH_FUZZ_SEED=random for a fresh one, BERTH_FUZZ_SEED=<n> replays
// a run's inputs (the seed is printed); BERTH_FUZZ_MS=<ms> sets the time per category.
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttachRequest, CommitContainerResponse, ContainersService, CopyToContainerRequest, ExecRequest } from '../../src/gen/berth/v1/containers';
import {
  ImageConfig, ImagesService, ImportImageRequest, ImportImageResponse, ListImagesResponse, LoadImageResponse, PullImageRequest, PullImageResponse,
} from '../../src/gen/berth/v1/images';
import { EventsRequest, SystemService, type Event } from '../../src/gen/berth/v1/system';
import { call } from '../../src/cli/client';
import { parseRemoteReference } from '../../src/images/reference';
import { config, createContainer, destroyDaemon, importBusybox, startDaemon, type TestDaemon } from '../helpers/daemon';
import { dockerArchive, hostileArchive, ociLayout, type ArchiveInputs } from '../helpers/fuzz-archive';
import { HostGuard } from '../helpers/fuzz-host';
import { FuzzRegistry, indexAnswer, pullScenario, type Answer } from '../helpers/fuzz-registry';
import { fuzzSeed, Rng } from '../helpers/fuzz-rng';
import { allMethods, payload, rawCall, type Method, type Outcome, type WireContext } from '../helpers/fuzz-rpc';
import { dir, file, gnuLong, hostileLayer, mutateBytes, oddCompression, seedRootfs, sha256, tarOf } from '../helpers/fuzz-tar';
import { IS_ROOT } from '../helpers/paths';

const SEED = fuzzSeed();
const CATEGORY_MS = Number(process.env.BERTH_FUZZ_MS || 6_000);
/** Version must answer within this after each category. */
const HEALTH_DEADLINE_MS = 3_000;
/** A Version call slower than this while the fuzzing runs is a hang of the daemon's event loop. */
const HANG_MS = 5_000;
const CATEGORY = { tars: 1, pull: 2, rpc: 3 } as const;
type Category = keyof typeof CATEGORY;

const method = (m: { path: string; requestStream: boolean; responseStream: boolean }) => ({ path: m.path, requestStream: m.requestStream, responseStream: m.responseStream });
const IMPORT = method(ImagesService.import);
const LOAD = method(ImagesService.load);
const PULL = method(ImagesService.pull);
const VERSION = method(SystemService.version);
const STATUS_NAMES = Object.fromEntries(Object.entries(grpc.status).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v, k])) as Record<number, string>;

describe.skipIf(!IS_ROOT)(`hostile input never takes the daemon down (BERTH_FUZZ_SEED=${SEED})`, () => {
  let d: TestDaemon;
  /** The fuzzing connection: a new one per category, so a stall on one does not carry over. */
  let client: grpc.Client | undefined;
  let pingClient: grpc.Client;
  let guard: HostGuard;
  let registry: FuzzRegistry;
  let eventStream: grpc.ClientReadableStream<Event> | undefined;
  let inputs: ArchiveInputs;
  /** Image ids the daemon announced as imported, loaded or pulled (its journal), and ids OK answers gave us. */
  const announced = new Set<string>();
  const answered = new Set<string>();
  const inFlight = new Map<string, string>();
  let died: string | undefined;
  let stopping = false;
  let stderrSeen = 0;
  /** Fds the daemon holds once it is set up: what it holds after a category is compared with these. */
  let baselineFds = new Set<string>();

  beforeAll(async () => {
    console.log(`fuzz: seed ${SEED} (replay with BERTH_FUZZ_SEED=${SEED}), ${CATEGORY_MS} ms per category`);
    guard = new HostGuard(SEED);
    registry = new FuzzRegistry();
    await registry.start();
    // The daemon logs unclassified errors (UNKNOWN/INTERNAL) only when asked, and process warnings (leaks)
    // without a stack unless asked: we read both as findings.
    const saved = { BERTH_LOG: process.env.BERTH_LOG, NODE_OPTIONS: process.env.NODE_OPTIONS };
    process.env.BERTH_LOG = 'error';
    process.env.NODE_OPTIONS = `${saved.NODE_OPTIONS ?? ''} --trace-warnings`.trim();
    try {
      d = await startDaemon();
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
    guard.ignore(d.root);
    d.process.on('exit', (code, signal) => {
      if (stopping) return;
      died = `berthd exited (code ${code}, signal ${signal}) with these inputs in flight:\n  ${[...inFlight.values()].join('\n  ')}\nstderr tail:\n${d.stderr().slice(-4000)}`;
    });
    // Its own connection, so health pings never queue behind a fuzz upload on the fuzzing connection.
    pingClient = newConnection();
    eventStream = d.clients.system.events(EventsRequest.fromPartial({ filters: ['type=image'] }));
    eventStream.on('data', (e: Event) => { if (['import', 'load', 'pull'].includes(e.action) && e.actor) announced.add(e.actor.id); });
    eventStream.on('error', () => undefined); // cancelled at the end, or the daemon died (reported elsewhere)
    const layer = seedRootfs(4);
    const hostTar = path.join(guard.canaryDir, 'host-layer.tar');
    fs.writeFileSync(hostTar, tarOf(file('from-the-host', 'a host file must never become a layer\n')));
    inputs = { layer, docker: dockerArchive([seedRootfs(1), seedRootfs(2)], 'fuzz-load:1'), oci: ociLayout([seedRootfs(3)], 'fuzz-oci:1'), hostTar, hostTarDiffId: sha256(fs.readFileSync(hostTar)) };
    guard.snapshot();
    baselineFds = new Set(daemonFds());
  }, 60_000);

  afterAll(async () => {
    eventStream?.cancel();
    client?.close();
    pingClient?.close();
    await registry?.stop();
    stopping = true;
    if (d) await destroyDaemon(d);
    if (guard) {
      const problems = guard.check();
      guard.cleanup();
      expect(problems, `seed ${SEED}: outside the data root`).toEqual([]);
    }
    expect(d && fs.existsSync(d.root)).toBe(false);
    expect(died, died).toBeUndefined();
    // SIGTERM is a clean exit: anything else is a crash on the way out.
    expect(d?.process.exitCode).toBe(0);
  }, 60_000);

  /** A client on a connection of its own (grpc-js shares one between clients with equal options otherwise). */
  function newConnection(): grpc.Client {
    return new grpc.Client(d.host, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  }

  async function withFreshClient<T>(fn: (c: grpc.Client) => Promise<T>): Promise<T> {
    const c = newConnection();
    try {
      return await fn(c);
    } finally {
      c.close();
    }
  }

  /** What the daemon's fds point at (sockets and pipes by kind only), to see what a category leaves open. */
  function daemonFds(): string[] {
    const dir = `/proc/${d.process.pid}/fd`;
    const out: string[] = [];
    for (const fd of fs.readdirSync(dir)) {
      try {
        const target = fs.readlinkSync(path.join(dir, fd));
        out.push(/^(socket|pipe|anon_inode):/.test(target) ? target.replace(/\[[0-9]+\]$/, '') : target);
      } catch {
        // closed while we looked
      }
    }
    return out.sort();
  }

  /**
   * Opens the category's own fuzzing connection and, at the end, checks it still answers (a status too big for
   * the client once wedged it until the deadline); the daemon as a whole is judged on other connections.
   */
  async function onFuzzConnection<T>(category: Category, fn: () => Promise<T>): Promise<T> {
    client = newConnection();
    try {
      return await fn();
    } finally {
      const probe = await rawCall(client, VERSION, [Buffer.alloc(0)], { deadlineMs: HEALTH_DEADLINE_MS, cancelAfterMs: HEALTH_DEADLINE_MS });
      client.close();
      // Refused is HTTP/2 guarding itself against a client that resets streams this fast; silence is a wedged connection.
      expect(probe.code, `seed ${SEED}: after ${category}, the connection that carried it no longer answers: ${probe.details}`).not.toBe(grpc.status.DEADLINE_EXCEEDED);
    }
  }

  /** Runs fn on inputs 0, 1, 2... from `concurrency` workers until the category's time is up; returns the count. */
  async function fuzzFor(category: Category, concurrency: number, fn: (rng: Rng, i: number, note: (what: string) => void) => Promise<void>): Promise<number> {
    const end = Date.now() + CATEGORY_MS;
    let next = 0;
    const worker = async () => {
      while (Date.now() < end && !died) {
        const i = next++;
        const id = `${category}#${i}`;
        inFlight.set(id, id);
        try {
          await fn(new Rng(SEED, CATEGORY[category], i), i, (what) => inFlight.set(id, `${id} ${what}`));
        } finally {
          inFlight.delete(id);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return next;
  }

  /** Version every 250 ms on its own connection while fn runs: the slowest answer, and any that failed. */
  async function whilePinging<T>(fn: () => Promise<T>): Promise<{ result: T; slowestMs: number; failures: string[] }> {
    let stop = false;
    let slowestMs = 0;
    const failures: string[] = [];
    const pinger = (async () => {
      while (!stop && !died) {
        const t0 = Date.now();
        const out = await rawCall(pingClient, VERSION, [Buffer.alloc(0)], { deadlineMs: HANG_MS, cancelAfterMs: HANG_MS });
        const ms = Date.now() - t0;
        slowestMs = Math.max(slowestMs, ms);
        if (out.code !== 0 && !died) failures.push(`Version ${STATUS_NAMES[out.code] ?? out.code} after ${ms} ms: ${out.details} (in flight: ${[...inFlight.values()].join('; ')})`);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      return { result: await fn(), slowestMs, failures };
    } finally {
      stop = true;
      await pinger;
    }
  }

  const tally = new Map<string, { count: number; example: string }>();
  const findings = new Map<string, number>();
  /** Inputs whose call the client gave up on: what the daemon may still be working on. */
  const gaveUp: string[] = [];
  function record(category: Category, what: string, out: Outcome, id = ''): void {
    if (out.code === grpc.status.DEADLINE_EXCEEDED) gaveUp.push(`${category} ${id} ${what}`);
    const key = `${category} ${what}: ${STATUS_NAMES[out.code] ?? out.code}`;
    const seen = tally.get(key) ?? { count: 0, example: out.details.slice(0, 160).replace(/[^\x20-\x7e]/g, '?') };
    seen.count++;
    tally.set(key, seen);
    // UNKNOWN is an error nobody classified; INTERNAL from our handlers too (grpc-js's own decode errors aside).
    if (out.code === grpc.status.UNKNOWN || (out.code === grpc.status.INTERNAL && !/deserializ|parse/i.test(out.details))) {
      const finding = `${category} ${what}: ${STATUS_NAMES[out.code]} ${out.details.replace(/[0-9a-f]{12,}/g, '…').slice(0, 200)}`;
      findings.set(finding, (findings.get(finding) ?? 0) + 1);
    }
  }

  function report(category: Category, count: number, ms: number, slowestMs: number): void {
    const mine = (k: string) => k.startsWith(`${category} `);
    const lines = [...tally].filter(([k]) => mine(k)).sort(([a], [b]) => a.localeCompare(b))
      .map(([k, { count: n, example }]) => `    ${k.slice(category.length + 1)} x${n}${example ? `  (${example})` : ''}`);
    const found = [...findings].filter(([k]) => mine(k)).map(([k, n]) => `    ${k.slice(category.length + 1)} x${n}`);
    console.log(`fuzz seed ${SEED}: ${category}: ${count} inputs in ${ms} ms, slowest Version ${slowestMs} ms\n${lines.join('\n')}${found.length ? `\n  unclassified errors (findings, not failures):\n${found.join('\n')}` : ''}`);
  }

  async function listImages(): Promise<ListImagesResponse> {
    const out = await withFreshClient((c) => rawCall(c, method(ImagesService.list), [Buffer.alloc(0)], { deadlineMs: HEALTH_DEADLINE_MS, cancelAfterMs: HEALTH_DEADLINE_MS }));
    expect(out.code, `List: ${out.details}`).toBe(0);
    return ListImagesResponse.decode(out.responses[0]);
  }

  /** The daemon lives and answers; nothing outside changed; nothing half-stored; every image came from a success. */
  async function expectSound(category: Category, ping: { slowestMs: number; failures: string[] }): Promise<void> {
    expect(died, died).toBeUndefined();
    expect(d.process.exitCode).toBeNull();
    const t0 = Date.now();
    const version = await rawCall(pingClient, VERSION, [Buffer.alloc(0)], { deadlineMs: HEALTH_DEADLINE_MS, cancelAfterMs: HEALTH_DEADLINE_MS });
    expect(version.code, `seed ${SEED}: Version after ${category}: ${version.details} (${Date.now() - t0} ms)`).toBe(0);
    expect(ping.failures, `seed ${SEED}: the daemon stopped answering during ${category}`).toEqual([]);
    expect(ping.slowestMs, `seed ${SEED}: Version took ${ping.slowestMs} ms during ${category}`).toBeLessThan(HANG_MS);
    const crashLines = d.stderr().slice(stderrSeen).split('\n').filter((l) => l && !l.startsWith('{'));
    stderrSeen = d.stderr().length;
    expect(crashLines.filter((l) => /uncaught|unhandled|fatal error|core dumped|segmentation/i.test(l)), `seed ${SEED}: berthd stderr`).toEqual([]);
    // Leaks: at most 7 server streams are open at once here (6 fuzzing, 1 events), so more abort listeners than
    // that were never removed; a FileHandle closed by the garbage collector was dropped by code stuck waiting on it.
    expect(crashLines.filter((l) => /MaxListenersExceededWarning|on garbage collection/.test(l)), `seed ${SEED}: berthd stderr`).toEqual([]);
    if (crashLines.length) console.warn(`fuzz: berthd wrote non-log lines to stderr:\n${crashLines.slice(0, 20).join('\n')}`);
    expect(guard.check(), `seed ${SEED}: outside the data root after ${category}`).toEqual([]);

    // Calls the client gave up on may still be finishing on the daemon: wait for their staging to go.
    const staging = () => [
      ...fs.readdirSync(path.join(d.root, 'images', 'tmp')).map((f) => `images/tmp/${f}`),
      ...fs.readdirSync(path.join(d.root, 'layers')).filter((f) => f.startsWith('.tmp-')).map((f) => `layers/${f}`),
      ...fs.readdirSync(path.join(d.root, 'images', 'layerdb')).filter((f) => f.startsWith('.tmp-')).map((f) => `images/layerdb/${f}`),
    ];
    for (let i = 0; i < 150 && staging().length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(staging(), `seed ${SEED}: staging left behind after ${category}; calls that hit their deadline:\n  ${gaveUp.join('\n  ')}\n`).toEqual([]);
    // An image file still open once every call is over is a leak: the fd, and a deleted staging file's space with it.
    const imageFds = () => daemonFds().filter((f) => f.startsWith(`${d.root}/images/`) || f.startsWith(`${d.root}/layers/`));
    for (let i = 0; i < 50 && imageFds().length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(imageFds(), `seed ${SEED}: berthd keeps image files open after ${category}`).toEqual([]);
    const fds = daemonFds().filter((f) => !baselineFds.has(f) && !/^(socket|pipe|anon_inode):|^\/memfd:berth-monitor/.test(f));
    if (fds.length) console.warn(`fuzz: after ${category} berthd holds ${fds.length} more fds than at the start:\n  ${[...new Set(fds)].slice(0, 20).join('\n  ')}`);

    let images = await listImages();
    for (let i = 0; i < 30 && images.images.some((im) => !announced.has(im.id) && !answered.has(im.id)); i++) {
      await new Promise((r) => setTimeout(r, 100));
      images = await listImages();
    }
    const ids = new Set(images.images.map((im) => im.id));
    expect(images.images.filter((im) => !announced.has(im.id) && !answered.has(im.id)).map((im) => `${im.id} ${im.repoTags.join(',')}`),
      `seed ${SEED}: images no successful call made`).toEqual([]);
    // Category 3 may remove images at random; before it, every image a call reported is still there.
    if (category !== 'rpc') expect([...answered].filter((id) => !ids.has(id)), `seed ${SEED}: images reported but missing`).toEqual([]);
    expect(images.images.filter((im) => im.layers.includes(inputs.hostTarDiffId) || im.repoTags.some((t) => t.startsWith('fuzz-from-host'))).map((im) => im.id),
      `seed ${SEED}: an image made from a host file`).toEqual([]);
  }

  /** A tar to Import (header first, usually) or Load, in chunks of a random size. */
  async function sendTar(rng: Rng, rpc: 'import' | 'load', tar: Buffer, i: number, twists = true): Promise<Outcome> {
    // At most about 4000 messages, however small the pick.
    const chunkSize = Math.max(rng.pick([1, 7, 511, 512, 4096, 65_536, 1 << 20]), Math.ceil(tar.length / 4000));
    const chunks: Buffer[] = [];
    for (let off = 0; off < tar.length; off += chunkSize) chunks.push(tar.subarray(off, off + chunkSize));
    if (rpc === 'load') return rawCall(client!, LOAD, chunks.map((chunk) => ImagesService.load.requestSerialize({ chunk })), { deadlineMs: 5_000, cancelAfterMs: 5_000 });
    const header = ImagesService.import.requestSerialize(ImportImageRequest.fromPartial({
      part: { $case: 'header', value: { reference: rng.chance(0.3) ? `fuzz-import:${i}` : '', config: rng.chance(0.2) ? ImageConfig.fromPartial({ cmd: ['/bin/tool'], labels: { a: 'b' } }) : undefined, message: 'fuzz' } },
    }));
    const messages = chunks.map((chunk) => ImagesService.import.requestSerialize({ part: { $case: 'chunk', value: chunk } }));
    const roll = twists ? rng.int(100) : 50;
    if (roll >= 5) messages.unshift(header); // else: no header at all
    if (roll >= 95 && messages.length > 1) messages.splice(rng.range(1, messages.length - 1), 0, header);
    if (twists && rng.chance(0.05)) messages.push(ImagesService.import.requestSerialize({ part: undefined }));
    return rawCall(client!, IMPORT, messages, { deadlineMs: 5_000, cancelAfterMs: 5_000 });
  }

  it('imports and loads the valid seeds', async () => {
    await onFuzzConnection('tars', async () => {
      const imported = await sendTar(new Rng(SEED, 0, 0), 'import', seedRootfs(0), 0, false);
      expect(imported.code, imported.details).toBe(0);
      answered.add(ImportImageResponse.decode(imported.responses[0]).id);
    });
    for (const seed of [inputs.docker, inputs.oci]) {
      const loaded = await withFreshClient((c) => rawCall(c, LOAD, [ImagesService.load.requestSerialize({ chunk: seed.archive })], { deadlineMs: 10_000, cancelAfterMs: 10_000 }));
      expect(loaded.code, loaded.details).toBe(0);
      expect(LoadImageResponse.decode(loaded.responses[0]).loaded).toEqual([seed.name]);
      answered.add(seed.id);
    }
    const ping = { slowestMs: 0, failures: [] };
    await expectSound('tars', ping);
    expect((await listImages()).images.map((im) => im.id).sort()).toEqual([...answered].sort());
  }, 30_000);

  it('survives random and malformed tars on Import and Load', async () => {
    // Inputs that once hung or took the daemon down, first and every time.
    const unreadableSize = Buffer.concat([Buffer.from([0x81]), Buffer.alloc(11)]);
    const known: [string, Buffer][] = [
      ['a file whose size tar-stream reads as null', tarOf(file('f', 'x', { size: unreadableSize }))],
      ['a directory whose size tar-stream reads as null', tarOf(dir('d', { size: unreadableSize }), file('d/f', 'x'))],
      // Its 200 KB name came back in the status details: a trailer no client takes, so the call hung to its deadline.
      ['a GNU long name of 100000 directories', tarOf(gnuLong('L', 'a/'.repeat(100_000)), file('x', 'x'))],
    ];
    await onFuzzConnection('tars', async () => {
      for (const [what, tar] of known) {
        for (const rpc of ['import', 'load'] as const) {
          const out = await sendTar(new Rng(SEED, 0, 1), rpc, tar, 0, false);
          expect(died, died).toBeUndefined();
          expect([grpc.status.INVALID_ARGUMENT, grpc.status.INTERNAL], `${rpc} ${what}: ${STATUS_NAMES[out.code]} ${out.details.slice(0, 200)}`).toContain(out.code);
        }
      }
    });
    const t0 = Date.now();
    const { result: count, slowestMs, failures } = await whilePinging(() => onFuzzConnection('tars', () => fuzzFor('tars', 3, async (rng, i, note) => {
      const roll = rng.int(100);
      let kind: string;
      let tar: Buffer;
      let rpc: 'import' | 'load';
      if (roll < 30) {
        ({ kind, tar } = hostileLayer(rng, guard));
        rpc = rng.chance(0.8) ? 'import' : 'load';
      } else if (roll < 55) {
        const seeds: [string, Buffer, 'import' | 'load'][] = [
          ['rootfs', seedRootfs(i), 'import'], ['gzip rootfs', gzipSync(seedRootfs(i)), 'import'], ['docker-archive', inputs.docker.archive, 'load'],
          ['oci layout', inputs.oci.archive, 'load'], ['hostile layer', hostileLayer(rng, guard).tar, 'import'],
        ];
        const [name, seed, natural] = rng.pick(seeds);
        kind = `mutated ${name}`;
        tar = mutateBytes(rng, seed, () => rng.pick(seeds)[1]);
        rpc = rng.chance(0.8) ? natural : natural === 'import' ? 'load' : 'import';
      } else if (roll < 85) {
        ({ kind, tar } = hostileArchive(rng, guard, inputs));
        rpc = rng.chance(0.9) ? 'load' : 'import';
      } else if (roll < 92) {
        kind = 'random bytes';
        tar = rng.bytes(rng.size(65_536));
        rpc = rng.chance(0.5) ? 'import' : 'load';
      } else {
        kind = 'odd compression';
        tar = oddCompression(rng, seedRootfs(i));
        rpc = rng.chance(0.7) ? 'import' : 'load';
      }
      note(`${rpc} ${kind} (${tar.length} bytes)`);
      const out = await sendTar(rng, rpc, tar, i);
      record('tars', `${rpc} ${kind}`, out, `#${i}`);
      if (out.code === 0 && rpc === 'import') answered.add(ImportImageResponse.decode(out.responses[0]).id);
      if (out.code === 0 && rpc === 'load') for (const l of LoadImageResponse.decode(out.responses[0]).loaded) if (/^sha256:[0-9a-f]{64}$/.test(l)) answered.add(l);
    })));
    report('tars', count, Date.now() - t0, slowestMs);
    await expectSound('tars', { slowestMs, failures });
  }, CATEGORY_MS + 90_000);

  it('survives a registry that lies about manifests, configs and blobs on Pull', async () => {
    // Lies that once took the daemon down, first and every time.
    const known: [string, Answer, grpc.status][] = [
      ['a redirect to an unparsable Location', { status: 302, headers: { location: 'http://%zz/' } }, grpc.status.UNAVAILABLE],
      // The platform came back in the status details, whose encoding throws on a lone surrogate.
      ['an index whose platform is a lone surrogate', indexAnswer([{ os: '\ud800', architecture: 'amd64' }]), grpc.status.NOT_FOUND],
      // All 20000 platforms came back in the details: a trailer no client takes, so the call hung to its deadline.
      ['an index with 20000 platforms, none ours', indexAnswer(Array.from({ length: 20_000 }, () => ({ os: 'linux', architecture: 'arm' }))), grpc.status.NOT_FOUND],
    ];
    for (const [i, [what, answer, code]] of known.entries()) {
      const n = 1_000_000 + i;
      registry.scenarios.set(n, { kind: what, manifests: new Map([['latest', answer]]), blobs: new Map() });
      const out = await withFreshClient((c) => rawCall(c, PULL, [ImagesService.pull.requestSerialize(PullImageRequest.fromPartial({ reference: `${registry.host}/fuzz/c${n}:latest` }))], { deadlineMs: 5_000, cancelAfterMs: 5_000 }));
      expect(died, died).toBeUndefined();
      expect(out.code, `${what}: ${out.details}`).toBe(code);
    }
    const t0 = Date.now();
    const { result: count, slowestMs, failures } = await whilePinging(() => onFuzzConnection('pull', () => fuzzFor('pull', 4, async (rng, i, note) => {
      const { scenario, reference } = pullScenario(rng, registry.host, i, guard);
      registry.scenarios.set(i, scenario);
      note(`pull ${scenario.kind} ${reference}`);
      const platform = rng.chance(0.1) ? rng.pick(['linux/arm64', 'windows/amd64', 'linux', 'linux/amd64/v9/x', 'Linux/AMD64']) : '';
      const auth = rng.chance(0.15) ? { username: rng.pick(['u', '', 'a:b']), password: 'p\r\nx', identityToken: rng.pick(['', 'tok']) } : undefined;
      const request = ImagesService.pull.requestSerialize(PullImageRequest.fromPartial({ reference, platform, auth }));
      const out = await rawCall(client!, PULL, [request], { deadlineMs: 4_000, cancelAfterMs: 4_000 });
      registry.scenarios.delete(i);
      record('pull', scenario.kind, out, `#${i}`);
      if (out.code === 0) {
        const last = PullImageResponse.decode(out.responses[out.responses.length - 1]);
        if (last.part?.$case === 'done') answered.add(last.part.value.id);
      }
    })));
    report('pull', count, Date.now() - t0, slowestMs);
    await expectSound('pull', { slowestMs, failures });
  }, CATEGORY_MS + 90_000);

  it('survives random and mutated protobuf payloads on every method', async () => {
    // Live targets make the random calls reach real code: a running container, one with a tty, a stopped one.
    const names: string[] = [];
    try {
      await importBusybox(d, 'fuzz-busybox');
      const live = await createContainer(d, config('fuzz-busybox', ['sleep', '100000']), 'fuzz-live');
      const tty = await createContainer(d, config('fuzz-busybox', ['sh'], { tty: true, openStdin: true, attachStdin: true }), 'fuzz-tty');
      const stopped = await createContainer(d, config('fuzz-busybox', ['true']), 'fuzz-stopped');
      for (const id of [live, tty]) await call(d.clients.containers, 'start', { containerId: id });
      names.push('fuzz-live', 'fuzz-tty', 'fuzz-stopped', live, tty, stopped, live.slice(0, 12));
    } catch (err) {
      console.warn(`fuzz: no live containers to aim at (${(err as Error).message}); fuzzing without them`);
    }
    const images = (await listImages()).images;
    for (const im of images) answered.add(im.id); // all made by calls checked above; Commit may add more
    const ctx: WireContext = {
      maxDepth: 3,
      strings: [
        '', 'x', 'fuzz-none', 'fuzz-seed', 'fuzz-load:1', 'fuzz-busybox', 'fuzz-busybox:latest', ...names, ...images.map((im) => im.id.slice(7, 19)), images[0]?.id ?? 'sha256:',
        '../../../../etc/passwd', '/etc/shadow', '/', '/tmp', '/etc', '.', '..', guard.next(), guard.next(), guard.next(), 'a'.repeat(70_000), '\u0000', '\uffff\ud800',
        `${registry.host}/fuzz/c0:latest`, 'busybox', 'type=container', 'type=image', 'event=die', 'label=a=b', 'name=fuzz-live', 'dangling=true', 'until=1', 'x=y=z',
        'SIGKILL', 'SIGSTOP', 'SIGCONT', 'SIGWINCH', '9', '0', '-1', '65', 'SIGRTMAX', 'json-file', 'max-size', '1k', 'always', 'on-failure', 'unless-stopped', 'no',
        'none', 'bridge', 'container:fuzz-live', '0-1', '0,2', '99999', 'docker-archive', 'oci', 'zip', 'linux/amd64', 'windows/amd64', 'CMD ["sh"]', 'ENV A=b',
        'EXPOSE 80', 'USER root', 'VOLUME /v', 'WORKDIR ../..', 'ctrl-p,ctrl-q', 'ctrl-@', 'root', '0:0', '65534', 'nobody:nogroup', '80/tcp', 'KEY=value', '=',
        'sh', '-c', 'echo hi', 'true', 'cat', 'sleep', '1', 'stdout', 'stderr',
      ],
    };
    const methods = allMethods();
    const hostile = (rng: Rng) => hostileLayer(rng, guard).tar;
    const t0 = Date.now();
    let skipped = 0;
    const { result: count, slowestMs, failures } = await whilePinging(() => onFuzzConnection('rpc', () => fuzzFor('rpc', 6, async (rng, _i, note) => {
      const m = rng.pick(methods);
      let messages = Array.from({ length: m.requestStream ? rng.range(0, 4) : 1 }, () => payload(rng, m, ctx));
      if (names.length && rng.chance(0.4)) messages = structured(rng, m, names, hostile) ?? messages;
      const why = refuse(m, messages, registry.host);
      if (why) { skipped++; return; }
      note(`${m.path} [${messages.map((b) => b.length).join(',')}]`);
      const out = await rawCall(client!, m, messages, { deadlineMs: 2_000, cancelAfterMs: rng.range(50, 600), endInput: rng.chance(0.8) });
      record('rpc', m.path, out);
      if (out.code === 0 && m.path === ContainersService.commit.path) answered.add(CommitContainerResponse.decode(out.responses[0]).id);
      if (out.code === 0 && m.path === IMPORT.path) answered.add(ImportImageResponse.decode(out.responses[0]).id);
    })));
    report('rpc', count, Date.now() - t0, slowestMs);
    console.log(`fuzz: rpc: ${skipped} inputs skipped (they would pull from the internet or give a container host access)`);
    await expectSound('rpc', { slowestMs, failures });
  }, CATEGORY_MS + 120_000);
});

/** Well-formed openings for the methods with framing of their own (Attach, Exec, CopyTo), aimed at the live targets. */
function structured(rng: Rng, m: Method, names: string[], hostile: (rng: Rng) => Buffer): Buffer[] | undefined {
  const containerId = rng.pick(names);
  const frames = () => Array.from({ length: rng.range(0, 6) }, () => rng.pick<() => unknown>([
    () => ({ frame: { $case: 'stdin', value: rng.bytes(rng.size(2048)) } }),
    () => ({ frame: { $case: 'resize', value: { rows: rng.pick([0, 1, 24, 65535, 2 ** 32 - 1]), cols: rng.pick([0, 1, 80, 65535, 2 ** 32 - 1]) } } }),
    () => ({ frame: { $case: 'signal', value: rng.pick(['SIGWINCH', 'SIGCONT', 'SIGUSR1', 'NOPE', '', '-1', '999']) } }),
    () => ({ frame: { $case: 'closeStdin', value: rng.chance(0.5) } }),
    () => ({ frame: undefined }),
  ])());
  if (m.path === ContainersService.attach.path) {
    const options = { containerId, stdin: rng.chance(0.5), stdout: true, stderr: rng.chance(0.5), logs: rng.chance(0.5), detachKeys: rng.pick(['', 'ctrl-p,ctrl-q', 'ctrl-@', 'a,b,c', 'ctrl-', '\u0000']), size: rng.chance(0.5) ? { rows: rng.int(300), cols: rng.int(300) } : undefined, start: rng.chance(0.3) };
    return [{ frame: { $case: 'options', value: options } }, ...frames()].map((f) => Buffer.from(AttachRequest.encode(AttachRequest.fromPartial(f as AttachRequest)).finish()));
  }
  if (m.path === ContainersService.exec.path) {
    const options = {
      containerId, cmd: rng.pick([['true'], ['sh', '-c', 'echo hi; echo err >&2'], ['cat'], [], ['/nonexistent'], ['sleep', '1'], ['']]), env: rng.pick([[], ['A=b'], ['=x'], ['\u0000']]),
      user: rng.pick(['', 'root', 'nobody', '99999', 'nope', '0:0']), workingDir: rng.pick(['', '/', '/tmp', 'relative', '/nonexistent']), tty: rng.chance(0.4), stdin: rng.chance(0.5),
      size: rng.chance(0.5) ? { rows: rng.int(300), cols: rng.int(300) } : undefined, detachKeys: rng.pick(['', 'ctrl-p,ctrl-q', 'bogus']),
    };
    return [{ frame: { $case: 'options', value: options } }, ...frames()].map((f) => Buffer.from(ExecRequest.encode(ExecRequest.fromPartial(f as ExecRequest)).finish()));
  }
  if (m.path === ContainersService.copyTo.path) {
    const tar = rng.chance(0.8) ? hostile(rng) : rng.bytes(rng.size(4096));
    const header = { containerId, path: rng.pick(['/', '/tmp', '/etc', '/nonexistent', '../../..', '/proc', '/dev', 'tmp']), noOverwriteDirNonDir: rng.chance(0.5), copyUidGid: rng.chance(0.5) };
    return [
      Buffer.from(CopyToContainerRequest.encode(CopyToContainerRequest.fromPartial({ part: { $case: 'header', value: header } })).finish()),
      Buffer.from(CopyToContainerRequest.encode(CopyToContainerRequest.fromPartial({ part: { $case: 'chunk', value: tar } })).finish()),
    ];
  }
  return undefined;
}

/** Host settings a created container must not get (it could be started by a later random call). */
const SAFE_HOST_CONFIG = new Set(['containerIdFile', 'lxcConf', 'links', 'logConfig', 'cpuQuota', 'cpuPeriod', 'nanoCpus', 'cpusetCpus', 'cpusetMems', 'pidsLimit',
  'restartPolicy', 'autoRemove', 'extraHosts', 'readOnlyRootfs', 'shmSize', 'networkMode']);

function isDefault(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && !(v instanceof Date) && !Buffer.isBuffer(v) && Object.keys(v).length === 0;
}

/**
 * Why a payload is not sent, or undefined. Decoded as the daemon will decode it: a pull or push to anywhere but
 * our loopback registry (it would go to the internet), or a create with host access (binds, privileges, the host's
 * namespaces, published ports): what a valid request may legitimately do outside the data root.
 */
function refuse(m: Method, messages: Buffer[], registryHost: string): string | undefined {
  for (const msg of messages) {
    let v: Record<string, unknown>;
    try {
      v = m.decode?.(msg) as Record<string, unknown>;
    } catch {
      continue; // the daemon cannot decode it either
    }
    if (!v) continue;
    if (m.path === ImagesService.pull.path || m.path === ImagesService.push.path) {
      try {
        if (parseRemoteReference(String(v.reference ?? ''), 'reference').domain !== registryHost) return 'registry off loopback';
      } catch {
        // not a reference: refused by the daemon before any request
      }
    }
    if (m.path === ContainersService.create.path && v.hostConfig) {
      const risky = Object.entries(v.hostConfig as Record<string, unknown>).some(([k, val]) => !isDefault(val)
        && (!SAFE_HOST_CONFIG.has(k) || (k === 'networkMode' && !['none', 'bridge'].includes(String(val)))));
      if (risky) return 'create with host access';
    }
  }
  return undefined;
}
