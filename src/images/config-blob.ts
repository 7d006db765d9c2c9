// Reading an image config blob (OCI image-spec config.md, docker image spec v1.2) from untrusted bytes: the
// shape is checked once here, so the rest of the store can rely on ImageConfigBlob's fields.
import { EngineError } from '../errors';
import type { HistoryStep, ImageConfigBlob } from './model';

export const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** Config blobs are small JSON; a bigger one is an attack on the daemon's memory. */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

/** Parses and checks a config blob; `what` names it in errors ("config sha256:..."). */
export function parseConfigBlob(bytes: Uint8Array, what: string): ImageConfigBlob {
  const bad = (why: string) => new EngineError('InvalidArgument', `${what}: ${why}`);
  if (bytes.length > MAX_CONFIG_BYTES) throw bad(`larger than ${MAX_CONFIG_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw bad(`not JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw)) throw bad('not a JSON object');
  const rootfs = raw.rootfs;
  if (!isObject(rootfs) || rootfs.type !== 'layers' || !strings(rootfs.diff_ids)) throw bad('rootfs must be {"type":"layers","diff_ids":[...]}');
  for (const d of rootfs.diff_ids) if (!DIGEST.test(d)) throw bad(`rootfs.diff_ids: ${JSON.stringify(d)} is not a sha256 digest`);
  const config = raw.config ?? {};
  if (!isObject(config)) throw bad('config must be an object');
  for (const key of ['Env', 'Cmd', 'Entrypoint'] as const) {
    if (config[key] !== undefined && config[key] !== null && !strings(config[key])) throw bad(`config.${key} must be a list of strings`);
  }
  for (const key of ['WorkingDir', 'User', 'StopSignal'] as const) {
    if (config[key] !== undefined && config[key] !== null && typeof config[key] !== 'string') throw bad(`config.${key} must be a string`);
  }
  for (const key of ['ExposedPorts', 'Volumes', 'Labels'] as const) {
    if (config[key] !== undefined && config[key] !== null && !isObject(config[key])) throw bad(`config.${key} must be an object`);
  }
  if (isObject(config.Labels) && !Object.values(config.Labels).every((v) => typeof v === 'string')) throw bad('config.Labels values must be strings');
  const history = raw.history ?? [];
  if (!Array.isArray(history) || !history.every(isObject)) throw bad('history must be a list of objects');
  const created = typeof raw.created === 'string' && !Number.isNaN(Date.parse(raw.created)) ? raw.created : new Date(0).toISOString();
  // JSON null means "unset" in Go's encoding; drop those keys so the ?? defaults apply.
  const cleaned = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== null));
  return {
    ...(raw as object),
    architecture: typeof raw.architecture === 'string' ? raw.architecture : '',
    os: typeof raw.os === 'string' ? raw.os : '',
    created,
    ...(typeof raw.author === 'string' ? { author: raw.author } : {}),
    config: cleaned as ImageConfigBlob['config'],
    rootfs: { type: 'layers', diff_ids: rootfs.diff_ids },
    history: history as HistoryStep[],
  };
}
