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
