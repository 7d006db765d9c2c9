// The Volumes adapter: check the request's shape, call the volume service, convert back.
import { validateLabels } from '../containers/validate';
import { invalidArgument } from '../errors';
import type { Volume, VolumesServer } from '../gen/berth/v1/volumes';
import { parseVolumeFilters, type VolumeService, type VolumeView } from '../volumes/service';
import { validateVolumeName } from '../volumes/store';
import { unary } from './handlers';

function volumeToProto(v: VolumeView): Volume {
  return {
    name: v.name, driver: 'local', mountpoint: v.mountpoint, createdAt: new Date(v.createdAt), labels: v.labels,
    scope: 'local', anonymous: v.anonymous, usedBy: v.usedBy,
  };
}

export function createVolumesService(volumes: VolumeService): VolumesServer {
  return {
    create: unary(async (req) => {
      if (req.driver && req.driver !== 'local') throw invalidArgument('driver', req.driver, 'only the local driver is supported');
      if (req.name) validateVolumeName(req.name);
      validateLabels(req.labels, 'labels');
      return volumeToProto(await volumes.create(req.name, req.labels));
    }),

    list: unary(async (req) => ({ volumes: volumes.list(parseVolumeFilters(req.filters)).map(volumeToProto) })),

    inspect: unary(async (req) => volumeToProto(volumes.inspect(req.name))),

    remove: unary(async (req) => {
      await volumes.remove(req.name, req.force);
      return {};
    }),

    prune: unary(async () => {
      const { removed, bytes } = await volumes.prune();
      return { volumesDeleted: removed, spaceReclaimed: bytes };
    }),
  };
}
