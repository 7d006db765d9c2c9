// The CLI's connection to berthd: typed clients on --host or BERTH_HOST (a unix socket, or TCP with
// mutual TLS), with promise helpers.
import * as grpc from '@grpc/grpc-js';
import { grpcTarget, MAX_MESSAGE_BYTES, parseEndpoint, type TlsMaterial } from '../endpoint';
import { ContainersClient } from '../gen/berth/v1/containers';
import { ImagesClient } from '../gen/berth/v1/images';
import { SystemClient } from '../gen/berth/v1/system';
import { VolumesClient } from '../gen/berth/v1/volumes';

export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';

export interface Clients {
  containers: ContainersClient;
  images: ImagesClient;
  system: SystemClient;
  volumes: VolumesClient;
  close(): void;
}

/**
 * Clients of the daemon at host: unix:///PATH, or tcp://HOST:PORT with tls (our certificate and key, and
 * the CA that signed the daemon's). TCP without tls is refused here: berthd serves TCP only with mutual TLS.
 */
export function connect(host: string, tls?: TlsMaterial): Clients {
  const endpoint = parseEndpoint(host, '--host');
  if (endpoint.kind === 'tcp' && !tls) throw new Error(`--host ${host}: TCP needs mutual TLS: --tlscacert, --tlscert and --tlskey (or BERTH_TLS_CACERT, BERTH_TLS_CERT, BERTH_TLS_KEY)`);
  const creds = endpoint.kind === 'tcp' ? grpc.credentials.createSsl(tls!.ca, tls!.key, tls!.cert) : grpc.credentials.createInsecure();
  const target = grpcTarget(endpoint);
  // The daemon sends at most MAX_MESSAGE_BYTES; take all of it. A large HTTP/2 window lets attach and logs
  // stream without a WINDOW_UPDATE round trip every 64 KiB. Channelz (grpc-js's call statistics, which
  // nothing here reads) cost 35-67 µs of a 0.22-0.39 ms Version call.
  const opts = { 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, 'grpc-node.flow_control_window': 8 * 1024 * 1024, 'grpc.enable_channelz': 0 };
  const containers = new ContainersClient(target, creds, opts);
  const images = new ImagesClient(target, creds, opts);
  const system = new SystemClient(target, creds, opts);
  const volumes = new VolumesClient(target, creds, opts);
  return {
    containers, images, system, volumes,
    close: () => { containers.close(); images.close(); system.close(); volumes.close(); },
  };
}

type Callback<Res> = (err: grpc.ServiceError | null, res: Res) => void;

/** Calls a unary method as a promise: call(c.containers, 'start', req). */
export function call<C, Req, Res>(client: C, method: keyof C, req: Req): Promise<Res> {
  const fn = client[method] as unknown as (this: C, req: Req, cb: Callback<Res>) => void;
  return new Promise((resolve, reject) => fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res))));
}

/** The server's message for a failed call, else the error's own. */
export function details(err: unknown): string {
  return (err as { details?: string }).details ?? (err instanceof Error ? err.message : String(err));
}

/** The gRPC status code of a failed call; undefined for any other error. */
export function statusOf(err: unknown): grpc.status | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}
