// Hostile image archives for the fuzz tests: valid docker-archive and OCI layout seeds, and variants with malformed
// manifest.json, config JSON and index.json (wrong types, missing fields, paths out of the archive, huge arrays).
import { gzipSync } from 'node:zlib';
import type { Rng } from './fuzz-rng';
import { dir, file, hardlink, sha256, symlink, tarOf, type EscapeTargets } from './fuzz-tar';

export interface ArchiveSeed {
  archive: Buffer;
  /** The image id a load of it makes, and the name it carries. */
  id: string;
  name: string;
}

export function configJson(diffIds: string[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z', config: { Env: ['PATH=/bin'], Cmd: ['/bin/tool'] },
    rootfs: { type: 'layers', diff_ids: diffIds }, history: diffIds.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'fuzz seed' })), ...extra,
  }));
}

export function dockerArchive(layers: Buffer[], name: string, configExtra: Record<string, unknown> = {}): ArchiveSeed {
  const config = configJson(layers.map((l) => sha256(l)), configExtra);
  const id = sha256(config);
  const manifest = [{ Config: `${id.slice(7)}.json`, RepoTags: [name], Layers: layers.map((_, i) => `l${i}/layer.tar`) }];
  const archive = tarOf(
    ...layers.flatMap((l, i) => [dir(`l${i}`), file(`l${i}/layer.tar`, l)]),
    file(`${id.slice(7)}.json`, config),
    file('manifest.json', JSON.stringify(manifest)),
  );
  return { archive, id, name };
}

export function ociLayout(layers: Buffer[], name: string): ArchiveSeed {
  const blobs = layers.map((l) => gzipSync(l));
  const config = configJson(layers.map((l) => sha256(l)));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: blobs.map((b) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(b), size: b.length })),
  }));
  const index = {
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length, annotations: { 'io.containerd.image.name': `docker.io/library/${name}` } }],
  };
  const blob = (b: Buffer) => file(`blobs/sha256/${sha256(b).slice(7)}`, b);
  const archive = tarOf(
    file('oci-layout', '{"imageLayoutVersion":"1.0.0"}'), dir('blobs'), dir('blobs/sha256'),
    ...blobs.map(blob), blob(config), blob(manifest), file('index.json', JSON.stringify(index)),
  );
  return { archive, id: sha256(config), name };
}

// ---- JSON mutation ----

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function poolValue(rng: Rng, t: EscapeTargets, hostTar: string): Json {
  return rng.pick<() => Json>([
    () => null, () => true, () => 0, () => -1, () => 1.5, () => 1e308, () => -1e308, () => 2 ** 53 + 2, () => '', () => 'x',
    () => '../../../../../../etc/passwd', () => '/etc/passwd', () => t.next(), () => hostTar, () => `${'../'.repeat(12)}${hostTar.slice(1)}`,
    () => `sha256:${'g'.repeat(64)}`, () => sha256(String(rng.next())), () => [], () => ({}), () => [null], () => ({ '': '' }),
    () => 'a'.repeat(rng.size(200_000)), () => Array.from({ length: rng.range(1000, 60_000) }, () => 'l0/layer.tar'),
    () => Array.from({ length: rng.range(100, 5000) }, () => ({ Config: 'c.json', Layers: [] })), () => ({ __proto__: { polluted: true } } as Json),
    () => ({ constructor: { prototype: { polluted: true } } }), () => 'UPPER/Case:tag', () => 'a:b:c@sha256:zz', () => '\u0000\uffff\ud800',
  ])();
}

/** Replaces, deletes or duplicates one node of a JSON document, several times. */
export function mutateJson(rng: Rng, doc: Json, t: EscapeTargets, hostTar: string): Json {
  let root = structuredClone(doc);
  for (let round = rng.range(1, 3); round > 0; round--) {
    const nodes: { parent: Json[] | Record<string, Json> | undefined; key: string | number }[] = [{ parent: undefined, key: '' }];
    const walk = (v: Json) => {
      if (nodes.length > 2000 || v === null || typeof v !== 'object') return;
      for (const [k, child] of Object.entries(v)) {
        nodes.push({ parent: v, key: Array.isArray(v) ? Number(k) : k });
        walk(child);
      }
    };
    walk(root);
    const { parent, key } = rng.pick(nodes);
    const op = rng.int(4);
    if (!parent) { root = op === 0 ? poolValue(rng, t, hostTar) : root; continue; }
    const p = parent as Record<string | number, Json>;
    if (op === 0 || op === 1) p[key] = poolValue(rng, t, hostTar);
    else if (op === 2) {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete p[key];
    } else if (Array.isArray(parent)) parent.push(structuredClone(parent[key as number]));
    else p[`${key}`.toLowerCase() === `${key}` ? `${key}`.toUpperCase() : `${key}`.toLowerCase()] = structuredClone(p[key]);
  }
  return root;
}

