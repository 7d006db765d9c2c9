// The client's auth dance against a local HTTP server on 127.0.0.1 that speaks WWW-Authenticate as a registry does.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLoopback, readBody, RegistryClient, streamBody } from './registry-client';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

let server: http.Server;
let host: string;
let handler: Handler;
let seen: { method: string; url: string; authorization?: string }[];

beforeEach(async () => {
  seen = [];
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization });
      handler(req, res, body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('RegistryClient', () => {
  it('answers a bearer challenge: GETs the realm with basic credentials, then retries with the token', async () => {
    handler = (req, res) => {
      if (req.url!.startsWith('/token')) {
        if (req.headers.authorization !== basic('me', 'pw')) return res.writeHead(401).end();
        return res.writeHead(200).end(JSON.stringify({ token: 'T0K' }));
      }
      if (req.headers.authorization !== 'Bearer T0K') {
        return res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="svc",scope="repository:app:pull"` }).end();
      }
      res.writeHead(200).end('manifest');
    };
    const client = new RegistryClient({ domain: host, repository: 'app', push: true, credentials: { username: 'me', password: 'pw', identityToken: '' } });
    const res = await client.request('GET', client.url('manifests/latest'), { ok: [200], what: 'pull' });
    expect((await readBody(res, 100, 'm')).toString()).toBe('manifest');
    const token = new URL(seen[1].url, 'http://x');
    expect(token.pathname).toBe('/token');
    expect(token.searchParams.get('service')).toBe('svc');
    expect(token.searchParams.getAll('scope')).toEqual(['repository:app:pull,push', 'repository:app:pull']);
    expect(seen.map((s) => [s.method, s.authorization])).toEqual([['GET', undefined], ['GET', basic('me', 'pw')], ['GET', 'Bearer T0K']]);
    // The token is kept for the next request.
    await client.request('GET', client.url('manifests/latest'), { ok: [200], what: 'pull' });
    expect(seen).toHaveLength(4);
  });

  it('gets an anonymous token without credentials, and posts a refresh token for an identity token', async () => {
    handler = (req, res, body) => {
      if (req.url!.startsWith('/token')) {
        if (req.method === 'POST') {
          const form = new URLSearchParams(body);
          return res.writeHead(200).end(JSON.stringify({ access_token: form.get('refresh_token') === 'R' && form.get('grant_type') === 'refresh_token' ? 'FROM-R' : 'bad' }));
        }
        return res.writeHead(200).end(JSON.stringify({ token: req.headers.authorization ? 'bad' : 'ANON' }));
      }
      if (!/^Bearer (ANON|FROM-R)$/.test(req.headers.authorization ?? '')) {
        return res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="svc"` }).end();
      }
      res.writeHead(200).end();
    };
    const anon = new RegistryClient({ domain: host, repository: 'app', push: false });
    await anon.request('HEAD', anon.url('blobs/sha256:x'), { ok: [200], what: 'head' });
    expect(seen.at(-1)!.authorization).toBe('Bearer ANON');
    const withId = new RegistryClient({ domain: host, repository: 'app', push: false, credentials: { username: '', password: '', identityToken: 'R' } });
    await withId.request('HEAD', withId.url('blobs/sha256:x'), { ok: [200], what: 'head' });
    expect(seen.at(-1)!.authorization).toBe('Bearer FROM-R');
  });

  it('answers basic with the credentials, and refuses it clearly without them', async () => {
    handler = (req, res) => {
      if (req.headers.authorization !== basic('me', 'pw')) return res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      res.writeHead(200).end();
    };
    const ok = new RegistryClient({ domain: host, repository: 'app', push: false, credentials: { username: 'me', password: 'pw', identityToken: '' } });
    await expect(ok.request('GET', ok.url('tags/list'), { ok: [200], what: 'list' })).resolves.toBeDefined();
    const none = new RegistryClient({ domain: host, repository: 'app', push: false });
    await expect(none.request('GET', none.url('tags/list'), { ok: [200], what: 'list' })).rejects.toMatchObject({ kind: 'PermissionDenied', message: `list: registry ${host} requires a username and password` });
    const wrong = new RegistryClient({ domain: host, repository: 'app', push: false, credentials: { username: 'me', password: 'no', identityToken: '' } });
    await expect(wrong.request('GET', wrong.url('tags/list'), { ok: [200], what: 'list' })).rejects.toMatchObject({
      kind: 'PermissionDenied', message: `list: registry ${host}: 401 Unauthorized (UNAUTHORIZED: authentication required)`,
    });
  });

  it('maps statuses to kinds with the registry\'s own message', async () => {
    handler = (req, res) => res.writeHead(req.url!.includes('missing') ? 404 : 503).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
    const client = new RegistryClient({ domain: host, repository: 'app', push: false });
    await expect(client.request('GET', client.url('manifests/missing'), { ok: [200], what: 'pull app:missing' })).rejects.toMatchObject({
      kind: 'NotFound', message: `pull app:missing: registry ${host}: 404 Not Found (MANIFEST_UNKNOWN: manifest unknown)`,
    });
    await expect(client.request('GET', client.url('manifests/x'), { ok: [200], what: 'pull' })).rejects.toMatchObject({ kind: 'Unavailable' });
  });

  it('follows a blob redirect, sending credentials only back to the same origin', async () => {
    const other = http.createServer((req, res) => { seen.push({ method: 'other', url: req.url!, authorization: req.headers.authorization }); res.end('blob'); });
    other.listen(0, '127.0.0.1');
    await once(other, 'listening');
    try {
      handler = (req, res) => {
        if (!req.headers.authorization) return res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
        res.writeHead(307, { location: `http://127.0.0.1:${(other.address() as AddressInfo).port}/storage/x` }).end();
      };
      const client = new RegistryClient({ domain: host, repository: 'app', push: false, credentials: { username: 'me', password: 'pw', identityToken: '' } });
      const res = await client.request('GET', client.url('blobs/sha256:x'), { ok: [200], what: 'blob' });
      expect((await readBody(res, 10, 'b')).toString()).toBe('blob');
      expect(seen.at(-1)).toEqual({ method: 'other', url: '/storage/x', authorization: undefined });
    } finally {
      await new Promise((r) => other.close(r));
    }
  });

  it('an answer the registry cuts off midway is Unavailable', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part of it');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const client = new RegistryClient({ domain: host, repository: 'app', push: false });
    const res = await client.request('GET', client.url('manifests/x'), { ok: [200], what: 'pull app:x' });
    await expect(readBody(res, 1000, 'manifest x')).rejects.toMatchObject({ kind: 'Unavailable', message: expect.stringContaining("manifest x: the registry's answer broke off") });
    // The same for a body read as a stream (a layer).
    const again = await client.request('GET', client.url('blobs/sha256:x'), { ok: [200], what: 'pull app:x' });
    const read = async () => { for await (const _ of streamBody(again, 'layer x')) { /* reading */ } };
    await expect(read()).rejects.toMatchObject({ kind: 'Unavailable', message: expect.stringContaining("layer x: the registry's answer broke off") });
  });

  it('a redirect to an unparsable Location is Unavailable, not an exception in the response callback', async () => {
    handler = (_req, res) => res.writeHead(302, { location: 'http://%zz/' }).end();
    const client = new RegistryClient({ domain: host, repository: 'app', push: false });
    await expect(client.request('GET', client.url('blobs/sha256:x'), { ok: [200], what: 'blob' })).rejects.toMatchObject({
      kind: 'Unavailable', message: `registry ${host}: redirect to an invalid location "http://%zz/"`,
    });
  });

  it('talks plain http only to loopback registries', () => {
    expect(isLoopback('127.0.0.1:5000')).toBe(true);
    expect(isLoopback('localhost')).toBe(true);
    expect(isLoopback('[::1]:5000')).toBe(true);
    expect(isLoopback('registry.example:5000')).toBe(false);
    expect(new RegistryClient({ domain: 'docker.io', repository: 'library/x', push: false }).base.href).toBe('https://registry-1.docker.io/');
    expect(new RegistryClient({ domain: 'localhost:5000', repository: 'x', push: false }).base.href).toBe('http://localhost:5000/');
  });
});
