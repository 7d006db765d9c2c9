// The Images adapter: Import takes a header then tar chunks, Load tar chunks; Save, Pull and Push stream back;
// the rest are unary.
import type { ContainerService } from '../containers/service';
import type { EventJournal } from '../events/journal';
import { loadArchive } from '../images/archive-load';
import { parseSaveFormat, saveArchive } from '../images/archive-save';
import { imageHistory } from '../images/history';
import { pullImage } from '../images/pull';
import { pushImage } from '../images/push';
import type { Credentials } from '../images/registry-auth';
import type { ImageStore } from '../images/store';
import type { ImagesServer, LoadImageRequest, PullImageResponse, PushImageResponse, RegistryAuth } from '../gen/berth/v1/images';
import { EngineError, invalidArgument } from '../errors';
import { imageConfigFromProto, imageToProto } from './convert';
import { clientStream, headerThenChunks, serverStream, unary } from './handlers';

async function* loadChunks(messages: AsyncIterable<LoadImageRequest>): AsyncGenerator<Uint8Array> {
  for await (const m of messages) yield m.chunk;
}

/** RFC 7617: a Basic user-id has no ":", and neither part any control character. */
const CONTROL = /[\0-\x1f\x7f]/;

function credentials(auth: RegistryAuth | undefined): Credentials | undefined {
  if (!auth) return undefined;
  if (auth.username.includes(':') || CONTROL.test(auth.username)) throw invalidArgument('auth.username', auth.username, 'no ":" or control characters');
  // The values themselves stay out of the message: they are secrets.
  if (CONTROL.test(auth.password)) throw new EngineError('InvalidArgument', 'auth.password: contains control characters');
  if (CONTROL.test(auth.identityToken)) throw new EngineError('InvalidArgument', 'auth.identity_token: contains control characters');
  if (auth.password && !auth.username) throw new EngineError('InvalidArgument', 'auth.password: given without auth.username');
  if (!auth.username && !auth.identityToken) return undefined;
  return { username: auth.username, password: auth.password, identityToken: auth.identityToken };
}

export function createImagesService(images: ImageStore, containers: ContainerService, events: EventJournal): ImagesServer {
  const emit = (action: string, id: string, name?: string) => events.append({ type: 'image', action, actorId: id, attributes: name ? { name } : {} });
  return {
    import: clientStream(async (messages, signal) => {
      const { header, chunks } = await headerThenChunks(messages, 'an import');
      const config = imageConfigFromProto(header.config);
      const record = await images.import(chunks, { reference: header.reference, defaults: config, message: header.message, signal });
      emit('import', record.id, header.reference || undefined);
      return { id: record.id };
    }),

    list: unary(async () => ({ images: images.list().map(imageToProto) })),

    inspect: unary(async (req) => ({ image: imageToProto(images.resolve(req.image)) })),

    remove: unary(async (req) => {
      let imageId = '';
      try { imageId = images.resolve(req.image).id; } catch { /* remove reports it */ }
      // A standby rootfs holds its image's layers mounted; the next starts make another.
      if (imageId) await containers.standby.drop();
      const res = await images.remove(req.image, req.force, (id) => containers.usesImage(id));
      for (const name of res.untagged) emit('untag', imageId, name);
      for (const id of res.deleted) emit('delete', id);
      return res;
    }),

    load: clientStream(async (messages, signal) => {
      const loaded = await loadArchive(images, loadChunks(messages), signal);
      for (const l of loaded) {
        if (l.names.length === 0) emit('load', l.id);
        for (const name of l.names) emit('load', l.id, name);
      }
      return { loaded: loaded.flatMap((l) => (l.names.length ? l.names : [l.id])) };
    }),

    save: serverStream(async function* (req, signal) {
      const format = parseSaveFormat(req.format);
      const ids = req.images.map((ref, i) => images.resolve(ref, `images[${i}]`).id);
      for await (const chunk of saveArchive(images, req.images, format, signal)) yield { chunk };
      for (const [i, ref] of req.images.entries()) emit('save', ids[i], ref);
    }),

    pull: serverStream(async function* (req, signal): AsyncGenerator<PullImageResponse> {
      for await (const m of pullImage(images, { reference: req.reference, platform: req.platform, credentials: credentials(req.auth), signal })) {
        if ('progress' in m) yield { part: { $case: 'progress', value: m.progress } };
        else {
          emit('pull', m.done.id, m.done.reference);
          yield { part: { $case: 'done', value: m.done } };
        }
      }
    }),

    push: serverStream(async function* (req, signal): AsyncGenerator<PushImageResponse> {
      for await (const m of pushImage(images, { reference: req.reference, credentials: credentials(req.auth), signal })) {
        if ('progress' in m) yield { part: { $case: 'progress', value: m.progress } };
        else {
          emit('push', m.done.imageId, req.reference);
          yield { part: { $case: 'done', value: { digest: m.done.digest, size: m.done.size } } };
        }
      }
    }),

    history: unary(async (req) => {
      const image = images.resolve(req.image);
      const sizes = await images.layerSizes(image);
      const history = imageHistory(image, (d) => sizes.get(d) ?? 0).map((h) => ({
        id: h.id, created: h.created ? new Date(h.created) : undefined, createdBy: h.createdBy, comment: h.comment,
        size: h.sizeBytes, emptyLayer: h.emptyLayer, tags: h.tags,
      }));
      return { history };
    }),

    tag: unary(async (req) => {
      await images.tag(req.image, req.reference);
      emit('tag', images.resolve(req.reference).id, req.reference);
      return {};
    }),
  };
}
