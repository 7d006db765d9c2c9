// Image distribution against a real registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1: push and
// pull between two daemons, multi-layer images with whiteouts, docker-archive and OCI layout round trips, a
// tampered blob, basic and bearer-token auth. Each registry runs with its own config and storage, removed after.
import { spawnSync } from 'node:child_process';
import crypto, { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/client';
import type {
  ImageHistoryResponse, InspectImageResponse, ListImagesResponse, LoadImageResponse, Progress, PullImageResponse, PushImageResponse, RegistryAuth,
} from '../../src/gen/berth/v1/images';
import { EventsRequest, type Event } from '../../src/gen/berth/v1/system';
import { RegistryClient } from '../../src/images/registry-client';
import { uploadBlob } from '../../src/images/push';
import { cli, config, createContainer, destroyDaemon, importBusybox, runToEnd, startDaemon, type TestDaemon } from '../helpers/daemon';
import { BUSYBOX_TAR, IS_ROOT } from '../helpers/paths';
import { tarOf } from '../helpers/tar';
import { HAVE_HTPASSWD, HAVE_OPENSSL, HAVE_REGISTRY, startRegistry, type TestRegistry } from '../helpers/registry';


const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function pull(d: TestDaemon, reference: string, auth?: RegistryAuth): Promise<{ progress: Progress[]; done: { id: string; digest: string; reference: string } }> {
  const progress: Progress[] = [];
  let done: { id: string; digest: string; reference: string } | undefined;
  for await (const m of d.clients.images.pull({ reference, auth, platform: '' }) as AsyncIterable<PullImageResponse>) {
    if (m.part?.$case === 'progress') progress.push(m.part.value);
    else if (m.part?.$case === 'done') done = m.part.value;
  }
  return { progress, done: done! };
}

async function push(d: TestDaemon, reference: string, auth?: RegistryAuth): Promise<{ progress: Progress[]; digest: string; last: string }> {
  const progress: Progress[] = [];
  let digest = '';
  let last = '';
  for await (const m of d.clients.images.push({ reference, auth }) as AsyncIterable<PushImageResponse>) {
    last = m.part?.$case ?? '';
    if (m.part?.$case === 'progress') progress.push(m.part.value);
    else if (m.part?.$case === 'done') digest = m.part.value.digest;
  }
  return { progress, digest, last };
}

function load(d: TestDaemon, archive: Buffer): Promise<LoadImageResponse> {
  return new Promise((resolve, reject) => {
    const stream = d.clients.images.load((err, r) => (err ? reject(err) : resolve(r)));
    for (let off = 0; off < archive.length; off += 100_000) stream.write({ chunk: archive.subarray(off, off + 100_000) });
    stream.end();
  });
}

async function save(d: TestDaemon, images: string[], format = ''): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const m of d.clients.images.save({ images, format }) as AsyncIterable<{ chunk: Buffer }>) chunks.push(m.chunk);
  return Buffer.concat(chunks);
}

const inspect = (d: TestDaemon, image: string) => call<typeof d.clients.images, unknown, InspectImageResponse>(d.clients.images, 'inspect', { image }).then((r) => r.image!);
const listIds = (d: TestDaemon) => call<typeof d.clients.images, unknown, ListImagesResponse>(d.clients.images, 'list', {}).then((r) => r.images.map((i) => i.id).sort());
const storeFiles = (d: TestDaemon) => ['layers', 'images/layerdb', 'images/blobs/sha256', 'images/tmp'].map((dir) => fs.readdirSync(path.join(d.root, dir)).sort());

/**
 * A three-layer docker-archive: busybox, then a layer adding /etc/secret and /opq/{a,b}, then one (gzip) whose
 * whiteouts delete /etc/secret and make /opq opaque, adding /opq/new. The config carries ports, labels and so on.
 */
