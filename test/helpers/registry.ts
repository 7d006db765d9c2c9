// A real registry for the tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1, with its own config and
// storage in a temp dir; optionally htpasswd auth, or token auth against a tiny JWT-signing endpoint in this process.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const REGISTRY_BIN = '/usr/bin/docker-registry';
export const HAVE_REGISTRY = fs.existsSync(REGISTRY_BIN);
const onPath = (tool: string) => (process.env.PATH ?? '/usr/bin:/bin').split(':').some((dir) => fs.existsSync(path.join(dir, tool)));
export const HAVE_HTPASSWD = onPath('htpasswd');
export const HAVE_OPENSSL = onPath('openssl');

export interface TestRegistry {
  /** "127.0.0.1:<port>" */
  host: string;
  dir: string;
  storage: string;
  stop(): Promise<void>;
  /** The data file of a blob in the registry's storage. */
  blobFile(digest: string): string;
}

export type RegistryAuthMode =
  | { kind: 'none' }
  | { kind: 'htpasswd'; username: string; password: string }
  | { kind: 'token'; username: string; password: string };

export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

export async function startRegistry(auth: RegistryAuthMode = { kind: 'none' }): Promise<TestRegistry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-registry-'));
  const storage = path.join(dir, 'storage');
  fs.mkdirSync(storage);
  const port = await freePort();
  let authBlock = '';
  let tokenServer: http.Server | undefined;
  if (auth.kind === 'htpasswd') {
    const file = path.join(dir, 'htpasswd');
    execFileSync('htpasswd', ['-Bbc', file, auth.username, auth.password], { stdio: 'ignore' });
    authBlock = `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${file}\n`;
  } else if (auth.kind === 'token') {
    const { server, realm, certFile } = await startTokenServer(dir, auth.username, auth.password);
    tokenServer = server;
    authBlock = `auth:\n  token:\n    realm: ${realm}\n    service: berth-test-registry\n    issuer: berth-test-issuer\n    rootcertbundle: ${certFile}\n`;
  }
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(config, [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: berth-test-secret',
    authBlock,
  ].join('\n'));
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${stderr}`);
    const status = await new Promise<number>((resolve) => {
      http.get(`http://${host}/v2/`, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', () => resolve(0));
    });
    if (status === 200 || status === 401) break;
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`docker-registry did not start: ${stderr}`); }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host, dir, storage,
    blobFile: (digest) => path.join(storage, 'docker/registry/v2/blobs/sha256', digest.slice(7, 9), digest.slice(7), 'data'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
      if (tokenServer) await new Promise((r) => tokenServer!.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/**
 * The token endpoint of distribution's docs/spec/auth/token.md: anonymous callers get pull, the right basic
 * credentials get what the scope asks, wrong ones a 401. JWTs are RS256 with the signing cert in x5c.
 */
async function startTokenServer(dir: string, username: string, password: string): Promise<{ server: http.Server; realm: string; certFile: string }> {
  const keyFile = path.join(dir, 'token.key');
  const certFile = path.join(dir, 'token.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1',
    '-subj', '/CN=berth-test-token', '-addext', 'basicConstraints=critical,CA:FALSE'], { stdio: 'ignore' });
  const key = crypto.createPrivateKey(fs.readFileSync(keyFile));
  const certDer = new crypto.X509Certificate(fs.readFileSync(certFile)).raw;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const given = req.headers.authorization;
    let user = '';
    if (given) {
      const [who, pass] = Buffer.from(given.replace(/^Basic /, ''), 'base64').toString().split(':');
      if (who !== username || pass !== password) { res.writeHead(401).end('{"details":"bad credentials"}'); return; }
      user = who;
    }
    const access = url.searchParams.getAll('scope').flatMap((scope) => {
      const [type, name, actions] = scope.split(':');
      const granted = actions.split(',').filter((a) => user || a === 'pull');
      return granted.length ? [{ type, name, actions: granted }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = { iss: 'berth-test-issuer', sub: user, aud: url.searchParams.get('service'), exp: now + 300, nbf: now - 10, iat: now, jti: crypto.randomUUID(), access };
    const signing = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${signing}.${b64url(crypto.sign('sha256', Buffer.from(signing), key))}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return { server, realm: `http://127.0.0.1:${port}/token`, certFile };
}