/** Text a JSON parser may choke on, or that nests deeper than any recursive walker can follow. */
function oddJsonText(rng: Rng, good: string): string {
  const depth = rng.range(1000, 500_000);
  return rng.pick([
    () => '', () => 'null', () => '"str"', () => '[1]', () => '{}', () => good.slice(0, rng.int(good.length)), () => `${good}garbage`,
    () => `[{"Config":${'['.repeat(depth)}${']'.repeat(depth)}}]`, () => `${'['.repeat(depth)}${']'.repeat(depth)}`,
    () => good.replace(/"/g, "'"), () => `\ufeff${good}`, () => good.replace(/:/g, ':\u0000'),
  ])();
}

// ---- hostile archives ----

export interface ArchiveInputs {
  layer: Buffer;
  docker: ArchiveSeed;
  oci: ArchiveSeed;
  /** An absolute host path to a tar, with its diff id: an archive that names it must not load it. */
  hostTar: string;
  hostTarDiffId: string;
}

export function hostileArchive(rng: Rng, t: EscapeTargets, s: ArchiveInputs): { kind: string; tar: Buffer } {
  const diff = sha256(s.layer);
  const cfgName = rng.pick(['config.json', `${sha256('other').slice(7)}.json`, 'c.json']);
  const docker = (manifest: string, config: Buffer | string, extra: Buffer[] = []) => tarOf(
    dir('l0'), file('l0/layer.tar', s.layer), file(cfgName, config), file('c.json', configJson([])), ...extra, file('manifest.json', manifest),
  );
  const goodManifest = [{ Config: cfgName, RepoTags: ['fuzz-hostile:1'], Layers: ['l0/layer.tar'] }];
  const cases: [string, () => Buffer][] = [
    ['manifest.json mutated', () => docker(JSON.stringify(mutateJson(rng, goodManifest, t, s.hostTar)), configJson([diff]))],
    ['manifest.json odd text', () => docker(oddJsonText(rng, JSON.stringify(goodManifest)), configJson([diff]))],
    ['config mutated', () => docker(JSON.stringify(goodManifest), JSON.stringify(mutateJson(rng, JSON.parse(configJson([diff]).toString()) as Json, t, s.hostTar)))],
    ['config odd text', () => docker(JSON.stringify(goodManifest), oddJsonText(rng, configJson([diff]).toString()))],
    ['layer is a host file', () => docker(JSON.stringify([{ Config: cfgName, RepoTags: ['fuzz-from-host:1'], Layers: [rng.pick([s.hostTar, `${'../'.repeat(rng.range(1, 16))}${s.hostTar.slice(1)}`])] }]), configJson([s.hostTarDiffId]))],
    ['layer through a symlink to the host', () => docker(JSON.stringify([{ Config: cfgName, RepoTags: ['fuzz-from-host:2'], Layers: ['evil.tar'] }]), configJson([s.hostTarDiffId]),
      [rng.chance(0.5) ? symlink('evil.tar', rng.pick([s.hostTar, `${'../'.repeat(rng.range(1, 16))}${s.hostTar.slice(1)}`])) : hardlink('evil.tar', `${'../'.repeat(rng.range(0, 16))}${s.hostTar.slice(1)}`)])],
    ['config is a host file', () => docker(JSON.stringify([{ Config: rng.pick(['/etc/passwd', '../../../../../../etc/passwd', 'cfg-link']), Layers: [] }]), '{}', [symlink('cfg-link', '/etc/passwd')])],
    ['manifest.json through a symlink', () => tarOf(symlink('manifest.json', rng.pick(['/etc/passwd', '../../../../etc/passwd', t.canaryFile])), file('x', 'x'))],
    ['manifest.json a directory', () => tarOf(dir('manifest.json'), file('manifest.json/x', '[]'))],
    ['zero-layer images, many', () => docker(JSON.stringify(Array.from({ length: rng.range(1, 500) }, (_, i) => ({ Config: 'c.json', RepoTags: [`fuzz-many:${i}`], Layers: [] }))), configJson([diff]))],
    ['weird but valid config', () => {
      const depth = rng.range(1000, 100_000);
      const good = configJson([diff]).toString();
      const extra = rng.pick([
        '"history":[{"created":"not a date","created_by":5,"comment":{"nested":true},"empty_layer":"yes"}]',
        '"history":[{"comment":["a"]},{"created":12}]', '"created":"+275760-09-13T00:00:00.001Z"', '"created":"9999-99-99"',
        `"author":"${'a'.repeat(100_000)}"`, `"deep":${'['.repeat(depth)}${']'.repeat(depth)}`, '"os":7,"architecture":null,"variant":{}',
        '"config":{"Labels":{"":""},"ExposedPorts":{"99999999/tcp":{},"../x":null},"Volumes":{"":{},"../../etc":{}},"WorkingDir":"../../..","User":"\\u0000"}',
      ]);
      const manifest = JSON.stringify([{ Config: 'config.json', RepoTags: ['fuzz-weird:1'], Layers: ['l0/layer.tar'] }]);
      return tarOf(dir('l0'), file('l0/layer.tar', s.layer), file('config.json', good.replace(/}$/, `,${extra}}`)), file('manifest.json', manifest));
    }],
    ['oci-layout odd', () => tarOf(file('oci-layout', rng.pick(['null', '[]', '"1.0.0"', '{"imageLayoutVersion":1}', '{"imageLayoutVersion":"2.0.0"}', '', '{'])), file('index.json', '{"schemaVersion":2,"manifests":[]}'))],
    ['index.json mutated', () => {
      const files = ociFiles(s.oci.archive);
      const index = JSON.parse(files.index) as Json;
      return tarOf(file('oci-layout', '{"imageLayoutVersion":"1.0.0"}'), ...files.blobs, file('index.json', JSON.stringify(mutateJson(rng, index, t, s.hostTar))));
    }],
    ['index.json odd text', () => {
      const files = ociFiles(s.oci.archive);
      return tarOf(file('oci-layout', '{"imageLayoutVersion":"1.0.0"}'), ...files.blobs, file('index.json', oddJsonText(rng, files.index)));
    }],
    ['index nested in itself', () => {
      let inner = Buffer.from('{}');
      const blobs: Buffer[] = [];
      for (let i = rng.range(1, 6); i > 0; i--) {
        blobs.push(file(`blobs/sha256/${sha256(inner).slice(7)}`, inner));
        inner = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(inner), size: inner.length, platform: { os: 'linux', architecture: 'amd64' } }] }));
      }
      return tarOf(file('oci-layout', '{"imageLayoutVersion":"1.0.0"}'), ...blobs, file('index.json', inner));
    }],
    ['blob named by a digest it does not have', () => {
      const files = ociFiles(s.oci.archive);
      const swapped = files.blobs.map((b) => (rng.chance(0.5) ? b : Buffer.from(b).fill(0x41, 512, Math.min(b.length, 600))));
      return tarOf(file('oci-layout', '{"imageLayoutVersion":"1.0.0"}'), ...swapped, file('index.json', files.index));
    }],
  ];
  const [kind, make] = rng.pick(cases);
  return { kind, tar: make() };
}

/** The index.json and the blob entries of an OCI layout made by ociLayout (header + padded body each). */
function ociFiles(archive: Buffer): { index: string; blobs: Buffer[] } {
  const blobs: Buffer[] = [];
  let index = '';
  for (let off = 0; off + 512 <= archive.length;) {
    const name = archive.toString('utf8', off, archive.indexOf(0, off)).slice(0, 100);
    if (name === '') break;
    const size = parseInt(archive.toString('latin1', off + 124, off + 135), 8);
    const end = off + 512 + Math.ceil(size / 512) * 512;
    if (name === 'index.json') index = archive.toString('utf8', off + 512, off + 512 + size);
    else if (name.startsWith('blobs/sha256/')) blobs.push(archive.subarray(off, end));
    off = end;
  }
  return { index, blobs };
}
