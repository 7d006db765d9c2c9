// The Containers adapter: check the request's shape, call the domain, convert back.
import type { AttachEvent } from '../containers/attachment';
import { parseRestartPolicy } from '../containers/restart-policy';
import type { ContainerService, WaitCondition } from '../containers/service';
import { sampleStats, streamStats } from '../containers/stats';
import { EngineError, invalidArgument, kindOf } from '../errors';
import { startExec } from '../containers/exec';
import { parseSignal } from '../containers/signals';
import { checkContainerRef, validateName, validateSize, validateStopTimeout } from '../containers/validate';
import {
  LogStream, type AttachOptions, type AttachRequest, type AttachResponse, type ContainerLogsResponse, type ContainersServer, type ContainerStats,
  type ExecOptions, type ExecRequest, type ExecResponse,
} from '../gen/berth/v1/containers';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../io/detach-keys';
import { parseLink } from '../network/links';
import { parseNetworkMode } from '../network/mode';
import { parseChanges } from '../images/changes';
import { parseReference } from '../images/reference';
import { configFromProto, containerToProto, hostConfigFromProto } from './convert';
import { filesystemHandlers } from './filesystem';
import { serverStream, unary } from './handlers';
import { resourcesFromFields, type FieldNames } from './resources';
import { bytesFieldMessage } from '../io/output-message';
import { stdioStream } from './stdio';
import { timeRange } from './times';

/** Attach and Exec answer with the same output frames; in both, stdout is field 2 and stderr field 3. */
const OUTPUT_FRAMES = {
  output: (ev: AttachEvent) => (ev.type === 'exit'
    ? { frame: { $case: 'exit' as const, value: { exitCode: ev.exitCode, signal: ev.signal } } }
    : bytesFieldMessage(ev.type === 'stdout' ? 2 : 3, ev.data)),
  detached: () => ({ frame: { $case: 'detached' as const, value: true } }),
};

const UPDATE_FIELDS: FieldNames = {
  memory: 'resources.memory', memorySwap: 'resources.memory_swap', cpuShares: 'resources.cpu_shares',
  cpuQuota: 'resources.cpu_quota', cpuPeriod: 'resources.cpu_period', nanoCpus: 'resources.nano_cpus',
  cpusetCpus: 'resources.cpuset_cpus', cpusetMems: 'resources.cpuset_mems', pidsLimit: 'resources.pids_limit',
};

const WAIT_CONDITIONS: WaitCondition[] = ['not-running', 'next-exit', 'removed'];

function waitCondition(text: string): WaitCondition {
  if (!text) return 'not-running';
  if (!WAIT_CONDITIONS.includes(text as WaitCondition)) throw invalidArgument('condition', text, `must be one of ${WAIT_CONDITIONS.join(', ')}`);
  return text as WaitCondition;
}

/** A container another field refers to: NOT_FOUND naming that field when there is none. */
function mustExist(containers: ContainerService, ref: string, field: string, value: unknown): void {
  try {
    containers.find(ref, field);
  } catch (err) {
    if (kindOf(err) !== 'NotFound') throw err;
    throw new EngineError('NotFound', `${field} ${JSON.stringify(value)}: container ${ref}: not found`, { cause: err });
  }
}

function stopTimeout(seconds: number | undefined): number | undefined {
  return validateStopTimeout(seconds, 'timeout_seconds');
}

