// Image references: "repo[:tag]" names, and ids given in full, by prefix, with or without "sha256:".
import { invalidArgument } from '../errors';

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const HOST = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?';
const REPO = new RegExp(`^${HOST}${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[\w][\w.-]{0,127}$/;

export interface Reference {
  repo: string;
  tag: string;
}

/** Parses "repo[:tag]"; the tag defaults to "latest". Throws InvalidArgument naming field. */
export function parseReference(text: string, field: string): Reference {
  const slash = text.lastIndexOf('/');
  const colon = text.lastIndexOf(':');
  const hasTag = colon > slash;
  const repo = hasTag ? text.slice(0, colon) : text;
  const tag = hasTag ? text.slice(colon + 1) : 'latest';
  if (text.length > 255 || !REPO.test(repo)) {
    throw invalidArgument(field, text, 'not a valid repository name (lower-case letters, digits and separators)');
  }
  if (!TAG.test(tag)) throw invalidArgument(field, text, 'not a valid tag');
  if (/^[0-9a-f]{64}$/.test(repo)) throw invalidArgument(field, text, 'a repository name cannot be a 64-character hex id');
  return { repo, tag };
}

export function formatReference(ref: Reference): string {
  return `${ref.repo}:${ref.tag}`;
}

/** A registry reference, "[registry/]repo[:tag][@sha256:...]" (distribution's reference grammar, normalised as docker does). */
export interface RemoteReference {
  /** The registry as written ("127.0.0.1:5000"), "docker.io" when none is. */
  domain: string;
  /** The repository on that registry ("library/busybox"). */
  path: string;
  /** '' when pulled by digest alone. */
  tag: string;
  /** "sha256:<hex>", or ''. */
  digest: string;
  /** The local repository name: "busybox" for docker.io/library/busybox, else "domain/path". */
  name: string;
}

const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$/;
const PATH = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
export const DOCKER_HUB = 'docker.io';

export function parseRemoteReference(text: string, field: string): RemoteReference {
  if (text.length > 512 || text.includes('\0')) throw invalidArgument(field, text, 'not a valid image reference');
  const at = text.indexOf('@');
  const nameTag = at >= 0 ? text.slice(0, at) : text;
  const digest = at >= 0 ? text.slice(at + 1) : '';
  if (at >= 0 && !/^sha256:[0-9a-f]{64}$/.test(digest)) throw invalidArgument(field, text, 'the digest must be sha256: and 64 lower-case hex digits');
  const slash = nameTag.lastIndexOf('/');
  const colon = nameTag.lastIndexOf(':');
  const hasTag = colon > slash;
  const repo = hasTag ? nameTag.slice(0, colon) : nameTag;
  const tag = hasTag ? nameTag.slice(colon + 1) : digest ? '' : 'latest';
  if (hasTag && !TAG.test(tag)) throw invalidArgument(field, text, 'not a valid tag');
  const first = repo.indexOf('/');
  // docker's rule: the first component names a registry when it has a "." or ":", is localhost, or has capitals.
  const head = first >= 0 ? repo.slice(0, first) : '';
  const hasDomain = first >= 0 && (/[.:]/.test(head) || head === 'localhost' || head !== head.toLowerCase());
  let domain = hasDomain ? head : DOCKER_HUB;
  let path = hasDomain ? repo.slice(first + 1) : repo;
  if (hasDomain && !DOMAIN.test(domain)) throw invalidArgument(field, text, `${JSON.stringify(domain)} is not a valid registry host`);
  if (domain === 'index.docker.io') domain = DOCKER_HUB;
  if (domain === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  if (!PATH.test(path) || repo.length > 255) throw invalidArgument(field, text, 'not a valid repository name (lower-case letters, digits and separators)');
  const name = domain === DOCKER_HUB ? path.replace(/^library\/(?=[^/]+$)/, '') : `${domain}/${path}`;
  return { domain, path, tag, digest, name };
}

/**
 * The shape of what the image store resolves: an id or id prefix (with or without "sha256:"), or a name
 * ("[registry/]repo[:tag]", optionally "@sha256:<64 hex>"). Lets a malformed reference be told apart from a missing one.
 */
export function checkImageRef(text: string, field: string): void {
  if (text === '' || text.includes('\0')) throw invalidArgument(field, text, 'an image reference is required');
  const hex = text.startsWith('sha256:') ? text.slice(7) : text;
  if (/^[0-9a-f]{1,64}$/.test(hex)) return;
  if (text.startsWith('sha256:')) throw invalidArgument(field, text, 'an image id is "sha256:" and up to 64 lower-case hex digits');
  parseRemoteReference(text, field);
}