async function multiLayerArchive(): Promise<{ archive: Buffer; id: string }> {
  const base = fs.readFileSync(BUSYBOX_TAR);
  const middle = await tarOf([
    { name: 'etc/', type: 'directory', mode: 0o755 },
    { name: 'etc/secret', body: 'hidden by the top layer\n' },
    { name: 'opq/', type: 'directory', mode: 0o755 },
    { name: 'opq/a', body: 'a' },
    { name: 'opq/b', body: 'b' },
  ]);
  const top = await tarOf([
    { name: 'etc/', type: 'directory', mode: 0o755 },
    { name: 'etc/.wh.secret', body: '' },
    { name: 'opq/', type: 'directory', mode: 0o755 },
    { name: 'opq/.wh..wh..opq', body: '' },
    { name: 'opq/new', body: 'new' },
  ]);
  const created = '2024-01-02T03:04:05Z';
  const configBytes = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created, author: 'berth tests',
    config: {
      Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'MULTI=1'], Cmd: ['sh'], WorkingDir: '/opq',
      ExposedPorts: { '8080/tcp': {} }, Volumes: { '/data': {} }, Labels: { 'org.example.kind': 'multi' }, StopSignal: 'SIGUSR1',
    },
    rootfs: { type: 'layers', diff_ids: [sha256(base), sha256(middle), sha256(top)] },
    history: [
      { created, created_by: 'ADD busybox /' },
      { created, created_by: 'ENV MULTI=1', empty_layer: true },
      { created, created_by: 'ADD secret and opq' },
      { created, created_by: 'RUN rm /etc/secret && rm -r /opq/*', comment: 'the deleting layer' },
    ],
  }));
  const id = sha256(configBytes);
  const manifest = [{ Config: `${id.slice(7)}.json`, RepoTags: ['multi:latest'], Layers: ['base/layer.tar', 'middle/layer.tar', 'top/layer.tar.gz'] }];
  const archive = await tarOf([
    { name: 'base/layer.tar', body: base },
    { name: 'middle/layer.tar', body: middle },
    { name: 'top/layer.tar.gz', body: gzipSync(top) },
    { name: `${id.slice(7)}.json`, body: configBytes },
    // docker save writes manifest.json last, after the layers it names.
    { name: 'manifest.json', body: JSON.stringify(manifest) },
  ]);
  return { archive, id };
}

