// A lying registry for the fuzz tests: node:http on 127.0.0.1 (berthd speaks plain http to loopback registries)
// serving the distribution endpoints (/v2/, manifests, blobs, a token realm) from per-repository scenarios whose
// answers may be malformed JSON, wrong media types, blobs that do not match their digests, bodies that stop short
// of their Content-Length, connections that hang or reset, redirects and auth challenges that go nowhere.
import { once } from 'node:events';
import http from 'node:http';
import type net from 'node:net';
import { gzipSync } from 'node:zlib';
import { configJson, mutateJson } from './fuzz-archive';
import type { Rng } from './fuzz-rng';
import { hostileLayer, seedRootfs, sha256, type EscapeTargets } from './fuzz-tar';

export type Answer =
  | { status: number; headers?: Record<string, string>; body?: Buffer | string }
  /** Raw bytes on the socket, then close: lies HTTP itself cannot tell. */
  | { raw: Buffer | string }
  | { action: 'hang' | 'reset' | 'huge-length' | 'drip' };

export interface Scenario {
  kind: string;
  /** By tag or digest. */
  manifests: Map<string, Answer>;
  blobs: Map<string, Answer>;
  /** When set, /v2/<repo>/ requests without authorization get this 401 challenge. */
  challenge?: string;
  token?: Answer;
}

const MEDIA = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
};

export class FuzzRegistry {
  host = '';
  readonly scenarios = new Map<number, Scenario>();
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  async start(): Promise<void> {
    this.server.on('connection', (s: net.Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.host = `127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.resume();
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/v2/' || url.pathname === '/v2') return this.answer(req, res, { status: 200, headers: { 'content-type': 'application/json' }, body: '{}' });
    const token = /^\/token\/([0-9]+)$/.exec(url.pathname);
    if (token) return this.answer(req, res, this.scenarios.get(Number(token[1]))?.token ?? { status: 404 });
    const m = /^\/v2\/fuzz\/c([0-9]+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    const scenario = m ? this.scenarios.get(Number(m[1])) : undefined;
    if (!m || !scenario) return this.answer(req, res, { status: 404, body: '{"errors":[{"code":"NAME_UNKNOWN","message":"no such scenario"}]}' });
    if (scenario.challenge && !req.headers.authorization) {
      return this.answer(req, res, { status: 401, headers: { 'www-authenticate': scenario.challenge }, body: '{"errors":[{"code":"UNAUTHORIZED"}]}' });
    }
    const table = m[2] === 'manifests' ? scenario.manifests : scenario.blobs;
    this.answer(req, res, table.get(decodeURIComponent(m[3])) ?? { status: 404, body: '{"errors":[{"code":"BLOB_UNKNOWN"}]}' });
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse, a: Answer): void {
    if ('raw' in a) {
      req.socket.end(a.raw);
      return;
    }
    if ('action' in a) {
      if (a.action === 'hang') return; // the client's deadline ends it, or stop()
      if (a.action === 'reset') { req.socket.destroy(); return; }
      if (a.action === 'huge-length') {
        res.writeHead(200, { 'content-length': '107374182400', 'content-type': MEDIA.ociManifest });
        res.write(Buffer.alloc(8192, 0x7b));
        const t = setTimeout(() => { this.timers.delete(t); req.socket.destroy(); }, 50);
        this.timers.add(t);
        return;
      }
      res.writeHead(200, { 'content-type': MEDIA.ociManifest });
      const t = setInterval(() => { if (!res.destroyed) res.write('{'); }, 100);
      this.timers.add(t);
      res.on('close', () => { clearInterval(t); this.timers.delete(t); });
      return;
    }
    try {
      res.writeHead(a.status, a.headers);
    } catch {
      // Node refuses to send some header values (control characters): send them raw instead.
      const head = Object.entries(a.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      req.socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 ${a.status} X\r\n${head}connection: close\r\n\r\n`, 'latin1'), Buffer.from(a.body ?? '')]));
      return;
    }
    res.end(req.method === 'HEAD' ? undefined : a.body);
  }
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

