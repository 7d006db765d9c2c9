// Error kind -> gRPC status: the one mapping table. Unclassified errors are logged here, once.
import { status, Metadata, type ServiceError } from '@grpc/grpc-js';
import { kindOf, type ErrorKind } from '../errors';
import { log } from '../util/logger';

const CODES: Record<ErrorKind, status> = {
  InvalidArgument: status.INVALID_ARGUMENT,
  NotFound: status.NOT_FOUND,
  AlreadyExists: status.ALREADY_EXISTS,
  FailedPrecondition: status.FAILED_PRECONDITION,
  PermissionDenied: status.PERMISSION_DENIED,
  ResourceExhausted: status.RESOURCE_EXHAUSTED,
  Unavailable: status.UNAVAILABLE,
  Unimplemented: status.UNIMPLEMENTED,
  Canceled: status.CANCELLED,
  DeadlineExceeded: status.DEADLINE_EXCEEDED,
  Internal: status.INTERNAL,
};

/** Kept under grpc-js's 8 KiB limit on a client's received metadata even when every byte is percent-encoded. */
const MAX_DETAILS_BYTES = 2048;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Details travel percent-encoded in a trailer, and messages quote what clients and registries sent: grpc-js's
 * encodeURI throws on a lone surrogate (in a callback: berthd would die), and a client drops a status whose
 * trailer is too big (the call then hangs until its deadline). So: well-formed, and cut.
 */
export function statusDetails(message: string): string {
  let text = message.replace(LONE_SURROGATE, '\ufffd');
  if (Buffer.byteLength(text) <= MAX_DETAILS_BYTES) return text;
  const suffix = `… (${Buffer.byteLength(text)} bytes)`;
  text = text.slice(0, MAX_DETAILS_BYTES);
  while (Buffer.byteLength(text) > MAX_DETAILS_BYTES - suffix.length) text = text.slice(0, Math.floor(text.length * 0.9));
  // Not half a surrogate pair at the cut.
  if (/[\ud800-\udbff]$/.test(text)) text = text.slice(0, -1);
  return `${text}${suffix}`;
}

export function toStatus(err: unknown): Partial<ServiceError> {
  const message = err instanceof Error ? err.message : String(err);
  const kind = err instanceof Error && err.name === 'AbortError' ? 'Canceled' : kindOf(err);
  if (kind === undefined || kind === 'Internal') {
    log.error('request failed', { error: err instanceof Error ? (err.stack ?? message) : message });
  }
  const code = kind === undefined ? status.UNKNOWN : CODES[kind];
  return { code, details: statusDetails(message), metadata: new Metadata() };
}
