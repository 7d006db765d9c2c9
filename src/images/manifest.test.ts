import { describe, expect, it } from 'vitest';
import { MEDIA, parseManifest, parsePlatform, selectPlatform, type Manifest } from './manifest';

const d = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const json = (o: unknown) => Buffer.from(JSON.stringify(o));

describe('parseManifest', () => {
  it('reads a Docker v2 schema 2 manifest', () => {
    const m = parseManifest(json({
      schemaVersion: 2, mediaType: MEDIA.dockerManifest,
      config: { mediaType: MEDIA.dockerConfig, size: 10, digest: d(1) },
      layers: [{ mediaType: MEDIA.dockerLayerGzip, size: 20, digest: d(2) }],
    }), '', 'manifest');
    expect(m).toEqual({ kind: 'manifest', mediaType: MEDIA.dockerManifest, config: { mediaType: MEDIA.dockerConfig, size: 10, digest: d(1) }, layers: [{ mediaType: MEDIA.dockerLayerGzip, size: 20, digest: d(2) }] });
  });

  it('reads an OCI manifest without mediaType from its content type, and an index from its shape', () => {
    const manifest = parseManifest(json({ schemaVersion: 2, config: { mediaType: MEDIA.ociConfig, size: 1, digest: d(1) }, layers: [] }), `${MEDIA.ociManifest}; charset=utf-8`, 'm');
    expect(manifest).toMatchObject({ kind: 'manifest', mediaType: MEDIA.ociManifest });
    const index = parseManifest(json({ schemaVersion: 2, manifests: [{ mediaType: MEDIA.ociManifest, size: 5, digest: d(3), platform: { os: 'linux', architecture: 'amd64' } }] }), '', 'i');
    expect(index).toMatchObject({ kind: 'index', manifests: [{ digest: d(3), platform: { os: 'linux', architecture: 'amd64' } }] });
  });

  it.each<[string, unknown, RegExp]>([
    ['not JSON', 'nope', /^m: not JSON/],
    ['schema 1', { schemaVersion: 1 }, /schema 1 manifests are not supported/],
    ['schema 3', { schemaVersion: 3 }, /schemaVersion 3: expected 2/],
    ['a bad digest', { schemaVersion: 2, config: { mediaType: 'x', size: 1, digest: 'sha256:abc' }, layers: [] }, /config\.digest "sha256:abc" is not a sha256 digest/],
    ['a negative size', { schemaVersion: 2, config: { mediaType: 'x', size: -1, digest: d(1) }, layers: [] }, /config\.size must be a non-negative integer/],
    ['a zstd layer', { schemaVersion: 2, config: { mediaType: 'x', size: 1, digest: d(1) }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', size: 1, digest: d(2) }] }, /cannot unpack/],
  ])('refuses %s', (_what, body, message) => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : json(body);
    expect(() => parseManifest(bytes, '', 'm')).toThrow(message);
  });

  it('lets the shape decide under a transport type that says nothing, and refuses a foreign document type', () => {
    expect(parseManifest(json({ schemaVersion: 2, manifests: [] }), 'text/plain', 'm')).toMatchObject({ kind: 'index' });
    expect(parseManifest(json({ schemaVersion: 2, config: { mediaType: 'x', size: 1, digest: d(1) }, layers: [] }), 'application/json', 'm')).toMatchObject({ kind: 'manifest' });
    expect(() => parseManifest(json({ schemaVersion: 2, mediaType: 'application/vnd.oci.artifact.manifest.v1+json' }), '', 'm')).toThrow(/is not an image manifest or index/);
  });

  it('refuses a manifest bigger than 4 MiB before parsing it', () => {
    expect(() => parseManifest(Buffer.alloc(4 * 1024 * 1024 + 1, 32), '', 'm')).toThrow(/larger than/);
  });
});

describe('selectPlatform', () => {
  const index: Extract<Manifest, { kind: 'index' }> = {
    kind: 'index', mediaType: MEDIA.dockerList, manifests: [
      { mediaType: MEDIA.dockerManifest, digest: d(1), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
      { mediaType: MEDIA.dockerManifest, digest: d(2), size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { mediaType: MEDIA.dockerManifest, digest: d(3), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: 'application/vnd.in-toto+json', digest: d(4), size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
      { mediaType: MEDIA.dockerManifest, digest: d(5), size: 1, platform: { os: 'windows', architecture: 'amd64' } },
    ],
  };

  it.each([
    ['', d(3)],
    ['linux/amd64', d(3)],
    ['linux/arm64', d(2)],
    ['linux/arm64/v8', d(2)],
    ['linux/arm/v7', d(1)],
    ['windows/amd64', d(5)],
  ])('%j picks %s', (platform, digest) => {
    expect(selectPlatform(index, parsePlatform(platform, 'platform'), 'pull x').digest).toBe(digest);
  });

  it('names the platforms it has when none matches', () => {
    expect(() => selectPlatform(index, parsePlatform('linux/s390x', 'platform'), 'pull x')).toThrow(
      'pull x: no manifest for linux/s390x (the index has linux/arm/v7, linux/arm64/v8, linux/amd64, unknown/unknown, windows/amd64)',
    );
  });

  it('refuses a malformed platform naming the field', () => {
    expect(() => parsePlatform('linux', 'platform')).toThrow(/^platform "linux": expected os\/arch/);
  });
});
