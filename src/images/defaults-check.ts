// The defaults a client gives an image it imports (ImportHeader.config): held to the rules of a container's
// own settings, since every container of the image inherits them.
import { parseSignal } from '../containers/signals';
import { noNul, validateEnv, validateLabels, validateUser, validateWorkingDir } from '../containers/validate';
import { normalizeExposed } from '../network/ports';
import { cleanVolumePaths } from '../volumes/specs';
import type { ImageDefaults } from './model';

/** Throws InvalidArgument naming `${prefix}.<field>`; returns the defaults with ports and volume paths normalized. */
export function checkImageDefaults(d: Partial<ImageDefaults>, prefix: string): Partial<ImageDefaults> {
  validateEnv(d.env ?? [], `${prefix}.env`);
  noNul(`${prefix}.cmd`, d.cmd ?? []);
  noNul(`${prefix}.entrypoint`, d.entrypoint ?? []);
  validateWorkingDir(d.workingDir ?? '', `${prefix}.working_dir`);
  validateUser(d.user ?? '', `${prefix}.user`);
  validateLabels(d.labels ?? {}, `${prefix}.labels`);
  if (d.stopSignal) parseSignal(d.stopSignal, `${prefix}.stop_signal`);
  return {
    ...d,
    ...(d.exposedPorts && { exposedPorts: normalizeExposed(d.exposedPorts, `${prefix}.exposed_ports`) }),
    ...(d.volumes && { volumes: cleanVolumePaths(d.volumes, `${prefix}.volumes`) }),
  };
}
