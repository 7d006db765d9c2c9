// docker pull over the distribution API: manifest (an index picks the platform), config, then the layers not
// already stored, three at a time. Every byte is checked against its digest before it is unpacked, and the image
// only appears, with its name and repo digest, once everything has arrived.
import { createHash } from 'node:crypto';
import { EngineError } from '../errors';
import { Channel, runLimited } from '../util/channel';
import { MAX_CONFIG_BYTES, parseConfigBlob } from './config-blob';
import { MANIFEST_ACCEPT, parseManifest, parsePlatform, selectPlatform, type Descriptor, type Manifest } from './manifest';
import { parseRemoteReference } from './reference';
import type { Credentials } from './registry-auth';
import { readBody, RegistryClient, streamBody } from './registry-client';
import type { ImageStore } from './store';

/** One line of progress, as docker pull and push print them. */
export interface Progress {
  /** A layer's short digest, or '' for the image. */
  id: string;
  status: string;
  current: number;
  total: number;
}

export type PullMessage = { progress: Progress } | { done: { id: string; digest: string; reference: string } };

export interface PullOptions {
  reference: string;
  platform: string;
  credentials?: Credentials;
  signal: AbortSignal;
}

const PARALLEL_LAYERS = 3;
const PROGRESS_EVERY_MS = 100;

export function shortId(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);
}

