import { describe, expect, it } from 'vitest';
import { imageHistory } from './history';
import type { ImageRecord } from './model';

const image = (history: ImageRecord['blob']['history'], diffIds: string[]): ImageRecord => ({
  id: 'sha256:top', repoTags: ['app:1'], repoDigests: [], sizeBytes: 0,
  blob: { architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z', config: {}, rootfs: { type: 'layers', diff_ids: diffIds }, history },
});

describe('imageHistory', () => {
  it('pairs non-empty steps with layers, newest first, the top carrying id and tags', () => {
    const items = imageHistory(image([
      { created: '2024-01-01T00:00:00Z', created_by: 'ADD rootfs' },
      { created: '2024-01-02T00:00:00Z', created_by: 'ENV A=1', empty_layer: true },
      { created: '2024-01-03T00:00:00Z', created_by: 'RUN make', comment: 'built' },
    ], ['sha256:l1', 'sha256:l2']), (d) => ({ 'sha256:l1': 100, 'sha256:l2': 7 })[d] ?? -1);
    expect(items).toEqual([
      { id: 'sha256:top', created: '2024-01-03T00:00:00Z', createdBy: 'RUN make', comment: 'built', sizeBytes: 7, emptyLayer: false, tags: ['app:1'] },
      { id: '<missing>', created: '2024-01-02T00:00:00Z', createdBy: 'ENV A=1', comment: '', sizeBytes: 0, emptyLayer: true, tags: [] },
      { id: '<missing>', created: '2024-01-01T00:00:00Z', createdBy: 'ADD rootfs', comment: '', sizeBytes: 100, emptyLayer: false, tags: [] },
    ]);
  });

  it('gives an image without history one step per layer', () => {
    expect(imageHistory(image([], ['sha256:a', 'sha256:b']), () => 5).map((i) => [i.id, i.sizeBytes])).toEqual([['sha256:top', 5], ['<missing>', 5]]);
  });

  it('does not fail on a history claiming more layers than there are', () => {
    expect(imageHistory(image([{ created_by: 'a' }, { created_by: 'b' }], ['sha256:a']), () => 5).map((i) => i.sizeBytes)).toEqual([0, 5]);
  });
});
