// `berth import --change`: Dockerfile instructions for the image's config, parsed as the daemon's commit does.
import { EngineError } from '../errors';
import type { ImageConfig } from '../gen/berth/v1/images';
import { parseChanges } from '../images/changes';
import { UsageError } from './args';

export function applyChanges(changes: string[]): ImageConfig {
  let c;
  try {
    c = parseChanges(changes, '--change');
  } catch (err) {
    throw err instanceof EngineError ? new UsageError(err.message) : err;
  }
  return {
    env: c.env, cmd: c.cmd ?? [], entrypoint: c.entrypoint ?? [], workingDir: c.workingDir ?? '', user: c.user ?? '',
    exposedPorts: c.exposedPorts, volumes: c.volumes, labels: c.labels, stopSignal: c.stopSignal ?? '',
  };
}
