// The API's contract: status codes, bad input that changes nothing, lookups, images, health, reflection.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/client';
import { HostConfig, type ListContainersResponse } from '../../src/gen/berth/v1/containers';
import type { InspectImageResponse, ListImagesResponse, RemoveImageResponse } from '../../src/gen/berth/v1/images';
import { config, createContainer, destroyDaemon, importBusybox, runToEnd, startDaemon, type TestDaemon } from '../helpers/daemon';
import { BERTHD, IS_ROOT, PROJECT_ROOT } from '../helpers/paths';

function treeOf(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe.skipIf(!IS_ROOT)('the API', () => {
  let d: TestDaemon;
  let imageId: string;

  beforeAll(async () => {
    d = await startDaemon();
    imageId = await importBusybox(d);
  });

  afterAll(() => destroyDaemon(d));

  it('keeps the data root 0710 and the socket 0600', () => {
    expect(fs.statSync(d.root).mode & 0o777).toBe(0o710);
    expect(fs.statSync(d.socket).mode & 0o777).toBe(0o600);
  });

  it('refuses a second berthd on the same root with a clear message, leaving the first serving', async () => {
    const second = spawnSync(process.execPath, [BERTHD, '--root', d.root, '--listen', `unix://${d.root}/second.sock`], { encoding: 'utf8', timeout: 30_000 });
    expect(second.status).toBe(1);
    expect(second.stderr).toBe(`berthd: data root ${d.root} is in use by another berthd (pid ${d.process.pid})\n`);
    expect(fs.existsSync(d.socket)).toBe(true);
    await expect(call(d.clients.system, 'version', {})).resolves.toMatchObject({ apiVersion: 'v1' });
  });

  it('finds a container by name, full id and unique prefix; a duplicate name is ALREADY_EXISTS', async () => {
    const id = await createContainer(d, config('busybox', ['true']), 'unique-name');
    for (const ref of ['unique-name', '/unique-name', id, id.slice(0, 12)]) {
      const res = await call<typeof d.clients.containers, unknown, { container: { id: string } }>(d.clients.containers, 'inspect', { containerId: ref });
      expect(res.container.id).toBe(id);
    }
    await expect(createContainer(d, config('busybox', ['true']), 'unique-name')).rejects.toMatchObject({
      code: grpc.status.ALREADY_EXISTS, details: expect.stringContaining('unique-name'),
    });
  });

  it('an unknown container is NOT_FOUND', async () => {
    await expect(call(d.clients.containers, 'start', { containerId: 'nope' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it.each([
    [{ config: config('busybox', ['true'], { env: ['=x'] }) }, grpc.status.INVALID_ARGUMENT, /config\.env "=x"/],
    [{ config: config('busybox', ['true'], { workingDir: 'rel' }) }, grpc.status.INVALID_ARGUMENT, /config\.working_dir "rel"/],
    [{ config: config('busybox', ['true'], { hostname: 'bad_host!' }) }, grpc.status.INVALID_ARGUMENT, /config\.hostname/],
    [{ config: config('busybox', ['true'], { user: 'a:b:c' }) }, grpc.status.INVALID_ARGUMENT, /config\.user/],
    [{ config: config('busybox', ['true']), name: 'bad name' }, grpc.status.INVALID_ARGUMENT, /name "bad name"/],
    [{ config: config('', ['true']) }, grpc.status.INVALID_ARGUMENT, /config\.image/],
    [{ config: config('nosuchimage', ['true']) }, grpc.status.NOT_FOUND, /image nosuchimage/],
    [{ config: config('busybox', ['true'], { volumes: ['data'] }) }, grpc.status.INVALID_ARGUMENT, /config\.volumes "data"/],
    [{ config: config('busybox', ['true'], { memory: 1 << 20 }) }, grpc.status.INVALID_ARGUMENT, /config\.memory 1048576: below the 6 MiB minimum/],
    [{ config: config('busybox', ['true']), hostConfig: HostConfig.fromPartial({ nanoCpus: 1e15 }) }, grpc.status.INVALID_ARGUMENT, /host_config\.nano_cpus/],
    [{ config: config('busybox', ['true']), hostConfig: HostConfig.fromPartial({ cpusetCpus: '0-99' }) }, grpc.status.INVALID_ARGUMENT, /host_config\.cpuset_cpus "0-99"/],
    [{ config: config('busybox', ['true']), hostConfig: HostConfig.fromPartial({ restartPolicy: { name: 'sometimes', maximumRetryCount: 0 } }) }, grpc.status.INVALID_ARGUMENT, /host_config\.restart_policy\.name "sometimes"/],
    [{ config: config('busybox', ['true']), hostConfig: HostConfig.fromPartial({ restartPolicy: { name: 'always', maximumRetryCount: 0 }, autoRemove: true }) }, grpc.status.INVALID_ARGUMENT, /host_config\.auto_remove/],
    [{ config: config('busybox', ['true'], { stopSignal: 'SIGNOPE' }) }, grpc.status.INVALID_ARGUMENT, /config\.stop_signal "SIGNOPE"/],
    [{ config: config('busybox', ['true']), hostConfig: HostConfig.fromPartial({ binds: ['/nonexistent-berth-bind:/b'] }) }, grpc.status.INVALID_ARGUMENT, /host_config\.binds "\/nonexistent-berth-bind:\/b"/],
    [{}, grpc.status.INVALID_ARGUMENT, /config/],
  ])('a bad create %# is refused with the field named and changes nothing', async (req, code, details) => {
    const before = treeOf(path.join(d.root, 'containers'));
    const listBefore = await call<typeof d.clients.containers, unknown, ListContainersResponse>(d.clients.containers, 'list', { all: true });
    await expect(call(d.clients.containers, 'create', { name: '', ...req })).rejects.toMatchObject({ code, details: expect.stringMatching(details) });
    expect(treeOf(path.join(d.root, 'containers'))).toEqual(before);
    const listAfter = await call<typeof d.clients.containers, unknown, ListContainersResponse>(d.clients.containers, 'list', { all: true });
    expect(listAfter.containers.length).toBe(listBefore.containers.length);
  });

  it('an image with no command and a create without one is INVALID_ARGUMENT', async () => {
    await expect(createContainer(d, config('busybox', []))).resolves.toMatch(/^[0-9a-f]{64}$/); // the image has CMD sh
    await expect(createContainer(d, config('busybox', [''], {}))).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it('lists, inspects, tags and removes images; an image in use is protected', async () => {
    const inspect = await call<typeof d.clients.images, unknown, InspectImageResponse>(d.clients.images, 'inspect', { image: imageId.slice(7, 19) });
    expect(inspect.image).toMatchObject({ id: imageId, repoTags: ['busybox:latest'], os: 'linux' });
    expect(inspect.image!.layers).toHaveLength(1);
    expect(inspect.image!.sizeBytes).toBeGreaterThan(500_000);

    await call(d.clients.images, 'tag', { image: 'busybox', reference: 'mybox:v1' });
    const list = await call<typeof d.clients.images, unknown, ListImagesResponse>(d.clients.images, 'list', {});
    expect(list.images.find((i) => i.id === imageId)!.repoTags).toEqual(['busybox:latest', 'mybox:v1']);
    await expect(call(d.clients.images, 'tag', { image: 'busybox', reference: 'Bad:Name' })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });

    // By name with another name left: only untagged.
    const untag = await call<typeof d.clients.images, unknown, RemoveImageResponse>(d.clients.images, 'remove', { image: 'mybox:v1', force: false });
    expect(untag).toEqual({ untagged: ['mybox:v1'], deleted: [] });
    // Stopped containers use it: refused, and with force only untagged (the image stays, unnamed).
    await expect(call(d.clients.images, 'remove', { image: 'busybox', force: false })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION, details: expect.stringContaining('in use by container'),
    });
    const forced = await call<typeof d.clients.images, unknown, RemoveImageResponse>(d.clients.images, 'remove', { image: 'busybox', force: true });
    expect(forced).toEqual({ untagged: ['busybox:latest'], deleted: [] });
    const after = await call<typeof d.clients.images, unknown, InspectImageResponse>(d.clients.images, 'inspect', { image: imageId });
    expect(after.image).toMatchObject({ id: imageId, repoTags: [] });
    await call(d.clients.images, 'tag', { image: imageId, reference: 'busybox:latest' });
  });

  it('removes an unused image with its layer', async () => {
    const id = await importBusybox(d, 'spare:1');
    const layerCount = fs.readdirSync(path.join(d.root, 'layers')).length;
    // The same tar gives the same layer: it is shared, not extracted twice.
    expect(layerCount).toBe(1);
    const res = await call<typeof d.clients.images, unknown, RemoveImageResponse>(d.clients.images, 'remove', { image: 'spare:1', force: false });
    expect(res.untagged).toEqual(['spare:1']);
    expect(res.deleted).toEqual([id]); // the layer stays: busybox:latest still has it
    await expect(call(d.clients.images, 'inspect', { image: id })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('shares one init layer among an image\'s containers, and removes it with the image', async () => {
    const id = await importBusybox(d, 'spare:2');
    const init = path.join(d.root, 'init', id.slice(7));
    const runs = [];
    for (let i = 0; i < 2; i++) runs.push(await runToEnd(d, config('spare:2', ['sh', '-c', 'test -d /proc/1 && test -f /etc/hostname'])));
    expect(runs.map((r) => r.exitCode)).toEqual([0, 0]);
    expect(fs.existsSync(init)).toBe(true);
    // Nothing of it in the containers' own directories.
    for (const r of runs) expect(fs.readdirSync(path.join(d.root, 'overlay', r.id)).sort()).toEqual(['merged', 'upper', 'work']);
    for (const r of runs) await call(d.clients.containers, 'remove', { containerId: r.id, force: false });
    await call(d.clients.images, 'remove', { image: 'spare:2', force: false });
    expect(fs.existsSync(init)).toBe(false);
  });

  it('serves grpc.health.v1 as SERVING', async () => {
    const def = protoLoader.loadSync(path.join(PROJECT_ROOT, 'node_modules/grpc-health-check/proto/health/v1/health.proto'), { enums: String });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
    const client = new pkg.grpc.health.v1.Health(d.host, grpc.credentials.createInsecure());
    const res = await new Promise<{ status: string }>((resolve, reject) => client.Check({ service: '' }, (err: Error | null, r: { status: string }) => (err ? reject(err) : resolve(r))));
    client.close();
    expect(res.status).toBe('SERVING');
  });

  it('lists and describes every service by reflection', async () => {
    const protoDir = path.join(PROJECT_ROOT, 'node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');
    const def = protoLoader.loadSync(protoDir, { keepCase: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } } };
    const client = new pkg.grpc.reflection.v1.ServerReflection(d.host, grpc.credentials.createInsecure());
    const stream = client.ServerReflectionInfo();
    const ask = (req: object) => new Promise<Record<string, unknown>>((resolve, reject) => {
      stream.once('data', resolve);
      stream.once('error', reject);
      stream.write(req);
    });
    const listed = await ask({ list_services: '' }) as { list_services_response: { service: { name: string }[] } };
    const names = listed.list_services_response.service.map((s) => s.name).sort();
    expect(names).toEqual(expect.arrayContaining(['berth.v1.Containers', 'berth.v1.Images', 'berth.v1.System', 'berth.v1.Volumes', 'grpc.health.v1.Health']));
    const described = await ask({ file_containing_symbol: 'berth.v1.Containers' }) as { file_descriptor_response: { file_descriptor_proto: Buffer[] } };
    const text = Buffer.concat(described.file_descriptor_response.file_descriptor_proto).toString('latin1');
    expect(text).toContain('CreateContainerRequest');
    stream.end();
    client.close();
  });
});
