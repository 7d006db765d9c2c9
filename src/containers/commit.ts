// docker commit: the container's own layer (its overlay upper dir as an OCI layer tar) on top of its image's
// layers, with the container's config (changed by Dockerfile instructions) as the new image's config.
import { parseChanges, mergeEnv } from '../images/changes';
import type { ImageConfigBlob, ImageRecord } from '../images/model';
import { formatReference, parseReference } from '../images/reference';
import type { ImageStore } from '../images/store';
import { upperToLayerTar } from '../rootfs/layer-tar';
import type { ContainerRecord } from './model';

export interface CommitOptions {
  reference: string;
  author: string;
  message: string;
  /** Dockerfile instructions: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR. */
  changes: string[];
}

/** The new image's config blob: the image's, with the container's settings and then the changes over it. */
export function commitConfig(base: ImageConfigBlob, c: ContainerRecord, opts: CommitOptions, layerDiffId: string, created: string): ImageConfigBlob {
  const changes = parseChanges(opts.changes, 'changes');
  const keys = (list: string[]) => Object.fromEntries(list.map((k) => [k, {}]));
  const cfg = c.config;
  const cmd = changes.cmd ?? cfg.cmd;
  const entrypoint = changes.entrypoint ?? cfg.entrypoint;
  const labels = { ...base.config.Labels, ...changes.labels };
  const exposed = [...Object.keys(base.config.ExposedPorts ?? {}), ...changes.exposedPorts];
  const volumes = [...Object.keys(base.config.Volumes ?? {}), ...changes.volumes];
  const stopSignal = changes.stopSignal ?? (cfg.stopSignal || base.config.StopSignal);
  return {
    architecture: base.architecture,
    os: base.os,
    ...(base.variant && { variant: base.variant }),
    created,
    ...(opts.author && { author: opts.author }),
    config: {
      ...(cfg.env.length || changes.env.length ? { Env: mergeEnv(cfg.env, changes.env) } : {}),
      ...(cmd.length ? { Cmd: cmd } : {}),
      ...(entrypoint.length ? { Entrypoint: entrypoint } : {}),
      ...((changes.workingDir ?? cfg.workingDir) ? { WorkingDir: changes.workingDir ?? cfg.workingDir } : {}),
      ...((changes.user ?? cfg.user) ? { User: changes.user ?? cfg.user } : {}),
      ...(exposed.length ? { ExposedPorts: keys(exposed) } : {}),
      ...(volumes.length ? { Volumes: keys(volumes) } : {}),
      ...(Object.keys(labels).length ? { Labels: labels } : {}),
      ...(stopSignal ? { StopSignal: stopSignal } : {}),
    },
    rootfs: { type: 'layers', diff_ids: [...base.rootfs.diff_ids, layerDiffId] },
    history: [
      ...base.history,
      {
        created,
        // As Docker: the command the container ran.
        created_by: [c.path, ...c.args].join(' '),
        ...(opts.message && { comment: opts.message }),
        ...(opts.author && { author: opts.author }),
      },
    ],
  };
}

/** Stores the layer and the image in one transaction: a failure leaves no layer and no name behind. */
export async function commitImage(images: ImageStore, c: ContainerRecord, upperDir: string, opts: CommitOptions): Promise<ImageRecord> {
  // Checked before any work: a bad name or change must not cost a layer.
  const names = opts.reference ? [formatReference(parseReference(opts.reference, 'reference'))] : [];
  parseChanges(opts.changes, 'changes');
  const base = images.resolve(c.image);
  const txn = images.begin();
  try {
    const layer = await txn.addLayer({ stream: upperToLayerTar(upperDir) }, {}, `commit of container ${c.id}`);
    const blob = commitConfig(base.blob, c, opts, layer.diffId, new Date().toISOString());
    const { id } = txn.addImage(Buffer.from(JSON.stringify(blob)), { names });
    const records = await txn.commit();
    return records.find((r) => r.id === id)!;
  } catch (err) {
    await txn.abort();
    throw err;
  }
}
