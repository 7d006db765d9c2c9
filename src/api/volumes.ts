// The Volumes adapter.
import type { VolumesServer } from '../gen/berth/v1/volumes';
import { notBuilt } from './handlers';

export function createVolumesService(): VolumesServer {
  return {
    create: notBuilt('Volumes.Create', 'issue 5'),
    list: notBuilt('Volumes.List', 'issue 5'),
    inspect: notBuilt('Volumes.Inspect', 'issue 5'),
    remove: notBuilt('Volumes.Remove', 'issue 5'),
    prune: notBuilt('Volumes.Prune', 'issue 5'),
  };
}
