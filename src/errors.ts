// Error kinds for the whole engine: domain code throws EngineError(kind, message) or wrap(err, doing),
// and src/api/status.ts maps the kind to a gRPC status at the boundary (STYLE.md §4).

export type ErrorKind =
  | 'InvalidArgument'
  | 'NotFound'
  | 'AlreadyExists'
  | 'FailedPrecondition'
  | 'PermissionDenied'
  | 'ResourceExhausted'
  | 'Unavailable'
  | 'Unimplemented'
  | 'Canceled'
  | 'DeadlineExceeded'
  | 'Internal';

export class EngineError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'EngineError';
  }
}

/**
 * The kind of the first EngineError met walking from `err` down `.cause`; undefined when nothing is classified.
 * wrap() copies the inner kind outwards, so along a wrap chain this is the innermost kind.
 */
export function kindOf(err: unknown): ErrorKind | undefined {
  // Bounded walk: a cause cycle (a.cause = b, b.cause = a) must not hang the daemon.
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 100; depth++, e = e.cause) {
    if (e instanceof EngineError) return e.kind;
    // Berth's own paths are short: a name too long for the kernel came from a request, a tar or an image.
    if ((e as NodeJS.ErrnoException).code === 'ENAMETOOLONG') return 'InvalidArgument';
  }
  return undefined;
}

/** Adds what we were doing; keeps the innermost classification, else Internal. */
export function wrap(err: unknown, doing: string): EngineError {
  const why = err instanceof Error ? err.message : String(err);
  return new EngineError(kindOf(err) ?? 'Internal', `${doing}: ${why}`, { cause: err });
}

/** A request field with a bad value: `${field} ${JSON.stringify(value)}: ${why}`. */
export function invalidArgument(field: string, value: unknown, why: string): EngineError {
  return new EngineError('InvalidArgument', `${field} ${show(value)}: ${why}`);
}

/** Longer values are cut: a status message travels in an HTTP/2 header, which clients cap (8 KiB by default). */
const MAX_SHOWN = 1024;

// JSON.stringify throws on bigint and cycles, and a bad request must not turn into an Internal error.
function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}... (${text.length} characters)` : text;
}
