// The Containers adapter's filesystem methods: Changes, Export, CopyFrom (stat, then tar chunks) and
// CopyTo (header, then tar chunks).
import type { ContainerService } from '../containers/service';
import { coalesce } from '../archive/pack';
import { EngineError } from '../errors';
import type {
  ContainerChangesRequest, ContainerChangesResponse, CopyFromContainerRequest, CopyFromContainerResponse, CopyToContainerRequest,
  CopyToContainerResponse, ExportContainerRequest, ExportContainerResponse,
} from '../gen/berth/v1/containers';
import type { ChangeKind } from '../rootfs/changes';
import { containerPath, type PathStatInfo } from '../rootfs/copy-source';
import { clientStream, headerThenChunks, serverStream, unary } from './handlers';

/** As Docker's API numbers them. */
const CHANGE_KINDS: Record<ChangeKind, number> = { C: 0, A: 1, D: 2 };
/** Tar pieces are joined into messages of at least this many bytes. */
const CHUNK_BYTES = 64 * 1024;

export function filesystemHandlers(containers: ContainerService, shutdown?: AbortSignal) {
  return {
    changes: unary<ContainerChangesRequest, ContainerChangesResponse>(async (req) => ({
      changes: (await containers.changes(req.containerId)).map((c) => ({ path: c.path, kind: CHANGE_KINDS[c.kind] })),
    })),

    export: serverStream<ExportContainerRequest, ExportContainerResponse>(async function* (req) {
      for await (const chunk of coalesce(containers.export(req.containerId), CHUNK_BYTES)) yield { chunk };
    }, shutdown),

    copyFrom: serverStream<CopyFromContainerRequest, CopyFromContainerResponse>(async function* (req) {
      // Checked before the container's rootfs is mounted for the copy.
      containerPath(req.path);
      const parts = containers.copyFrom(req.containerId, req.path);
      try {
        const first = await parts.next();
        if (first.done || Buffer.isBuffer(first.value)) throw new EngineError('Internal', 'copy from container: no stat came first');
        yield { part: { $case: 'stat', value: pathStatToProto(first.value) } };
        for await (const chunk of coalesce(parts as AsyncIterable<Buffer>, CHUNK_BYTES)) yield { part: { $case: 'chunk', value: chunk } };
      } finally {
        // Ends the walk (closing its fds, releasing the rootfs) however this stream ends.
        await parts.return(undefined);
      }
    }, shutdown),

    copyTo: clientStream<CopyToContainerRequest, CopyToContainerResponse>(async (messages) => {
      const { header, chunks } = await headerThenChunks(messages, 'a copy');
      await containers.copyTo(header.containerId, header.path, chunks, {
        noOverwriteDirNonDir: header.noOverwriteDirNonDir, copyUidGid: header.copyUidGid,
      });
      return {};
    }),
  };
}

function pathStatToProto(s: PathStatInfo) {
  return { name: s.name, size: s.size, mode: s.mode, mtime: s.mtime, linkTarget: s.linkTarget };
}