/** An index (served as the tag) whose entries have these platforms and digests of nothing. */
export function indexAnswer(platforms: unknown[]): Answer {
  const index = json({
    schemaVersion: 2, mediaType: MEDIA.ociIndex,
    manifests: platforms.map((platform, i) => ({ mediaType: MEDIA.ociManifest, digest: sha256(`entry ${i}`), size: 2, platform })),
  });
  return { status: 200, headers: { 'content-type': MEDIA.ociIndex }, body: index };
}
const ok = (body: Buffer, type: string, extra: Record<string, string> = {}): Answer => ({ status: 200, headers: { 'content-type': type, 'docker-content-digest': sha256(body), ...extra }, body });

/** Answers that break the transport rather than the document. */
function transportLie(rng: Rng, host: string, n: number, body: Buffer): Answer {
  return rng.pick<() => Answer>([
    () => ({ action: 'hang' }), () => ({ action: 'reset' }), () => ({ action: 'huge-length' }), () => ({ action: 'drip' }),
    () => ({ raw: `HTTP/1.1 200 OK\r\nContent-Length: ${body.length + 1000}\r\nContent-Type: ${MEDIA.ociManifest}\r\n\r\n${body.subarray(0, body.length >> 1).toString('latin1')}` }),
    () => ({ raw: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${body.toString('latin1')}\r\n-5\r\n` }),
    () => ({ raw: Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: -1\r\nContent-Length: 5\r\n\r\nhello`) }),
    () => ({ raw: Buffer.concat([Buffer.from('HTTP/9.9 999 \u0000\r\n'), rng.bytes(rng.size(2000))]) }),
    () => ({ raw: rng.bytes(rng.size(4000)) }),
    () => ({ status: rng.pick([204, 206, 300, 304, 400, 403, 404, 405, 416, 429, 500, 502, 503, 599]), body: rng.chance(0.5) ? body : `{"errors":${rng.pick(['null', '[{"code":5}]', '"x"', '[{}]'])}}` }),
    () => ({ status: rng.pick([301, 302, 307, 308]), headers: { location: rng.pick([
      `http://${host}/v2/fuzz/c${n}/manifests/latest`, 'http://10.255.255.1/v2/', 'http://[::ffff:a00:1]/x', `https://${host}/v2/`, '/v2/fuzz/c999999/blobs/x',
      'file:///etc/passwd', 'http://%zz/', '', `http://127.0.0.2:1/v2/`, `//${host}/v2/fuzz/c${n}/manifests/latest`,
    ]) } }),
    () => ({ status: 200, headers: { 'content-type': MEDIA.ociManifest, 'content-length': String(body.length), 'docker-content-digest': rng.pick([sha256('lie'), 'sha256:zz', 'md5:00', '']) }, body }),
  ])();
}