describe.skipIf(!IS_ROOT || !HAVE_REGISTRY)('image distribution', () => {
  let d1: TestDaemon;
  let d2: TestDaemon;
  let registry: TestRegistry;
  let busyboxId: string;
  let multiId: string;

  beforeAll(async () => {
    [d1, d2, registry] = await Promise.all([startDaemon(), startDaemon(), startRegistry()]);
    busyboxId = await importBusybox(d1);
  });

  afterAll(async () => {
    await Promise.all([d1 && destroyDaemon(d1), d2 && destroyDaemon(d2), registry?.stop()]);
  });

  it('pushes busybox and pulls it into a second daemon with the same id, and it runs', async () => {
    const ref = `${registry.host}/busybox:latest`;
    await call(d1.clients.images, 'tag', { image: 'busybox', reference: ref });
    const pushed = await push(d1, ref);
    expect(pushed.last).toBe('done');
    expect(pushed.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(pushed.progress.map((p) => p.status)).toContain('Pushed');
    expect((await inspect(d1, ref)).repoDigests).toEqual([`${registry.host}/busybox@${pushed.digest}`]);

    const pulled = await pull(d2, ref);
    expect(pulled.done).toEqual({ id: busyboxId, digest: pushed.digest, reference: ref });
    expect(pulled.progress.map((p) => p.status)).toEqual(expect.arrayContaining(['Pulling fs layer', 'Download complete', 'Pull complete']));
    const image = await inspect(d2, ref);
    expect(image).toMatchObject({ id: busyboxId, repoTags: [ref], repoDigests: [`${registry.host}/busybox@${pushed.digest}`], rootFsType: 'layers' });
    const run = await runToEnd(d2, config(ref, ['echo', 'pulled']));
    expect(run).toMatchObject({ exitCode: 0, stdout: 'pulled\n' });

    // Again: every layer is there, and the registry has every blob.
    expect((await pull(d2, ref)).progress.filter((p) => p.id).map((p) => p.status)).toEqual(['Already exists']);
    expect((await push(d1, ref)).progress.filter((p) => p.id).map((p) => p.status)).toEqual(['Preparing', 'Layer already exists']);
    // By digest: no tag is made, the same image is found.
    const byDigest = await pull(d2, `${registry.host}/busybox@${pushed.digest}`);
    expect(byDigest.done).toMatchObject({ id: busyboxId, reference: `${registry.host}/busybox@${pushed.digest}` });
  });

  it('loads a multi-layer docker-archive whose top layer deletes files, and containers do not see them', async () => {
    const { archive, id } = await multiLayerArchive();
    multiId = id;
    expect(await load(d1, archive)).toEqual({ loaded: ['multi:latest'] });
    const image = await inspect(d1, 'multi');
    expect(image).toMatchObject({
      id, author: 'berth tests', rootFsType: 'layers',
      config: { exposedPorts: ['8080/tcp'], volumes: ['/data'], labels: { 'org.example.kind': 'multi' }, stopSignal: 'SIGUSR1', workingDir: '/opq' },
    });
    expect(image.layers).toHaveLength(3);
    const run = await runToEnd(d1, config('multi', ['sh', '-c', 'cat /etc/secret 2>&1; ls -A /opq; pwd; echo $MULTI']));
    expect(run.stdout).toBe('cat: can\'t open \'/etc/secret\': No such file or directory\nnew\n/opq\n1\n');

    const history = (await call<typeof d1.clients.images, unknown, ImageHistoryResponse>(d1.clients.images, 'history', { image: 'multi' })).history;
    expect(history.map((h) => [h.id, h.createdBy, h.emptyLayer])).toEqual([
      [id, 'RUN rm /etc/secret && rm -r /opq/*', false], ['<missing>', 'ADD secret and opq', false],
      ['<missing>', 'ENV MULTI=1', true], ['<missing>', 'ADD busybox /', false],
    ]);
    expect(history.map((h) => h.size)).toEqual([3, 26, 0, expect.any(Number)]);
    expect(history[0]).toMatchObject({ tags: ['multi:latest'], comment: 'the deleting layer' });
  });

  it('pushes the multi-layer image and a second daemon pulls it with its whiteouts', async () => {
    const ref = `${registry.host}/team/multi:v1`;
    await call(d1.clients.images, 'tag', { image: 'multi', reference: ref });
    const pushed = await push(d1, ref);
    // The busybox layer went up with the busybox image already: the registry links it across repositories.
    expect(pushed.progress.filter((p) => p.status === 'Mounted from busybox')).toHaveLength(1);
    const pulled = await pull(d2, ref);
    expect(pulled.done.id).toBe(multiId);
    expect(pulled.progress.filter((p) => p.status === 'Already exists')).toHaveLength(1);
    const run = await runToEnd(d2, config(ref, ['sh', '-c', 'test -e /etc/secret || echo gone; ls -A /opq']));
    expect(run.stdout).toBe('gone\nnew\n');
  });

  it('saves and loads both formats into a fresh daemon with the same ids and names', async () => {
    const d3 = await startDaemon();
    try {
      for (const format of ['docker-archive', 'oci']) {
        const archive = await save(d1, ['multi:latest', 'busybox', multiId.slice(7, 19)], format);

        const loaded = await load(d3, archive);

        expect(loaded.loaded.sort()).toEqual(['busybox:latest', 'multi:latest']);
        expect(await listIds(d3)).toEqual([busyboxId, multiId].sort());
        const run = await runToEnd(d3, config('multi', ['ls', '-A', '/opq']));
        expect(run.stdout).toBe('new\n');
        await call(d3.clients.containers, 'remove', { containerId: run.id, force: true });
        for (const name of ['multi:latest', 'busybox:latest']) await call(d3.clients.images, 'remove', { image: name, force: false });
        expect(storeFiles(d3)).toEqual([[], [], [], []]);
      }
      // An OCI layout names its images by annotation.
      const oci = await save(d1, ['multi'], 'oci');
      const files = await tarEntries(oci);
      const index = JSON.parse(files.get('index.json')!.toString());
      expect(index.manifests[0].annotations).toEqual({ 'io.containerd.image.name': 'docker.io/library/multi:latest', 'org.opencontainers.image.ref.name': 'latest' });
      expect(files.get('oci-layout')!.toString()).toBe('{"imageLayoutVersion":"1.0.0"}');
    } finally {
      await destroyDaemon(d3);
    }
  });

  it('a load with one bad layer among good ones stores nothing', async () => {
    const good = await tarOf([{ name: 'good', body: 'fine' }]);
    const bad = await tarOf([{ name: 'bad', body: 'not what the config says' }]);
    const cfg = (diffIds: string[]) => Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
    const first = cfg([sha256(good)]);
    const second = cfg([sha256(good), sha256('something else')]);
    const archive = await tarOf([
      { name: 'good.tar', body: good }, { name: 'bad.tar', body: bad }, { name: 'first.json', body: first }, { name: 'second.json', body: second },
      { name: 'manifest.json', body: JSON.stringify([{ Config: 'first.json', RepoTags: ['first:1'], Layers: ['good.tar'] }, { Config: 'second.json', RepoTags: ['second:1'], Layers: ['good.tar', 'bad.tar'] }]) },
    ]);
    const before = { ids: await listIds(d2), files: storeFiles(d2) };
    await expect(load(d2, archive)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('layer bad.tar: uncompressed content has diff id') });
    expect(await listIds(d2)).toEqual(before.ids);
    expect(storeFiles(d2)).toEqual(before.files);
  });

  it('rmi of an image a container uses is refused; forced, it is only untagged; a running user refuses even force', async () => {
    const ref = `${registry.host}/team/multi:v1`;
    const stopped = await runToEnd(d2, config(ref, ['true']));
    await expect(call(d2.clients.images, 'remove', { image: ref, force: false })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION, details: expect.stringMatching(/: in use by container [0-9a-f]{12}: remove it first, or force to untag the image$/),
    });
    expect((await inspect(d2, multiId)).repoTags).toEqual([ref]);
    const running = await createContainer(d2, config(ref, ['sleep', '1000']));
    await call(d2.clients.containers, 'start', { containerId: running });
    await expect(call(d2.clients.images, 'remove', { image: ref, force: true })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION, details: expect.stringMatching(/: in use by running container [0-9a-f]{12}$/),
    });
    await call(d2.clients.containers, 'remove', { containerId: running, force: true });
    expect(await call(d2.clients.images, 'remove', { image: ref, force: true })).toEqual({ untagged: [ref], deleted: [] });
    expect((await inspect(d2, multiId)).repoTags).toEqual([]);
    // The stopped container still runs from it, and the image can be named again.
    await call(d2.clients.containers, 'start', { containerId: stopped.id });
    await call(d2.clients.images, 'tag', { image: multiId, reference: ref });
  });

  it('refuses a tampered blob from the registry and stores nothing', async () => {
    const layer = await tarOf([{ name: 'tamper', body: 'x'.repeat(50_000) }]);
    const imported = await new Promise<string>((resolve, reject) => {
      const s = d1.clients.images.import((err, r) => (err ? reject(err) : resolve(r.id)));
      s.write({ part: { $case: 'header', value: { reference: `${registry.host}/tamper:1`, config: undefined, message: '' } } });
      s.write({ part: { $case: 'chunk', value: layer } });
      s.end();
    });
    expect(imported).toMatch(/^sha256:/);
    const pushed = await push(d1, `${registry.host}/tamper:1`);
    const manifest = JSON.parse(fs.readFileSync(registry.blobFile(pushed.digest), 'utf8'));
    const blob = registry.blobFile(manifest.layers[0].digest);
    const bytes = fs.readFileSync(blob);
    bytes[bytes.length >> 1] ^= 0xff;
    fs.writeFileSync(blob, bytes);

    const before = { ids: await listIds(d2), files: storeFiles(d2) };
    const err = await pull(d2, `${registry.host}/tamper:1`).catch((e: grpc.ServiceError) => e);
    expect(err).toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    expect((err as grpc.ServiceError).details).toContain(`layer ${manifest.layers[0].digest}: content has digest sha256:`);
    expect(await listIds(d2)).toEqual(before.ids);
    expect(storeFiles(d2)).toEqual(before.files);
  });

  it('a pull cancelled mid-layer stops and stores nothing', async () => {
    const big = await tarOf([{ name: 'big', body: crypto.randomBytes(24 * 1024 * 1024) }]);
    const ref = `${registry.host}/big:1`;
    await new Promise<string>((resolve, reject) => {
      const s = d1.clients.images.import((err, r) => (err ? reject(err) : resolve(r.id)));
      s.write({ part: { $case: 'header', value: { reference: ref, config: undefined, message: '' } } });
      for (let off = 0; off < big.length; off += 1 << 20) s.write({ part: { $case: 'chunk', value: big.subarray(off, off + (1 << 20)) } });
      s.end();
    });
    await push(d1, ref);
    const before = { ids: await listIds(d2), files: storeFiles(d2) };
    const stream = d2.clients.images.pull({ reference: ref, auth: undefined, platform: '' });
    const seen: string[] = [];
    await expect((async () => {
      for await (const m of stream as AsyncIterable<PullImageResponse>) {
        if (m.part?.$case === 'progress') seen.push(m.part.value.status);
        if (seen.includes('Downloading')) stream.cancel();
      }
    })()).rejects.toMatchObject({ code: grpc.status.CANCELLED });
    expect(seen).not.toContain('Pull complete');
    for (let i = 0; i < 100 && JSON.stringify(storeFiles(d2)) !== JSON.stringify(before.files); i++) await new Promise((r) => setTimeout(r, 50));
    expect(storeFiles(d2)).toEqual(before.files);
    expect(await listIds(d2)).toEqual(before.ids);
  });

  it('a chunked upload (PATCH with Content-Range, then PUT) stores the blob', async () => {
    const blob = Buffer.alloc(300_000);
    for (let i = 0; i < blob.length; i++) blob[i] = (i * 7919) & 0xff;
    const client = new RegistryClient({ domain: registry.host, repository: 'chunked', push: true });
    await uploadBlob(client, { digest: sha256(blob), size: blob.length, open: (s, e) => Readable.from([blob.subarray(s, e)]) }, 64 * 1024, () => undefined);
    const res = await client.request('GET', client.url(`blobs/${sha256(blob)}`), { ok: [200], what: 'get' });
    const back: Buffer[] = [];
    for await (const c of res) back.push(c as Buffer);
    expect(sha256(Buffer.concat(back))).toBe(sha256(blob));
  });

  it('bad references are INVALID_ARGUMENT naming the field', async () => {
    const bad = `${registry.host}/Upper/case`;
    await expect(pull(d2, bad)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/^reference "127\.0\.0\.1:[0-9]+\/Upper\/case": not a valid repository name/) });
    await expect(pull(d2, `${registry.host}/nothing:here`)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(pull(d2, `${registry.host}/busybox`, undefined)).resolves.toBeDefined();
    await expect(save(d1, ['busybox'], 'zip')).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/^format "zip"/) });
    await expect(load(d2, Buffer.alloc(2048, 1))).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it('the CLI pulls, pushes, saves, loads and shows history', async () => {
    const ref = `${registry.host}/busybox:latest`;
    const pulled = cli(d2, ['pull', ref]);
    expect(pulled.stderr).toBe('');
    expect(pulled.stdout).toContain(`${ref}\n`);
    expect(cli(d1, ['push', ref]).stdout).toContain('Layer already exists');
    const file = path.join(d1.root, 'saved.tar');
    expect(cli(d1, ['save', '-o', file, 'multi'])).toMatchObject({ status: 0 });
    expect(cli(d2, ['load', '-i', file])).toMatchObject({ status: 0, stdout: 'Loaded image: multi:latest\n' });
    const history = cli(d2, ['history', 'multi']);
    expect(history.stdout.split('\n')[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    expect(history.stdout).toContain('<missing>');
  });

  it('records pull, push, load and save as image events', async () => {
    const actions = async (d: TestDaemon) => {
      const out: string[] = [];
      for await (const e of d.clients.system.events(EventsRequest.fromPartial({ since: new Date(0), until: new Date(), filters: ['type=image'] }))) {
        out.push(`${(e as Event).action} ${(e as Event).actor?.attributes.name ?? ''}`);
      }
      return out;
    };
    expect(await actions(d1)).toEqual(expect.arrayContaining([`push ${registry.host}/busybox:latest`, 'load multi:latest', 'save multi:latest']));
    expect(await actions(d2)).toEqual(expect.arrayContaining([`pull ${registry.host}/busybox:latest`]));
  });
});

