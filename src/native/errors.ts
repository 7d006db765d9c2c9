// Turns Node-style system errors (from the addon, fs or the monitor) into EngineErrors.
import { EngineError, type ErrorKind } from '../errors';

export interface SystemErrorLike extends Error {
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
  step?: string;
}

const DEFAULT_KINDS: Record<string, ErrorKind> = {
  EPERM: 'PermissionDenied',
  EACCES: 'PermissionDenied',
  ENOENT: 'NotFound',
  EEXIST: 'AlreadyExists',
  EINVAL: 'InvalidArgument',
  EBUSY: 'FailedPrecondition',
  ENOSPC: 'ResourceExhausted',
  ENOMEM: 'ResourceExhausted',
  EMFILE: 'ResourceExhausted',
  ENOSYS: 'Unimplemented',
  EOPNOTSUPP: 'Unimplemented',
};

/** Classifies a system error by its errno name; a call site that knows better passes overrides. */
export function fromNative(err: unknown, overrides: Record<string, ErrorKind> = {}): Error {
  if (err instanceof EngineError) return err;
  if (!(err instanceof Error)) return new EngineError('Internal', String(err));
  const sys = err as SystemErrorLike;
  if (typeof sys.code !== 'string') return err;
  const kind = overrides[sys.code] ?? DEFAULT_KINDS[sys.code] ?? 'Internal';
  return new EngineError(kind, sys.message, { cause: err });
}