/** A pull scenario: a valid image (maybe with a hostile layer) and then one lie somewhere in how it is served. */
export function pullScenario(rng: Rng, host: string, n: number, t: EscapeTargets): { scenario: Scenario; reference: string } {
  const layerTar = rng.chance(0.4) ? hostileLayer(rng, t).tar : seedRootfs(n);
  const gzip = rng.chance(0.6);
  let layerBlob: Buffer = gzip ? gzipSync(layerTar) : layerTar;
  let config: Buffer = configJson([sha256(layerTar)]);
  const manifestType = rng.pick([MEDIA.dockerManifest, MEDIA.ociManifest]);
  const manifestDoc = (cfg: Buffer, layers: { digest: string; size: number }[]) => ({
    schemaVersion: 2, mediaType: manifestType,
    config: { mediaType: MEDIA.dockerConfig, digest: sha256(cfg), size: cfg.length },
    layers: layers.map((l) => ({ mediaType: gzip ? MEDIA.dockerLayer : MEDIA.ociLayer, ...l })),
  });
  let manifest: Buffer = json(manifestDoc(config, [{ digest: sha256(layerBlob), size: layerBlob.length }]));
  const scenario: Scenario = { kind: 'valid', manifests: new Map(), blobs: new Map() };
  const lie = rng.int(14);
  let configAnswer: Answer | undefined;
  let layerAnswer: Answer | undefined;
  let manifestAnswer: Answer | undefined;
  if (lie === 0) scenario.kind = 'valid';
  else if (lie === 1) {
    scenario.kind = 'manifest mutated';
    manifest = json(mutateJson(rng, JSON.parse(manifest.toString()), t, '/etc/passwd'));
  } else if (lie === 2) {
    scenario.kind = 'manifest garbage';
    manifest = rng.chance(0.5) ? rng.bytes(rng.size(8192)) : Buffer.from(rng.pick(['', 'null', '[]', '{"schemaVersion":1}', '{"schemaVersion":2}', `{"schemaVersion":2,"layers":{},"config":[]}`]));
  } else if (lie === 3) {
    scenario.kind = 'media types';
    const doc = JSON.parse(manifest.toString()) as { mediaType: string; layers: { mediaType: string }[]; config: { mediaType: string } };
    const odd = ['application/vnd.docker.distribution.manifest.v1+prettyjws', 'text/html', '', 'application/vnd.oci.image.layer.v1.tar+zstd', MEDIA.ociIndex, MEDIA.dockerList, 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'];
    if (rng.chance(0.5)) doc.mediaType = rng.pick(odd);
    else doc.layers[0].mediaType = rng.pick(odd);
    manifest = json(doc);
    manifestAnswer = ok(manifest, rng.pick(odd));
  } else if (lie === 4) {
    scenario.kind = 'config digest mismatch';
    configAnswer = ok(Buffer.concat([config, Buffer.from(' ')]), 'application/octet-stream');
  } else if (lie === 5) {
    scenario.kind = 'config malformed';
    config = rng.chance(0.7) ? json(mutateJson(rng, JSON.parse(config.toString()), t, '/etc/passwd')) : rng.bytes(rng.size(2000));
    manifest = json(manifestDoc(config, [{ digest: sha256(layerBlob), size: layerBlob.length }]));
  } else if (lie === 6) {
    scenario.kind = 'layer digest or size mismatch';
    if (rng.chance(0.5)) layerAnswer = ok(Buffer.concat([layerBlob, Buffer.from('x')]), 'application/octet-stream');
    else manifest = json(manifestDoc(config, [{ digest: sha256(layerBlob), size: layerBlob.length + rng.pick([-1, 1, 1e12]) }]));
  } else if (lie === 7) {
    scenario.kind = 'layer corrupted, digest matching';
    layerBlob = Buffer.from(layerBlob);
    for (let i = rng.range(1, 8); i > 0; i--) layerBlob[rng.int(layerBlob.length)] ^= 1 << rng.int(8);
    if (rng.chance(0.3)) layerBlob = layerBlob.subarray(0, rng.int(layerBlob.length));
    manifest = json(manifestDoc(config, [{ digest: sha256(layerBlob), size: layerBlob.length }]));
  } else if (lie === 8) {
    scenario.kind = 'diff id mismatch';
    config = configJson([sha256(`${layerTar.length}`)]);
    manifest = json(manifestDoc(config, [{ digest: sha256(layerBlob), size: layerBlob.length }]));
  } else if (lie === 9) {
    scenario.kind = 'huge arrays';
    const count = rng.range(1000, 25_000);
    const layers = Array.from({ length: count }, (_, i) => ({ digest: rng.chance(0.5) ? sha256(layerBlob) : sha256(String(i)), size: layerBlob.length }));
    config = configJson(Array.from({ length: rng.chance(0.5) ? count : count - 1 }, (_, i) => sha256(`diff ${i}`)));
    manifest = json(manifestDoc(config, layers));
  } else if (lie === 10) {
    scenario.kind = 'too big';
    if (rng.chance(0.5)) manifest = Buffer.concat([manifest.subarray(0, manifest.length - 1), Buffer.from(`,"pad":"${'x'.repeat(4 * 1024 * 1024)}"}`)]);
    else manifest = json({ ...manifestDoc(config, []), config: { mediaType: MEDIA.dockerConfig, digest: sha256(config), size: 9 * 1024 * 1024 } });
  } else if (lie === 11) {
    scenario.kind = 'auth';
    scenario.challenge = rng.pick([
      `Bearer realm="http://${host}/token/${n}",service="fuzz",scope="repository:fuzz/c${n}:pull"`, 'Bearer realm="http://10.255.255.1/token"', 'Bearer', 'Basic',
      'Bearer realm=', `Bearer realm="http://${host}/token/${n}"${',a=b'.repeat(1000)}`, 'Negotiate', '\u0000', `Bearer realm="ftp://${host}/"`, 'Bearer realm="http://%zz/"',
    ]);
    scenario.token = rng.pick<Answer>([
      { status: 200, body: '{"token":""}' }, { status: 200, body: '{"token":5}' }, { status: 200, body: 'not json' }, { status: 200, body: `{"token":"a\\r\\nInjected: yes"}` },
      { status: 200, body: '{"access_token":"x"}' }, { status: 500 }, { status: 401 }, { action: 'hang' }, { action: 'huge-length' }, { status: 200, body: `{"token":"${'t'.repeat(200_000)}"}` },
    ]);
  } else if (lie === 12) {
    scenario.kind = 'transport';
    const which = rng.int(3);
    if (which === 0) manifestAnswer = transportLie(rng, host, n, manifest);
    else if (which === 1) configAnswer = transportLie(rng, host, n, config);
    else layerAnswer = transportLie(rng, host, n, layerBlob);
  } else {
    scenario.kind = 'index';
    const entry = { mediaType: manifestType, digest: sha256(manifest), size: manifest.length, platform: { os: 'linux', architecture: 'amd64' } };
    let index: unknown = { schemaVersion: 2, mediaType: rng.pick([MEDIA.ociIndex, MEDIA.dockerList]), manifests: [entry] };
    const twist = rng.int(6);
    if (twist === 1) index = mutateJson(rng, index as never, t, '/etc/passwd');
    else if (twist === 2) (index as { manifests: unknown[] }).manifests = Array.from({ length: rng.range(1, 20_000) }, () => ({ ...entry, digest: sha256(String(rng.next())) }));
    else if (twist === 3) (index as { manifests: unknown[] }).manifests = [{ ...entry, mediaType: MEDIA.ociIndex }];
    else if (twist === 4) manifest = json({ ...(JSON.parse(manifest.toString()) as object), pad: 1 });
    else if (twist === 5) {
      const odd = () => rng.pick(['\ud800', '\udfff', '\u0000', 'x'.repeat(rng.size(100_000)), '%', 'linux/amd64', '', 'é'.repeat(5000)]);
      (index as { manifests: unknown[] }).manifests = Array.from({ length: rng.range(1, 5000) }, () => ({ ...entry, platform: { os: odd(), architecture: odd(), variant: odd() } }));
    }
    const indexBytes = json(index);
    scenario.manifests.set(entry.digest, ok(manifest, manifestType));
    scenario.manifests.set('latest', ok(indexBytes, MEDIA.ociIndex));
    scenario.manifests.set(sha256(indexBytes), ok(indexBytes, MEDIA.ociIndex));
  }
  if (!scenario.manifests.has('latest')) {
    scenario.manifests.set('latest', manifestAnswer ?? ok(manifest, manifestType));
    scenario.manifests.set(sha256(manifest), manifestAnswer ?? ok(manifest, manifestType));
  }
  scenario.blobs.set(sha256(config), configAnswer ?? ok(config, 'application/octet-stream'));
  scenario.blobs.set(sha256(layerBlob), layerAnswer ?? ok(layerBlob, 'application/octet-stream'));
  const byDigest = rng.chance(0.2) && scenario.manifests.size > 0;
  const top = [...scenario.manifests.keys()].find((k) => k.startsWith('sha256:'));
  const reference = byDigest && top ? `${host}/fuzz/c${n}@${top}` : `${host}/fuzz/c${n}:latest`;
  return { scenario, reference };
}
