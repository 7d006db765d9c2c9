// docker history: the config's history steps, newest first, each non-empty step paired with the next layer
// (moby's daemon/images/image_history.go pairs them the same way); the top entry carries the image id and tags.
import type { HistoryStep, ImageRecord } from './model';

export interface HistoryItem {
  id: string;
  created: string;
  createdBy: string;
  comment: string;
  sizeBytes: number;
  emptyLayer: boolean;
  tags: string[];
}

/** layerSize gives a layer's size by diff id (0 when unknown). */
export function imageHistory(image: ImageRecord, layerSize: (diffId: string) => number): HistoryItem[] {
  const diffIds = image.blob.rootfs.diff_ids;
  // Images made by tools that write no history still have layers: one anonymous step each.
  const steps: HistoryStep[] = image.blob.history.length ? image.blob.history : diffIds.map(() => ({ created: image.blob.created }));
  const items: HistoryItem[] = [];
  let layer = 0;
  for (const step of steps) {
    const empty = step.empty_layer === true;
    // A history claiming more layers than the rootfs has: the extra steps get no size rather than failing inspection.
    const diffId = empty ? undefined : diffIds[layer++];
    items.push({
      id: '<missing>',
      created: step.created ?? '',
      createdBy: step.created_by ?? '',
      comment: step.comment ?? '',
      sizeBytes: diffId ? layerSize(diffId) : 0,
      emptyLayer: empty,
      tags: [],
    });
  }
  items.reverse();
  if (items.length) {
    items[0].id = image.id;
    items[0].tags = image.repoTags;
  }
  return items;
}