async function tarEntries(archive: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      files.set(entry.header.name, Buffer.concat(chunks));
    }
  })();
  extract.end(archive);
  await done;
  return files;
}

describe.skipIf(!IS_ROOT || !HAVE_REGISTRY)('registry auth', () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await startDaemon();
    await importBusybox(d);
  });
  afterAll(() => destroyDaemon(d));

  it.skipIf(!HAVE_HTPASSWD)('basic: refused without credentials, pushed and pulled with them', async () => {
    const registry = await startRegistry({ kind: 'htpasswd', username: 'berth', password: 's3cret' });
    try {
      const ref = `${registry.host}/basic:1`;
      await call(d.clients.images, 'tag', { image: 'busybox', reference: ref });
      await expect(push(d, ref)).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringContaining('requires a username and password') });
      await expect(push(d, ref, { username: 'berth', password: 'wrong', identityToken: '' })).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
      const auth = { username: 'berth', password: 's3cret', identityToken: '' };
      expect((await push(d, ref, auth)).last).toBe('done');
      await call(d.clients.images, 'remove', { image: ref, force: false });
      expect((await pull(d, ref, auth)).done.reference).toBe(ref);
    } finally {
      await registry.stop();
    }
  });

  it.skipIf(!HAVE_OPENSSL)('bearer: tokens from the realm, anonymous pull, push only with credentials', async () => {
    const registry = await startRegistry({ kind: 'token', username: 'berth', password: 't0ken' });
    try {
      const ref = `${registry.host}/bearer/app:1`;
      await call(d.clients.images, 'tag', { image: 'busybox', reference: ref });
      await expect(push(d, ref)).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
      expect((await push(d, ref, { username: 'berth', password: 't0ken', identityToken: '' })).last).toBe('done');
      await call(d.clients.images, 'remove', { image: ref, force: false });
      expect((await pull(d, ref)).done.reference).toBe(ref);
    } finally {
      await registry.stop();
    }
  });
});


