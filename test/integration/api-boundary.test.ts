// The API's boundary: who may connect (a root-only socket, --group, TCP only with mutual TLS) and how
// big a message may be.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, connect } from '../../src/cli/client';
import { MAX_MESSAGE_BYTES, type TlsMaterial } from '../../src/endpoint';
import { ContainersClient, CreateContainerRequest, type ListContainersResponse } from '../../src/gen/berth/v1/containers';
import type { ImportImageResponse, ListImagesResponse } from '../../src/gen/berth/v1/images';
import { SystemClient, type VersionResponse } from '../../src/gen/berth/v1/system';
import { config, destroyDaemon, startDaemon, tempRoot, type TestDaemon } from '../helpers/daemon';
import { BERTH_CLI, BERTHD, IS_ROOT, PROJECT_ROOT } from '../helpers/paths';

const NOBODY = 65534;

/** A directory others may pass through (0711), for a socket whose own mode is what decides. */
function openDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-sock-'));
  fs.chmodSync(dir, 0o711);
  return dir;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** System.Version from another process running as uid, gid (no supplementary groups): its status code, or 0. */
function versionAs(uid: number, gid: number, host: string): { code: number; details: string } {
  const script = `
    const grpc = require(${JSON.stringify(path.join(PROJECT_ROOT, 'node_modules', '@grpc', 'grpc-js'))});
    const client = new grpc.Client(process.argv[1], grpc.credentials.createInsecure());
    client.makeUnaryRequest('/berth.v1.System/Version', (b) => b, (b) => b, Buffer.alloc(0), new grpc.Metadata(),
      { deadline: Date.now() + 10000 }, (err) => {
        process.stdout.write(JSON.stringify(err ? { code: err.code, details: err.details } : { code: 0, details: '' }));
        client.close();
      });`;
  const r = spawnSync(process.execPath, ['-e', script, host], { uid, gid, encoding: 'utf8', timeout: 30_000 });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { code: number; details: string };
}

function version(client: SystemClient): Promise<VersionResponse> {
  return new Promise((resolve, reject) => client.version({}, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res))));
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, and a key with a certificate it signs carrying the given extensions (SAN, usage). */
function makeCa(dir: string, name: string): void {
  openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign',
    '-keyout', `${name}.key`, '-out', `${name}.pem`);
}

