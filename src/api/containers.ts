// The Containers adapter: check the request's shape, call the domain, convert back.
import type { AttachEvent } from '../containers/attachment';
import type { ContainerService } from '../containers/service';
import { invalidArgument } from '../errors';
import { startExec } from '../containers/exec';
import { parseSignal } from '../containers/signals';
import { validateSize } from '../containers/validate';
import {
  LogStream, type AttachOptions, type AttachRequest, type AttachResponse, type ContainerLogsResponse, type ContainersServer,
  type ExecOptions, type ExecRequest, type ExecResponse,
} from '../gen/berth/v1/containers';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../io/detach-keys';
import { configFromProto, containerToProto, hostConfigFromProto } from './convert';
import { serverStream, unary } from './handlers';
import { stdioStream } from './stdio';

/** Attach and Exec answer with the same output frames. */
const OUTPUT_FRAMES = {
  output: (ev: AttachEvent) => ({
    frame: ev.type === 'exit'
      ? { $case: 'exit' as const, value: { exitCode: ev.exitCode, signal: ev.signal } }
      : { $case: ev.type, value: ev.data },
  }),
  detached: () => ({ frame: { $case: 'detached' as const, value: true } }),
};

export function createContainersService(containers: ContainerService, shutdown?: AbortSignal): ContainersServer {
  return {
    create: unary(async (req) => {
      const record = await containers.create({
        config: configFromProto(req.config),
        hostConfig: hostConfigFromProto(req.hostConfig),
        name: req.name,
      });
      return { id: record.id, warnings: [] };
    }),

    start: unary(async (req) => {
      await containers.start(req.containerId);
      return {};
    }),

    wait: unary(async (req, signal) => containers.wait(req.containerId, signal)),

    kill: unary(async (req) => {
      await containers.kill(req.containerId, parseSignal(req.signal));
      return {};
    }),

    remove: unary(async (req) => {
      await containers.remove(req.containerId, req.force);
      return {};
    }),

    list: unary(async (req) => ({
      containers: containers.list(req.all).map((c) => containerToProto(c, containers.files(c.id))),
    })),

    inspect: unary(async (req) => {
      const c = containers.find(req.containerId);
      return { container: containerToProto(c, containers.files(c.id)) };
    }),

    logs: serverStream(async function* (req, signal): AsyncGenerator<ContainerLogsResponse> {
      // Neither stream named means both, as `docker logs` shows both.
      const both = !req.stdout && !req.stderr;
      const filter = {
        stdout: both || req.stdout, stderr: both || req.stderr, since: req.since, until: req.until,
        afterSeq: req.afterSeq || undefined, tail: req.tail,
      };
      for await (const e of containers.logs(req.containerId, filter, req.follow, signal)) {
        yield {
          stream: e.stream === 'stdout' ? LogStream.LOG_STREAM_STDOUT : LogStream.LOG_STREAM_STDERR,
          data: e.data,
          time: req.timestamps ? e.time : undefined,
          seq: e.seq,
        };
      }
    }, shutdown),

    attach: stdioStream<AttachOptions, AttachRequest, AttachResponse>(async (opts) => {
      const detachKeys = parseDetachKeys(opts.detachKeys || DEFAULT_DETACH_KEYS, 'options.detach_keys');
      const size = validateSize(opts.size, 'options.size');
      const session = await containers.attach(
        opts.containerId,
        { stdin: opts.stdin, stdout: opts.stdout, stderr: opts.stderr, logs: opts.logs },
        { start: opts.start, size },
      );
      // As Docker: detach keys are read only from a terminal; binary stdin of a plain pipe must pass untouched.
      const tty = containers.find(opts.containerId).config.tty;
      return { session, detachKeys: tty ? detachKeys : Buffer.alloc(0), first: { frame: { $case: 'attached', value: {} } } };
    }, OUTPUT_FRAMES, shutdown),

    resize: unary(async (req) => {
      const size = validateSize({ rows: req.rows, cols: req.cols }, 'size');
      if (!size) throw invalidArgument('size', `${req.rows}x${req.cols}`, 'rows and cols are required');
      containers.resize(req.containerId, size);
      return {};
    }),

    exec: stdioStream<ExecOptions, ExecRequest, ExecResponse>(async (opts) => {
      const detachKeys = parseDetachKeys(opts.detachKeys || DEFAULT_DETACH_KEYS, 'options.detach_keys');
      const exec = await startExec(containers, opts.containerId, {
        cmd: opts.cmd, env: opts.env, user: opts.user, workingDir: opts.workingDir, tty: opts.tty, stdin: opts.stdin,
        size: validateSize(opts.size, 'options.size'),
      });
      return { session: exec.session, detachKeys: opts.tty ? detachKeys : Buffer.alloc(0), first: { frame: { $case: 'started', value: { execId: exec.execId, pid: exec.pid } } } };
    }, OUTPUT_FRAMES, shutdown),
  };
}
