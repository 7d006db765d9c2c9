// Manifests and indexes (OCI image-spec manifest.md / image-index.md, Docker v2 schema 2 and its manifest list):
// parsing untrusted JSON into descriptors, and picking one platform's manifest from a list.
import { EngineError, invalidArgument } from '../errors';
import { DIGEST } from './config-blob';

export const MEDIA = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociNondistLayer: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociNondistLayerGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
} as const;

/** What a registry is asked for, best first; the only document types berth reads. */
export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest];
const MANIFEST_TYPES: string[] = MANIFEST_ACCEPT;

const LAYER_TYPES = new Set<string>([
  MEDIA.dockerLayerGzip, MEDIA.dockerForeignLayerGzip, MEDIA.ociLayer, MEDIA.ociLayerGzip, MEDIA.ociNondistLayer, MEDIA.ociNondistLayerGzip,
]);

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export type Manifest =
  | { kind: 'manifest'; mediaType: string; config: Descriptor; layers: Descriptor[] }
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] };

/** Manifests are small; a bigger one is an attack on the daemon's memory. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function descriptor(v: unknown, where: string, bad: (why: string) => EngineError): Descriptor {
  if (!isObject(v)) throw bad(`${where} is not an object`);
  if (typeof v.mediaType !== 'string' || v.mediaType === '') throw bad(`${where}.mediaType is missing`);
  if (typeof v.digest !== 'string' || !DIGEST.test(v.digest)) throw bad(`${where}.digest ${JSON.stringify(v.digest)} is not a sha256 digest`);
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) throw bad(`${where}.size must be a non-negative integer`);
  const d: Descriptor = { mediaType: v.mediaType, digest: v.digest, size: v.size };
  if (isObject(v.platform)) {
    const p = v.platform;
    d.platform = { os: String(p.os ?? ''), architecture: String(p.architecture ?? ''), ...(typeof p.variant === 'string' ? { variant: p.variant } : {}) };
  }
  if (isObject(v.annotations)) d.annotations = Object.fromEntries(Object.entries(v.annotations).filter(([, s]) => typeof s === 'string')) as Record<string, string>;
  return d;
}

/**
 * Parses a manifest or index. The body's own mediaType wins, then the transport's content type, then the shape
 * (OCI lets mediaType be absent). `what` names the document in errors.
 */
export function parseManifest(bytes: Uint8Array, contentType: string, what: string, kind: 'InvalidArgument' | 'FailedPrecondition' = 'InvalidArgument'): Manifest {
  const bad = (why: string) => new EngineError(kind, `${what}: ${why}`);
  if (bytes.length > MAX_MANIFEST_BYTES) throw bad(`larger than ${MAX_MANIFEST_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw bad(`not JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw)) throw bad('not a JSON object');
  if (raw.schemaVersion === 1) throw new EngineError('Unimplemented', `${what}: Docker schema 1 manifests are not supported`);
  if (raw.schemaVersion !== 2) throw bad(`schemaVersion ${JSON.stringify(raw.schemaVersion)}: expected 2`);
  const own = typeof raw.mediaType === 'string' ? raw.mediaType : '';
  if (own && !MANIFEST_TYPES.includes(own)) {
    throw new EngineError('Unimplemented', `${what}: media type ${JSON.stringify(own)} is not an image manifest or index berth reads`);
  }
  // A transport type we do not know (text/plain, application/json) says nothing: the shape decides then.
  const transport = contentType.split(';')[0].trim();
  const declared = own || MANIFEST_TYPES.find((t) => t === transport) || '';
  const isIndex = declared ? declared === MEDIA.ociIndex || declared === MEDIA.dockerList : Array.isArray(raw.manifests);
  if (isIndex) {
    if (!Array.isArray(raw.manifests)) throw bad('an index needs "manifests"');
    return { kind: 'index', mediaType: declared || MEDIA.ociIndex, manifests: raw.manifests.map((m, i) => descriptor(m, `manifests[${i}]`, bad)) };
  }
  if (!Array.isArray(raw.layers)) throw bad('a manifest needs "layers"');
  const config = descriptor(raw.config, 'config', bad);
  const layers = raw.layers.map((l, i) => descriptor(l, `layers[${i}]`, bad));
  for (const [i, l] of layers.entries()) {
    if (!LAYER_TYPES.has(l.mediaType)) throw new EngineError('Unimplemented', `${what}: layers[${i}] has media type ${JSON.stringify(l.mediaType)}, which berth cannot unpack`);
  }
  return { kind: 'manifest', mediaType: declared || MEDIA.ociManifest, config, layers };
}

/** "os/arch[/variant]" as docker --platform takes it; '' is linux/amd64. */
export function parsePlatform(text: string, field: string): Platform {
  if (text === '') return { os: 'linux', architecture: 'amd64' };
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) {
    throw invalidArgument(field, text, 'expected os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8');
  }
  return { os: parts[0], architecture: parts[1], ...(parts[2] ? { variant: parts[2] } : {}) };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/**
 * The index entry for the wanted platform (containerd's platforms.Only matcher, simplified): os and architecture
 * must match; a wanted variant must match, and one not asked for prefers an entry without one (arm64's "v8" is its default).
 */
export function selectPlatform(index: Extract<Manifest, { kind: 'index' }>, want: Platform, what: string): Descriptor {
  const candidates = index.manifests.filter((m) => m.platform && m.platform.os === want.os && m.platform.architecture === want.architecture
    && (m.mediaType === MEDIA.ociManifest || m.mediaType === MEDIA.dockerManifest));
  const variantOf = (m: Descriptor) => m.platform?.variant ?? (want.architecture === 'arm64' ? 'v8' : '');
  const wanted = want.variant ?? (want.architecture === 'arm64' ? 'v8' : '');
  const match = candidates.find((m) => variantOf(m) === wanted) ?? (want.variant ? undefined : candidates[0]);
  if (!match) {
    const has = index.manifests.filter((m) => m.platform).map((m) => formatPlatform(m.platform!));
    throw new EngineError('NotFound', `${what}: no manifest for ${formatPlatform(want)} (the index has ${has.length ? has.join(', ') : 'no platforms'})`);
  }
  return match;
}
