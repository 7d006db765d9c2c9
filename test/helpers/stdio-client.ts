// A test client for Attach and Exec: collects output, sends stdin with backpressure, and resolves
// with the last frame (exit or detached) or the error the stream ended with.
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { credentials, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import {
  AttachOptions, AttachRequest, ContainersClient, ExecOptions, type AttachResponse, type ExecRequest, type ExecResponse, type ExitStatus,
} from '../../src/gen/berth/v1/containers';
import type { TestDaemon } from './daemon';

export interface StdioEnd {
  exit?: ExitStatus;
  detached?: boolean;
  error?: ServiceError;
}

type Req = AttachRequest | ExecRequest;
type Res = AttachResponse | ExecResponse;

export class StdioClient {
  private readonly out: Buffer[] = [];
  private readonly err: Buffer[] = [];
  /** The last 64 KiB of stdout (latin1, byte for byte), for waitFor without joining everything each frame. */
  private recent = '';
  /** The first server frame (attached / started). */
  readonly ready: Promise<Res>;
  readonly done: Promise<StdioEnd>;
  private watchers: (() => void)[] = [];
  private readonly frameListeners: ((kind: string) => void)[] = [];

  constructor(private readonly call: ClientDuplexStream<Req, Res>, options: Req) {
    let markReady!: (r: Res) => void;
    this.ready = new Promise((resolve) => { markReady = resolve; });
    let end: StdioEnd = {};
    this.done = new Promise((resolve) => {
      call.on('data', (msg: Res) => {
        const f = msg.frame;
        if (!f) return;
        for (const l of this.frameListeners) l(f.$case);
        if (f.$case === 'attached' || f.$case === 'started') markReady(msg);
        else if (f.$case === 'stdout') { this.out.push(f.value); this.recent = (this.recent + f.value.toString('latin1')).slice(-65536); }
        else if (f.$case === 'stderr') this.err.push(f.value);
        else if (f.$case === 'exit') end = { exit: f.value };
        else if (f.$case === 'detached') end = { detached: true };
        for (const w of this.watchers) w();
      });
      call.on('error', (error: ServiceError) => resolve({ error }));
      call.on('end', () => resolve(end));
    });
    call.write(options);
  }

  /** Called with each server frame's kind as it arrives, before the frame is taken in. */
  onFrame(listener: (kind: string) => void): void {
    this.frameListeners.push(listener);
  }

  get stdout(): Buffer { return Buffer.concat(this.out); }
  get stderr(): Buffer { return Buffer.concat(this.err); }

  /** Resolves once stdout matches; rejects after timeoutMs. */
  async waitFor(pattern: string | RegExp, timeoutMs = 10_000): Promise<void> {
    const hit = () => (typeof pattern === 'string' ? this.recent.includes(pattern) : pattern.test(this.recent));
    if (hit()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; stdout so far: ${JSON.stringify(this.stdout.toString().slice(-500))}`)), timeoutMs);
      this.watchers.push(() => { if (hit()) { clearTimeout(timer); resolve(); } });
    });
  }

  async stdin(data: Buffer | string): Promise<void> {
    if (!this.call.write({ frame: { $case: 'stdin', value: Buffer.from(data) } })) await once(this.call, 'drain');
  }

  closeStdin(): void {
    this.call.write({ frame: { $case: 'closeStdin', value: true } });
  }

  resize(rows: number, cols: number): void {
    this.call.write({ frame: { $case: 'resize', value: { rows, cols } } });
  }

  signal(name: string): void {
    this.call.write({ frame: { $case: 'signal', value: name } });
  }

  /** Stops reading: the server must not let this client stall the container or other clients. */
  pause(): void { this.call.pause(); }
  resume(): void { this.call.resume(); }

  cancel(): void { this.call.cancel(); }
}

/** A client on a connection of its own (HTTP/2 flow control is per connection as well as per stream). */
export function ownConnection(d: TestDaemon): ContainersClient {
  return new ContainersClient(d.host, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
}

export function openAttach(d: TestDaemon, options: Partial<AttachOptions>, client: ContainersClient = d.clients.containers): StdioClient {
  return new StdioClient(client.attach() as ClientDuplexStream<Req, Res>, {
    frame: { $case: 'options', value: AttachOptions.fromPartial({ stdout: true, stderr: true, ...options }) },
  });
}

export function openExec(d: TestDaemon, options: Partial<ExecOptions>): StdioClient {
  return new StdioClient(d.clients.containers.exec() as ClientDuplexStream<Req, Res>, {
    frame: { $case: 'options', value: ExecOptions.fromPartial(options) },
  });
}

/**
 * A plain HTTP/2 gRPC client of Attach with a 64 KiB window, paused: grpc-js clients buffer whatever arrives,
 * so only a raw one shows the server what a stuck peer does to flow control.
 */
export function stuckAttach(d: TestDaemon, id: string): { drain(): Promise<{ received: number; status: string | string[] | undefined }> } {
  const session = http2.connect('http://localhost', { createConnection: () => net.connect(d.socket), settings: { initialWindowSize: 65535 } });
  session.on('error', () => undefined);
  const stream = session.request({ ':method': 'POST', ':path': '/berth.v1.Containers/Attach', 'content-type': 'application/grpc', te: 'trailers' });
  const options = Buffer.from(AttachRequest.encode({ frame: { $case: 'options', value: AttachOptions.fromPartial({ containerId: id, stdout: true, stderr: true }) } }).finish());
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(options.length, 1);
  stream.write(Buffer.concat([prefix, options]));
  let trailers: http2.IncomingHttpHeaders | undefined;
  stream.on('trailers', (t) => { trailers = t; });
  stream.on('error', () => undefined); // a GOAWAY when the daemon stops; the status was read by then
  stream.pause();
  /** Reads everything now; resolves with the bytes received (gRPC framing included) and the final status. */
  const drain = async () => {
    let received = 0;
    stream.on('data', (chunk: Buffer) => { received += chunk.length; });
    stream.resume();
    await new Promise<void>((resolve) => { stream.on('end', () => resolve()); stream.on('close', () => resolve()); });
    session.close();
    return { received, status: trailers?.['grpc-status'] };
  };
  return { drain };
}
