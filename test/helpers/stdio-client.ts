// A test client for Attach and Exec: collects output, sends stdin with backpressure, and resolves
// with the last frame (exit or detached) or the error the stream ended with.
import { once } from 'node:events';
import { credentials, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import {
  AttachOptions, ContainersClient, ExecOptions, type AttachRequest, type AttachResponse, type ExecRequest, type ExecResponse, type ExitStatus,
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

  constructor(private readonly call: ClientDuplexStream<Req, Res>, options: Req) {
    let markReady!: (r: Res) => void;
    this.ready = new Promise((resolve) => { markReady = resolve; });
    let end: StdioEnd = {};
    this.done = new Promise((resolve) => {
      call.on('data', (msg: Res) => {
        const f = msg.frame;
        if (!f) return;
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