export async function* pullImage(store: ImageStore, opts: PullOptions): AsyncGenerator<PullMessage> {
  const ref = parseRemoteReference(opts.reference, 'reference');
  const platform = parsePlatform(opts.platform, 'platform');
  const shown = `${ref.name}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
  const controller = new AbortController();
  const onAbort = () => controller.abort(opts.signal.reason);
  opts.signal.addEventListener('abort', onAbort, { once: true });
  const client = new RegistryClient({ domain: ref.domain, repository: ref.path, push: false, credentials: opts.credentials, signal: controller.signal });
  const out = new Channel<PullMessage>();
  const say = (id: string, status: string, current = 0, total = 0) => out.push({ progress: { id, status, current, total } });

  const work = async (): Promise<void> => {
    say('', `${ref.digest || ref.tag}: Pulling from ${ref.path}`);
    const top = await fetchManifest(client, ref.digest || ref.tag, ref.digest || undefined, `pull ${shown}`);
    let manifest = top.manifest;
    if (manifest.kind === 'index') {
      const chosen = selectPlatform(manifest, platform, `pull ${shown}`);
      manifest = (await fetchManifest(client, chosen.digest, chosen.digest, `pull ${shown}`)).manifest;
      if (manifest.kind === 'index') throw new EngineError('FailedPrecondition', `pull ${shown}: an index inside an index is not supported`);
    }
    const configBytes = await fetchSmallBlob(client, manifest.config, MAX_CONFIG_BYTES, `pull ${shown}: config ${manifest.config.digest}`);
    const config = parseConfigBlob(configBytes, `pull ${shown}: config ${manifest.config.digest}`);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new EngineError('FailedPrecondition', `pull ${shown}: the manifest has ${manifest.layers.length} layers but the config lists ${diffIds.length} diff ids`);
    }

    const txn = store.begin();
    try {
      const wanted: { layer: Descriptor; diffId: string }[] = [];
      for (const [i, layer] of manifest.layers.entries()) {
        if (wanted.some((w) => w.diffId === diffIds[i])) continue;
        if (await txn.hasLayer(diffIds[i])) say(shortId(layer.digest), 'Already exists');
        else {
          wanted.push({ layer, diffId: diffIds[i] });
          say(shortId(layer.digest), 'Pulling fs layer');
        }
      }
      await runLimited(wanted, PARALLEL_LAYERS, controller.signal, async ({ layer, diffId }, signal) => {
        const id = shortId(layer.digest);
        const res = await client.request('GET', client.url(`blobs/${layer.digest}`), { ok: [200], what: `pull ${shown}: layer ${layer.digest}` });
        const received = throttled((n) => say(id, 'Downloading', n, layer.size));
        const extracted = throttled((n) => say(id, 'Extracting', n, layer.size));
        await txn.addLayer({ stream: streamBody(res, `pull ${shown}: layer ${layer.digest}`) }, { digest: layer.digest, sizeBytes: layer.size, diffId }, `pull ${shown}: layer ${layer.digest}`, {
          signal,
          onReceive: received,
          onVerified: () => { say(id, 'Verifying Checksum'); say(id, 'Download complete'); },
          onExtract: extracted,
        });
        say(id, 'Pull complete');
      });
      const repoDigest = `${ref.name}@${top.digest}`;
      txn.addImage(configBytes, { names: ref.tag ? [`${ref.name}:${ref.tag}`] : [], repoDigests: [repoDigest], what: `pull ${shown}: config ${manifest.config.digest}` });
      const [image] = await txn.commit();
      say('', `Digest: ${top.digest}`);
      say('', `Status: Downloaded image for ${shown}`);
      out.push({ done: { id: image.id, digest: top.digest, reference: ref.tag ? `${ref.name}:${ref.tag}` : repoDigest } });
    } catch (err) {
      await txn.abort();
      throw err;
    }
  };

  const running = work().then(() => out.close(), (err: unknown) => out.close(err));
  try {
    yield* out;
  } finally {
    // A reader that stops early (the client cancelled) stops the transfers too.
    controller.abort(new EngineError('Canceled', `pull ${shown}: cancelled`));
    opts.signal.removeEventListener('abort', onAbort);
    await running;
  }
}

/** GETs a manifest and checks its digest: against the one asked for, else against what the registry claims. */
export async function fetchManifest(client: RegistryClient, reference: string, expect: string | undefined, doing: string): Promise<{ manifest: Manifest; digest: string; bytes: Buffer }> {
  const what = `${doing}: manifest ${reference}`;
  const res = await client.request('GET', client.url(`manifests/${reference}`), { headers: { accept: MANIFEST_ACCEPT.join(', ') }, ok: [200], what });
  const bytes = await readBody(res, 4 * 1024 * 1024, what);
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const claimed = res.headers['docker-content-digest'];
  if (expect && digest !== expect) throw new EngineError('FailedPrecondition', `${what}: content has digest ${digest}, expected ${expect}: refusing it`);
  if (!expect && typeof claimed === 'string' && claimed.startsWith('sha256:') && claimed !== digest) {
    throw new EngineError('FailedPrecondition', `${what}: content has digest ${digest}, but the registry says ${claimed}: refusing it`);
  }
  return { manifest: parseManifest(bytes, String(res.headers['content-type'] ?? ''), what, 'FailedPrecondition'), digest, bytes };
}

/** A config blob: read whole, size and digest checked. */
async function fetchSmallBlob(client: RegistryClient, d: Descriptor, limit: number, what: string): Promise<Buffer> {
  if (d.size > limit) throw new EngineError('FailedPrecondition', `${what}: ${d.size} bytes is more than the ${limit} allowed`);
  const res = await client.request('GET', client.url(`blobs/${d.digest}`), { ok: [200], what });
  const bytes = await readBody(res, limit, what);
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (digest !== d.digest || bytes.length !== d.size) {
    throw new EngineError('FailedPrecondition', `${what}: content has digest ${digest} (${bytes.length} bytes), expected ${d.digest} (${d.size} bytes): refusing it`);
  }
  return bytes;
}

/** Calls fn at most every PROGRESS_EVERY_MS; progress lines are for people, not a byte-exact log. */
export function throttled(fn: (n: number) => void): (n: number) => void {
  let last = 0;
  return (n) => {
    const now = Date.now();
    if (now - last < PROGRESS_EVERY_MS) return;
    last = now;
    fn(n);
  };
}
