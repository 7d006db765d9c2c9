// docker commit through the real daemon: the container's changes (added, changed and deleted files)
// become one layer on top of its image, with its config and the requested changes, in one transaction.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/client';
import {
  CommitContainerRequest, type CommitContainerResponse, type InspectContainerResponse,
} from '../../src/gen/berth/v1/containers';
import type { ImageHistoryResponse, InspectImageResponse, ListImagesResponse } from '../../src/gen/berth/v1/images';
import { cli, config, createContainer, destroyDaemon, importBusybox, runToEnd, startDaemon, type TestDaemon } from '../helpers/daemon';
import { IS_ROOT } from '../helpers/paths';

describe.skipIf(!IS_ROOT)('commit', () => {
  let d: TestDaemon;
  let base: string;
  const images = <Res>(method: string, req: unknown) => call<typeof d.clients.images, unknown, Res>(d.clients.images, method as keyof typeof d.clients.images, req);
  const commit = (req: Partial<CommitContainerRequest>) =>
    call<typeof d.clients.containers, unknown, CommitContainerResponse>(d.clients.containers, 'commit', CommitContainerRequest.fromPartial(req));
  const code = (p: Promise<unknown>) => p.then(() => grpc.status.OK, (err: grpc.ServiceError) => `${err.code} ${err.details}`);

  beforeAll(async () => {
    d = await startDaemon();
    base = await importBusybox(d);
  });
  afterAll(async () => { if (d) await destroyDaemon(d); });

  it('makes a new image of the changes: added, changed and deleted files, the config and the changes asked for', async () => {
    const made = await runToEnd(d, config('busybox', ['sh', '-c', 'echo hi > /hello; rm /etc/group; mkdir -p /data; echo x > /data/f; echo changed >> /etc/passwd'], { env: ['FROM_RUN=1'] }));
    const { id } = await commit({
      containerId: made.id, reference: 'committed:v1', author: 'Ada <ada@example.com>', message: 'first commit',
      changes: ['CMD ["cat", "/hello"]', 'ENV A=1', 'EXPOSE 8080', 'LABEL team=core'],
    });
    const image = (await images<InspectImageResponse>('inspect', { image: 'committed:v1' })).image!;
    expect(image.id).toBe(id);
    const baseImage = (await images<InspectImageResponse>('inspect', { image: base })).image!;
    expect(image.layers.slice(0, -1)).toEqual(baseImage.layers);
    expect(image.layers).toHaveLength(baseImage.layers.length + 1);
    expect(image.author).toBe('Ada <ada@example.com>');
    expect(image.config).toMatchObject({ cmd: ['cat', '/hello'], exposedPorts: ['8080/tcp'], labels: { team: 'core' } });
    expect(image.config!.env).toEqual(expect.arrayContaining(['FROM_RUN=1', 'A=1']));
    const history = (await images<ImageHistoryResponse>('history', { image: id })).history;
    expect(history[0]).toMatchObject({ comment: 'first commit', createdBy: expect.stringContaining('echo hi > /hello') });

    // A container of the new image sees the changes, and the deleted file is gone.
    const run = await runToEnd(d, config('committed:v1', []));
    expect(run.stdout).toBe('hi\n');
    const look = await runToEnd(d, config('committed:v1', ['sh', '-c', 'cat /data/f; tail -1 /etc/passwd; ls /etc/group 2>&1; echo $A']));
    expect(look.stdout).toBe('x\nchanged\nls: /etc/group: No such file or directory\n1\n');
  });

  it('a container of the new image takes its exposed ports and labels; its own labels come on top and ride on its events', async () => {
    const made = await runToEnd(d, config('busybox', ['true']));
    await commit({ containerId: made.id, reference: 'labelled', changes: ['EXPOSE 80 53/udp', 'LABEL tier=web owner=ops'] });
    const r = cli(d, ['run', '-d', '--label', 'owner=me', '-l', 'extra', 'labelled', 'true']);
    expect(r.status).toBe(0);
    const c = (await call<typeof d.clients.containers, unknown, InspectContainerResponse>(d.clients.containers, 'inspect', { containerId: r.stdout.trim() })).container!;
    expect(c.config).toMatchObject({ exposedPorts: ['80/tcp', '53/udp'], labels: { tier: 'web', owner: 'me', extra: '' } });
    const events = cli(d, ['events', '--since', 'seq:0', '--until', '0s', '--filter', 'label=tier=web', '--filter', 'event=create']);
    expect(events.stdout).toContain(`container create ${c.id}`);
  });

  it('pauses a running container while its layer is read and lets it go on after', async () => {
    const id = await createContainer(d, config('busybox', ['sh', '-c', 'echo live > /live; sleep 1000']));
    await call(d.clients.containers, 'start', { containerId: id });
    await new Promise((r) => setTimeout(r, 200));
    const { id: image } = await commit({ containerId: id });
    expect(image).toMatch(/^sha256:[0-9a-f]{64}$/);
    const state = (await call<typeof d.clients.containers, unknown, InspectContainerResponse>(d.clients.containers, 'inspect', { containerId: id })).container!.state!;
    expect(state.status).toBe('running');
    expect((await runToEnd(d, config(image, ['cat', '/live']))).stdout).toBe('live\n');
    await call(d.clients.containers, 'remove', { containerId: id, force: true });
  });

  it('berth commit prints the new image id; --pause=false and -c are passed on', async () => {
    const made = await runToEnd(d, config('busybox', ['sh', '-c', 'echo cli > /cli']));
    const r = cli(d, ['commit', '-a', 'me', '-m', 'from the cli', '-c', 'ENV B=2', '--pause=false', made.id, 'from-cli:latest']);
    expect(r).toMatchObject({ status: 0, stdout: expect.stringMatching(/^sha256:[0-9a-f]{64}\n$/) });
    const image = (await images<InspectImageResponse>('inspect', { image: 'from-cli' })).image!;
    expect(image.id).toBe(r.stdout.trim());
    expect(image.config!.env).toContain('B=2');
    expect(cli(d, ['commit', made.id, 'bad name'])).toMatchObject({ status: 1, stderr: expect.stringContaining('reference "bad name"') });
  });

  it('a bad change or name is INVALID_ARGUMENT naming it, and stores nothing', async () => {
    const made = await runToEnd(d, config('busybox', ['true']));
    const before = (await images<ListImagesResponse>('list', {})).images.length;
    expect(await code(commit({ containerId: made.id, changes: ['RUN make'] }))).toMatch(/^3 changes "RUN make": RUN is not supported/);
    expect(await code(commit({ containerId: made.id, changes: ['EXPOSE http'] }))).toMatch(/^3 changes "EXPOSE http"/);
    expect(await code(commit({ containerId: made.id, reference: 'Bad Name' }))).toMatch(/^3 reference "Bad Name"/);
    expect(await code(commit({ containerId: 'nope' }))).toMatch(/^5 /);
    expect((await images<ListImagesResponse>('list', {})).images.length).toBe(before);
  });
});
