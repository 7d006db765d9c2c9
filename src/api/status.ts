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

export function toStatus(err: unknown): Partial<ServiceError> {
  const message = err instanceof Error ? err.message : String(err);
  const kind = err instanceof Error && err.name === 'AbortError' ? 'Canceled' : kindOf(err);
  if (kind === undefined || kind === 'Internal') {
    log.error('request failed', { error: err instanceof Error ? (err.stack ?? message) : message });
  }
  const code = kind === undefined ? status.UNKNOWN : CODES[kind];
  return { code, details: message, metadata: new Metadata() };
}
