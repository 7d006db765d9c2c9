// Ids: 64 hex characters, random for containers, sha256 digests for content.
import crypto from 'node:crypto';

export const FULL_ID = /^[0-9a-f]{64}$/;

export function randomId(): string {
  return crypto.randomBytes(32).toString('hex');
}

export function sha256Hex(data: string | Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}