function makeSigned(dir: string, ca: string, name: string, extensions: string): void {
  fs.writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`,
    '-keyout', `${name}.key`, '-out', `${name}.csr`);
  openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial', String(Date.now()),
    '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
}

/**
 * startDaemon waits for the root's socket; the others are bound one after another, so one may follow. Each is
 * bound in a private ".b" directory beside it and renamed into place, and that directory is removed after.
 */
async function boundSoon(socket: string): Promise<void> {
  const settled = () => fs.existsSync(socket) && !fs.readdirSync(path.dirname(socket)).some((n) => n.startsWith('.b'));
  for (const deadline = Date.now() + 10_000; !settled();) {
    if (Date.now() > deadline) throw new Error(`${socket}: not bound within 10 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(!IS_ROOT)('the API boundary', () => {
  let certs: string;
  const pem = (name: string) => path.join(certs, `${name}.pem`);
  const key = (name: string) => path.join(certs, `${name}.key`);
  const material = (ca: string, name: string): TlsMaterial => ({ ca: fs.readFileSync(pem(ca)), cert: fs.readFileSync(pem(name)), key: fs.readFileSync(key(name)) });

  beforeAll(() => {
    certs = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-certs-'));
    makeCa(certs, 'ca');
    makeSigned(certs, 'ca', 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    makeSigned(certs, 'ca', 'client', 'extendedKeyUsage=clientAuth\n');
    // The same name and usage, from a CA the daemon does not trust.
    makeCa(certs, 'rogue-ca');
    makeSigned(certs, 'rogue-ca', 'rogue', 'extendedKeyUsage=clientAuth\n');
  });

  afterAll(() => fs.rmSync(certs, { recursive: true, force: true }));

  describe('refuses to start, changing nothing,', () => {
    function berthd(...args: string[]) {
      const root = path.join(os.tmpdir(), `berth-never-${process.pid}`);
      const r = spawnSync(process.execPath, [BERTHD, '--root', root, ...args], { encoding: 'utf8', timeout: 30_000 });
      expect(fs.existsSync(root)).toBe(false);
      return { status: r.status, stderr: r.stderr };
    }

    it('TCP without the TLS flags, naming them', () => {
      expect(berthd('--listen', 'tcp://127.0.0.1:2376')).toEqual({
        status: 2, stderr: 'berthd: --listen tcp://127.0.0.1:2376: TCP is served only with mutual TLS: missing --tlscacert, --tlscert, --tlskey\n',
      });
    });

    it('TCP with only some TLS flags, naming the missing ones', () => {
      expect(berthd('--listen', 'tcp://127.0.0.1:2376', '--tlscert', pem('server'))).toEqual({
        status: 2, stderr: 'berthd: mutual TLS needs --tlscacert, --tlscert, --tlskey together: missing --tlscacert, --tlskey\n',
      });
    });

    it('a key that is not the certificate\'s', () => {
      const r = berthd('--listen', 'tcp://127.0.0.1:2376', '--tlscacert', pem('ca'), '--tlscert', pem('server'), '--tlskey', key('client'));
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^berthd: --tlscacert, --tlscert, --tlskey: .*key values mismatch/);
    });

    it('an unknown group, naming it', () => {
      expect(berthd('--group', 'no-such-group-berth')).toEqual({ status: 2, stderr: 'berthd: --group "no-such-group-berth": no such group in /etc/group\n' });
    });

    it('an address that is neither unix nor tcp', () => {
      expect(berthd('--listen', 'localhost:2376')).toEqual({ status: 2, stderr: 'berthd: --listen "localhost:2376": expected unix:///PATH or tcp://HOST:PORT\n' });
    });
  });

  describe('by default, with TCP and mutual TLS beside', () => {
    let d: TestDaemon;
    let dir: string;
    let port: number;
    let openSocket: string;

    beforeAll(async () => {
      dir = openDir();
      openSocket = path.join(dir, 'api.sock');
      port = await freePort();
      d = await startDaemon(tempRoot(), {
        args: ['--listen', `unix://${openSocket}`, '--listen', `tcp://127.0.0.1:${port}`, '--tlscacert', pem('ca'), '--tlscert', pem('server'), '--tlskey', key('server')],
      });
      await boundSoon(openSocket);
    });

    afterAll(async () => {
      await destroyDaemon(d);
      expect(fs.existsSync(openSocket)).toBe(false);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('makes every socket 0600 root:root and leaves no private bind directory behind', () => {
      for (const sock of [d.socket, openSocket]) {
        const st = fs.lstatSync(sock);
        expect(st.isSocket()).toBe(true);
        expect({ mode: st.mode & 0o7777, uid: st.uid, gid: st.gid }).toEqual({ mode: 0o600, uid: 0, gid: 0 });
      }
      expect(fs.readdirSync(dir)).toEqual(['api.sock']);
    });

    it('root connects; another user is refused by the socket\'s mode', () => {
      expect(versionAs(0, 0, `unix://${openSocket}`)).toEqual({ code: 0, details: '' });
      const r = versionAs(NOBODY, NOBODY, `unix://${openSocket}`);
      expect(r.code).toBe(grpc.status.UNAVAILABLE);
      expect(r.details).toMatch(/EACCES/);
    });

    it('serves a client whose certificate the CA signed, over TCP', async () => {
      const clients = connect(`tcp://127.0.0.1:${port}`, material('ca', 'client'));
      try {
        await expect(call(clients.system, 'version', {})).resolves.toMatchObject({ apiVersion: 'v1' });
      } finally {
        clients.close();
      }
      // The server's certificate also names localhost.
      const byName = connect(`tcp://localhost:${port}`, material('ca', 'client'));
      try {
        await expect(call(byName.system, 'version', {})).resolves.toMatchObject({ apiVersion: 'v1' });
      } finally {
        byName.close();
      }
    });

    it('refuses a client with no certificate or one from another CA, and keeps serving', async () => {
      const ca = fs.readFileSync(pem('ca'));
      const noCert = new SystemClient(`127.0.0.1:${port}`, grpc.credentials.createSsl(ca));
      const rogue = new SystemClient(`127.0.0.1:${port}`, grpc.credentials.createSsl(ca, fs.readFileSync(key('rogue')), fs.readFileSync(pem('rogue'))));
      const plain = new SystemClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      try {
        for (const client of [noCert, rogue, plain]) await expect(version(client)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      } finally {
        for (const client of [noCert, rogue, plain]) client.close();
      }
      expect(d.process.exitCode).toBeNull();
      await expect(call(d.clients.system, 'version', {})).resolves.toMatchObject({ apiVersion: 'v1' });
      const good = connect(`tcp://127.0.0.1:${port}`, material('ca', 'client'));
      await expect(call(good.system, 'version', {})).resolves.toMatchObject({ apiVersion: 'v1' });
      good.close();
    });

    it('the CLI reaches it over TCP with the TLS flags, or the variables, and not without them', () => {
      const host = `tcp://127.0.0.1:${port}`;
      const flags = spawnSync(process.execPath, [BERTH_CLI, '--host', host, '--tlscacert', pem('ca'), '--tlscert', pem('client'), '--tlskey', key('client'), 'version'], { encoding: 'utf8', timeout: 60_000 });
      expect(flags.stderr).toBe('');
      expect(flags.stdout).toMatch(/^Server:\n Version: .*\n API version: v1\n/);
      const env = { ...process.env, BERTH_HOST: host, BERTH_TLS_CACERT: pem('ca'), BERTH_TLS_CERT: pem('client'), BERTH_TLS_KEY: key('client') };
      const byEnv = spawnSync(process.execPath, [BERTH_CLI, 'version'], { encoding: 'utf8', timeout: 60_000, env });
      expect(byEnv.stdout).toMatch(/ API version: v1\n/);
      const without = spawnSync(process.execPath, [BERTH_CLI, '--host', host, 'version'], { encoding: 'utf8', timeout: 60_000 });
      expect(without.status).toBe(1);
      expect(without.stderr).toMatch(/^berth: --host tcp:\/\/127\.0\.0\.1:\d+: TCP needs mutual TLS: --tlscacert, --tlscert and --tlskey/);
      const rogue = spawnSync(process.execPath, [BERTH_CLI, '--host', host, '--tlscacert', pem('ca'), '--tlscert', pem('rogue'), '--tlskey', key('rogue'), 'version'], { encoding: 'utf8', timeout: 60_000 });
      expect(rogue.status).toBe(1);
      expect(rogue.stderr).toMatch(/^berth: cannot reach berthd: /);
    });

    it('a create over the size bound is RESOURCE_EXHAUSTED and creates nothing', async () => {
      const list = () => call<typeof d.clients.containers, unknown, ListContainersResponse>(d.clients.containers, 'list', { all: true });
      const tree = () => fs.readdirSync(path.join(d.root, 'containers'), { recursive: true }).sort();
      const before = { list: await list(), tree: tree() };
      const huge = `X=${'a'.repeat(20 * 1024 * 1024)}`;
      await expect(call(d.clients.containers, 'create', { name: 'too-big', config: config('busybox', ['true'], { env: [huge] }) })).rejects.toMatchObject({
        code: grpc.status.RESOURCE_EXHAUSTED, details: expect.stringContaining(`${MAX_MESSAGE_BYTES}`),
      });
      expect(await list()).toEqual(before.list);
      expect(tree()).toEqual(before.tree);
      await expect(call(d.clients.containers, 'inspect', { containerId: 'too-big' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    });

    it('a request with 1 MiB of metadata never reaches a handler, and other connections are served', async () => {
      const before = await call<typeof d.clients.containers, unknown, ListContainersResponse>(d.clients.containers, 'list', { all: true });
      // Its own connection: grpc-js would otherwise share d.clients' one, which this request may wedge.
      const own = new ContainersClient(d.host, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
      const md = new grpc.Metadata();
      md.set('x-padding', 'a'.repeat(1024 * 1024));
      try {
        const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
          own.create(CreateContainerRequest.fromPartial({ name: 'big-metadata', config: config('busybox', ['true']) }), md, { deadline: Date.now() + 3000 },
            (e) => (e ? resolve(e) : reject(new Error('created'))));
        });
        // Node's HTTP/2 session refuses the header block (grpc-js has no metadata bound of its own): over
        // TCP the stream is reset (INTERNAL), over a unix socket that connection stalls until the deadline.
        expect([grpc.status.INTERNAL, grpc.status.DEADLINE_EXCEEDED]).toContain(err.code);
      } finally {
        own.close();
      }
      await expect(call(d.clients.containers, 'list', { all: true })).resolves.toEqual(before);
      await expect(call(d.clients.containers, 'inspect', { containerId: 'big-metadata' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    });

    it('an import chunk over the size bound is RESOURCE_EXHAUSTED and imports nothing', async () => {
      const images = () => call<typeof d.clients.images, unknown, ListImagesResponse>(d.clients.images, 'list', {});
      const before = await images();
      const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
        const stream = d.clients.images.import((e: grpc.ServiceError | null, r?: ImportImageResponse) => (e ? resolve(e) : reject(new Error(`imported ${r?.id}`))));
        stream.write({ part: { $case: 'header', value: { reference: 'too-big:1', config: undefined, message: '' } } });
        stream.write({ part: { $case: 'chunk', value: Buffer.alloc(MAX_MESSAGE_BYTES + 1) } });
        stream.end();
      });
      expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(await images()).toEqual(before);
      expect(d.process.exitCode).toBeNull();
    });
  });

  describe('with --group', () => {
    let d: TestDaemon;
    let dir: string;
    let groupSocket: string;
    const adm = Number(fs.readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith('adm:'))?.split(':')[2]);

    beforeAll(async () => {
      dir = openDir();
      // Its directory does not exist yet: berthd makes it 0711.
      groupSocket = path.join(dir, 'run', 'berth.sock');
      d = await startDaemon(tempRoot(), { args: ['--listen', `unix://${groupSocket}`, '--group', 'adm'] });
      await boundSoon(groupSocket);
    });

    afterAll(async () => {
      await destroyDaemon(d);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('makes the sockets 0660 with that group, in a directory made 0711', () => {
      expect(Number.isInteger(adm)).toBe(true);
      for (const sock of [d.socket, groupSocket]) {
        const st = fs.lstatSync(sock);
        expect({ mode: st.mode & 0o7777, uid: st.uid, gid: st.gid }).toEqual({ mode: 0o660, uid: 0, gid: adm });
      }
      const parent = fs.statSync(path.dirname(groupSocket));
      expect({ mode: parent.mode & 0o7777, uid: parent.uid }).toEqual({ mode: 0o711, uid: 0 });
      expect(fs.readdirSync(path.dirname(groupSocket))).toEqual(['berth.sock']);
    });

    it('a member of the group connects; another user is refused', () => {
      expect(versionAs(NOBODY, adm, `unix://${groupSocket}`)).toEqual({ code: 0, details: '' });
      const r = versionAs(NOBODY, NOBODY, `unix://${groupSocket}`);
      expect(r.code).toBe(grpc.status.UNAVAILABLE);
      expect(r.details).toMatch(/EACCES/);
    });
  });
});
