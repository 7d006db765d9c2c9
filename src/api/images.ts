// The Images adapter: Import takes a header then tar chunks; the rest are unary.
import { EngineError } from '../errors';
import type { ContainerService } from '../containers/service';
import type { EventJournal } from '../events/journal';
import type { ImageStore } from '../images/store';
import type { ImagesServer, ImportHeader, ImportImageRequest } from '../gen/berth/v1/images';
import { imageConfigFromProto, imageToProto } from './convert';
import { clientStream, notBuilt, unary } from './handlers';

/** Splits the client stream into its header and the tar bytes that follow it. */
async function splitImport(messages: AsyncIterable<ImportImageRequest>): Promise<{ header: ImportHeader; chunks: AsyncIterable<Uint8Array> }> {
  const it = messages[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done || first.value.part?.$case !== 'header') {
    throw new EngineError('InvalidArgument', 'header: the first message of an import must be its header');
  }
  const chunks = {
    async *[Symbol.asyncIterator]() {
      for (let r = await it.next(); !r.done; r = await it.next()) {
        if (r.value.part?.$case !== 'chunk') throw new EngineError('InvalidArgument', 'chunk: only tar chunks may follow the header');
        yield r.value.part.value;
      }
    },
  };
  return { header: first.value.part.value, chunks };
}

export function createImagesService(images: ImageStore, containers: ContainerService, events: EventJournal): ImagesServer {
  const emit = (action: string, id: string, name?: string) => events.append({ type: 'image', action, actorId: id, attributes: name ? { name } : {} });
  return {
    import: clientStream(async (messages) => {
      const { header, chunks } = await splitImport(messages);
      const config = imageConfigFromProto(header.config);
      const record = await images.import(chunks, { reference: header.reference, defaults: config, message: header.message });
      emit('import', record.id, header.reference || undefined);
      return { id: record.id };
    }),

    list: unary(async () => ({ images: images.list().map(imageToProto) })),

    inspect: unary(async (req) => ({ image: imageToProto(images.resolve(req.image)) })),

    remove: unary(async (req) => {
      let imageId = '';
      try { imageId = images.resolve(req.image).id; } catch { /* remove reports it */ }
      const res = await images.remove(req.image, req.force, (id) => containers.usesImage(id));
      for (const name of res.untagged) emit('untag', imageId, name);
      for (const id of res.deleted) emit('delete', id);
      return res;
    }),

    load: notBuilt('Load', 'issue 5'),
    save: notBuilt('Save', 'issue 5'),
    pull: notBuilt('Pull', 'issue 5'),
    push: notBuilt('Push', 'issue 5'),
    history: notBuilt('History', 'issue 5'),

    tag: unary(async (req) => {
      await images.tag(req.image, req.reference);
      emit('tag', images.resolve(req.reference).id, req.reference);
      return {};
    }),
  };
}