const DOCKER_UP = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
if (IS_ROOT && !DOCKER_UP) console.warn('images-dist: docker interop skipped: no docker daemon answers `docker info`');

describe.skipIf(!IS_ROOT || !DOCKER_UP)('docker interop', () => {
  let d: TestDaemon;
  const name = 'berth-interop-test:1';
  beforeAll(async () => { d = await startDaemon(); });
  afterAll(async () => {
    spawnSync('docker', ['rmi', '-f', name], { stdio: 'ignore' });
    await destroyDaemon(d);
  });

  it('an image saved by berth loads in docker, and docker save of it loads back in berth with the same id', async () => {
    const { archive, id } = await multiLayerArchive();
    await load(d, archive);
    await call(d.clients.images, 'tag', { image: 'multi', reference: name });
    const file = path.join(d.root, 'to-docker.tar');
    fs.writeFileSync(file, await save(d, [name]));
    const loaded = spawnSync('docker', ['load', '-i', file], { encoding: 'utf8', timeout: 60_000 });
    expect(loaded.stdout).toContain(`Loaded image: ${name}`);
    const back = spawnSync('docker', ['save', name], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
    expect(back.status).toBe(0);
    await call(d.clients.images, 'remove', { image: name, force: false });
    await call(d.clients.images, 'remove', { image: 'multi', force: false });
    expect(await load(d, back.stdout as Buffer)).toEqual({ loaded: [name] });
    expect((await inspect(d, name)).id).toBe(id);
  });
});
