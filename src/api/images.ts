// The Images adapter: Import takes a header then tar chunks; the rest are unary.
import { EngineError } from '../errors';
import type { ContainerService } from '../containers/service';
import type { ImageStore } from '../images/store';
import type { ImagesServer, ImportHeader, ImportImageRequest } from '../gen/berth/v1/images';
import { imageConfigFromProto, imageToProto } from './convert';
import { clientStream, unary } from './handlers';

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

export function createImagesService(images: ImageStore, containers: ContainerService): ImagesServer {
  return {
    import: clientStream(async (messages) => {
      const { header, chunks } = await splitImport(messages);
      const config = imageConfigFromProto(header.config);
      const record = await images.import(chunks, { reference: header.reference, defaults: config, message: header.message });
      return { id: record.id };
    }),

    list: unary(async () => ({ images: images.list().map(imageToProto) })),

    inspect: unary(async (req) => ({ image: imageToProto(images.resolve(req.image)) })),

    remove: unary(async (req) => images.remove(req.image, req.force, (id) => containers.usesImage(id))),

    tag: unary(async (req) => {
      await images.tag(req.image, req.reference);
      return {};
    }),
  };
}