export function createContainersService(containers: ContainerService, shutdown?: AbortSignal): ContainersServer {
  return {
    create: unary(async (req) => {
      const config = configFromProto(req.config);
      const hostConfig = hostConfigFromProto(req.hostConfig, req.config);
      // As Docker: a link, or a network to share, names a container that exists now (it must also run at start).
      for (const link of hostConfig.links ?? []) mustExist(containers, parseLink(link).target, 'host_config.links', link);
      const mode = parseNetworkMode(hostConfig.networkMode, config.networkDisabled);
      if (mode.kind === 'container') mustExist(containers, mode.ref, 'host_config.network_mode', hostConfig.networkMode);
      const record = await containers.create({ config, hostConfig, name: req.name });
      return { id: record.id, warnings: [] };
    }),

    start: unary(async (req) => {
      await containers.start(req.containerId);
      return {};
    }),

    wait: unary(async (req, signal) => containers.wait(req.containerId, signal, waitCondition(req.condition))),

    kill: unary(async (req) => {
      await containers.kill(req.containerId, parseSignal(req.signal));
      return {};
    }),

    remove: unary(async (req) => {
      await containers.remove(req.containerId, req.force, req.volumes);
      return {};
    }),

    list: unary(async (req) => ({
      containers: await Promise.all(containers.list(req.all).map(async (c) =>
        containerToProto(c, containers.files(c.id), req.size ? await containers.sizes(c) : undefined, containers.networkSettings(c)))),
    })),

    inspect: unary(async (req) => {
      const c = containers.find(req.containerId);
      return { container: containerToProto(c, containers.files(c.id), req.size ? await containers.sizes(c) : undefined, containers.networkSettings(c)) };
    }),

    logs: serverStream(async function* (req, signal): AsyncGenerator<ContainerLogsResponse> {
      // Neither stream named means both, as `docker logs` shows both.
      const both = !req.stdout && !req.stderr;
      if (req.tail !== undefined && (!Number.isSafeInteger(req.tail) || req.tail < 0)) throw invalidArgument('tail', req.tail, 'must be 0 or more (leave it unset for all)');
      const filter = {
        stdout: both || req.stdout, stderr: both || req.stderr, ...timeRange(req.since, req.until),
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
      checkContainerRef(opts.containerId, 'options.container_id');
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

    stop: unary(async (req) => {
      await containers.stop(req.containerId, stopTimeout(req.timeoutSeconds));
      return {};
    }),

    restart: unary(async (req) => {
      await containers.restart(req.containerId, stopTimeout(req.timeoutSeconds));
      return {};
    }),

    pause: unary(async (req) => {
      await containers.pause(req.containerId);
      return {};
    }),

    unpause: unary(async (req) => {
      await containers.unpause(req.containerId);
      return {};
    }),

    rename: unary(async (req) => {
      validateName(req.newName.startsWith('/') ? req.newName.slice(1) : req.newName, 'new_name');
      await containers.rename(req.containerId, req.newName);
      return {};
    }),

    update: unary(async (req) => {
      const r = req.resources ?? {};
      const resources = resourcesFromFields(r, UPDATE_FIELDS);
      const policy = req.restartPolicy && (parseRestartPolicy(req.restartPolicy.name, req.restartPolicy.maximumRetryCount, 'restart_policy') ?? null);
      await containers.update(req.containerId, resources, policy);
      return { warnings: [] };
    }),

    prune: unary(async () => {
      const { removed, bytes } = await containers.prune();
      return { containersDeleted: removed, spaceReclaimed: bytes };
    }),

    stats: serverStream(async function* (req, signal): AsyncGenerator<ContainerStats> {
      const input = containers.statsInput(req.containerId);
      if (!req.stream) { yield await sampleStats(input); return; }
      yield* streamStats(input, { signal });
    }, shutdown),

    top: unary(async (req) => ({ processes: await containers.top(req.containerId) })),

    ...filesystemHandlers(containers, shutdown),
    commit: unary(async (req) => {
      // Checked before the container is paused for the copy: a bad name or change must not pause it.
      if (req.reference) parseReference(req.reference, 'reference');
      parseChanges(req.changes, 'changes');
      const image = await containers.commit(req.containerId, {
        reference: req.reference, author: req.author, message: req.message, changes: req.changes, pause: req.pause ?? true,
      });
      return { id: image.id };
    }),

    exec: stdioStream<ExecOptions, ExecRequest, ExecResponse>(async (opts) => {
      const detachKeys = parseDetachKeys(opts.detachKeys || DEFAULT_DETACH_KEYS, 'options.detach_keys');
      const exec = await startExec(containers, opts.containerId, {
        cmd: opts.cmd, env: opts.env, user: opts.user, workingDir: opts.workingDir, tty: opts.tty, stdin: opts.stdin,
        size: validateSize(opts.size, 'options.size'), privileged: opts.privileged,
      });
      return { session: exec.session, detachKeys: opts.tty ? detachKeys : Buffer.alloc(0), first: { frame: { $case: 'started', value: { execId: exec.execId, pid: exec.pid } } } };
    }, OUTPUT_FRAMES, shutdown),
  };
}
