// Where the API is served and reached: `unix:///PATH` and `tcp://HOST:PORT` addresses (berthd's
// --listen, the CLI's --host), the message size bound both sides share, and the mutual-TLS file set.
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { EngineError } from './errors';

/**
 * The largest gRPC message either side takes or sends. The streams stay far below it: the CLI sends
 * import, load and cp chunks of at most 256 KiB, the daemon sends export and copy-from chunks of 64 KiB
 * and save chunks of 256 KiB; a log entry is one monitor frame. A bigger request ends with
 * RESOURCE_EXHAUSTED before its handler runs (grpc-js reads the 5-byte length prefix first).
 */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export type Endpoint =
  | { kind: 'unix'; path: string }
  /** host is as written: a name, an IPv4 address, or an IPv6 address in brackets. */
  | { kind: 'tcp'; host: string; port: number };

export function parseEndpoint(address: string, flag: string): Endpoint {
  const bad = (why: string) => new EngineError('InvalidArgument', `${flag} ${JSON.stringify(address)}: ${why}`);
  if (address.startsWith('unix://')) {
    const p = address.slice('unix://'.length);
    if (!path.isAbsolute(p)) throw bad('the socket path must be absolute');
    return { kind: 'unix', path: p };
  }
  if (address.startsWith('tcp://')) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(address.slice('tcp://'.length));
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) throw bad('expected tcp://HOST:PORT with a port from 1 to 65535');
    return { kind: 'tcp', host: m[1], port };
  }
  throw bad('expected unix:///PATH or tcp://HOST:PORT');
}

/** The address as grpc-js takes it, for bindAsync or a client's target. */
export function grpcTarget(e: Endpoint): string {
  return e.kind === 'unix' ? `unix://${e.path}` : `${e.host}:${e.port}`;
}

/** The PEM files of mutual TLS: the CA that signs the peer's certificate, and our own certificate and key. */
export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads the three files, or none: undefined when no file is named. Naming some but not all is an
 * error that names the missing flags (flagNames maps each file to its flag or variable).
 */
export function loadTls(files: TlsFiles, flagNames: Record<keyof TlsFiles, string>): TlsMaterial | undefined {
  const keys = ['ca', 'cert', 'key'] as const;
  const missing = keys.filter((k) => !files[k]);
  if (missing.length === keys.length) return undefined;
  if (missing.length > 0) {
    throw new EngineError('InvalidArgument', `mutual TLS needs ${keys.map((k) => flagNames[k]).join(', ')} together: missing ${missing.map((k) => flagNames[k]).join(', ')}`);
  }
  const read = (k: keyof TlsFiles) => {
    try {
      return fs.readFileSync(files[k]!);
    } catch (err) {
      throw new EngineError('InvalidArgument', `${flagNames[k]} ${files[k]}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
  };
  const material = { ca: read('ca'), cert: read('cert'), key: read('key') };
  // A bad PEM or a key that is not the certificate's would otherwise surface only at the first handshake.
  try {
    tls.createSecureContext({ ca: material.ca, cert: material.cert, key: material.key });
  } catch (err) {
    throw new EngineError('InvalidArgument', `${flagNames.ca}, ${flagNames.cert}, ${flagNames.key}: ${(err as Error).message}`, { cause: err });
  }
  return material;
}
