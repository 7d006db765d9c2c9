// The Containers adapter: check the request's shape, call the domain, convert back.
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import type { Attachment, AttachEvent, AttachSelection, StdioSession } from '../containers/attachment';
import type { ContainerRecord } from '../containers/model';
import { parseRestartPolicy } from '../containers/restart-policy';
import type { ContainerService, WaitCondition } from '../containers/service';
import { sampleStats, streamStats } from '../containers/stats';
import { EngineError, invalidArgument, kindOf } from '../errors';
import { startExec } from '../containers/exec';
import { parseSignal } from '../containers/signals';
import { checkContainerRef, validateName, validateSize, validateStopTimeout } from '../containers/validate';
import {
  Container, LogStream, type AttachOptions, type AttachRequest, type AttachResponse, type ContainerLogsResponse, type ContainersServer, type ContainerStats,
  type CreateContainerRequest, type ExecOptions, type ExecRequest, type ExecResponse, type ListContainersResponse, type TerminalSize,
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
import { bytesFieldMessage, encodedAs } from '../io/output-message';
import { stdioStream } from './stdio';
import { timeRange } from './times';
import { clientActivity } from '../util/activity';
import type { MemoryRelease } from '../util/memory-release';

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

/** Create's checks and the create itself, for Create and for Attach with create. */
async function createFrom(containers: ContainerService, req: CreateContainerRequest, startsNow = false): Promise<ContainerRecord> {
  const config = configFromProto(req.config);
  const hostConfig = hostConfigFromProto(req.hostConfig, req.config);
  // As Docker: a link, or a network to share, names a container that exists now (it must also run at start).
  for (const link of hostConfig.links ?? []) mustExist(containers, parseLink(link).target, 'host_config.links', link);
  const mode = parseNetworkMode(hostConfig.networkMode, config.networkDisabled);
  if (mode.kind === 'container') mustExist(containers, mode.ref, 'host_config.network_mode', hostConfig.networkMode);
  return containers.create({ config, hostConfig, name: req.name, startsNow });
}

/** What Attach opens: the session, and for a run in one call what its exit frame waits for. */
interface OpenedAttach {
  id: string;
  tty: boolean;
  session: StdioSession;
  beforeExit?: () => Promise<void>;
}

/**
 * Attach with create (docker run in one call): create, then attach with start. As docker run waits for the
 * container's next exit (removed, with --rm), the exit frame waits until the daemon has recorded the exit
 * (and removed an auto-remove container), so what a client asks next agrees with it. A failed start removes
 * an auto-remove container again: it never ran, so no exit would remove it.
 */
async function runAttached(
  containers: ContainerService, opts: AttachOptions, selection: AttachSelection, size: TerminalSize | undefined, signal: AbortSignal,
): Promise<OpenedAttach> {
  if (opts.containerId) throw invalidArgument('options.container_id', opts.containerId, 'must be empty with options.create (the container is new)');
  // Refused before anything is made (a plain attach refuses it FAILED_PRECONDITION, for a container that exists).
  if (opts.stdin && !opts.create?.config?.openStdin) throw invalidArgument('options.stdin', true, 'needs options.create.config.open_stdin');
  const record = await createFrom(containers, opts.create!, true);
  const autoRemove = Boolean(record.hostConfig.autoRemove);
  // Asked before the start, so a container that ends at once is not missed; given up if the stream ends
  // another way (a detach, a cancel) before the exit.
  const giveUp = new AbortController();
  const ended = containers.wait(record.id, AbortSignal.any([signal, giveUp.signal]), autoRemove ? 'removed' : 'next-exit');
  ended.catch(() => undefined); // awaited before the exit frame, or given up
  let session: Attachment;
  try {
    session = await containers.attach(record.id, selection, { start: true, size });
  } catch (err) {
    giveUp.abort();
    if (autoRemove) {
      await containers.remove(record.id, true).catch(() => undefined);
      throw err;
    }
    // It stays, created, as docker run leaves it: the client learns its id from the error only.
    const message = err instanceof Error ? err.message : String(err);
    if (message.includes(record.id)) throw err;
    throw new EngineError(kindOf(err) ?? 'Internal', `container ${record.id} was created, but its start failed: ${message}`, { cause: err });
  }
  let exiting = false;
  session.onClose(() => { if (!exiting) giveUp.abort(); });
  const beforeExit = async () => {
    exiting = true;
    // An auto-remove container is removed once its attached clients have read the end: this one has.
    session.close();
    await ended;
  };
  return { id: record.id, tty: record.config.tty, session, beforeExit };
}

/** bulk: told the bytes each Logs, Attach and Exec call carried, once it is over (util/memory-release.ts). */
export function createContainersService(containers: ContainerService, shutdown?: AbortSignal, bulk?: MemoryRelease): ContainersServer {
  const carried = (bytes: number) => bulk?.ended(bytes);
  return {
    create: unary(async (req) => {
      const record = await createFrom(containers, req);
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

    // Encoded one container at a time, as ListContainersResponse.encode writes them: each one's message dies young,
    // where the whole list's, alive until the end, outlived the young generation and made a full collection
    // every few Lists of a large store (List p99, bench/README.md).
    list: unary(async (req) => {
      const list = containers.list(req.all);
      const sizes = req.size ? await Promise.all(list.map((c) => containers.sizes(c))) : undefined;
      const writer = new BinaryWriter();
      list.forEach((c, i) => {
        Container.encode(containerToProto(c, containers.files(c.id), sizes?.[i], containers.networkSettings(c)), writer.uint32(10).fork()).join();
      });
      return encodedAs<ListContainersResponse>(writer.finish());
    }),

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
      let bytes = 0;
      try {
        for await (const e of containers.logs(req.containerId, filter, req.follow, signal)) {
          bytes += e.data.length;
          clientActivity();
          yield {
            stream: e.stream === 'stdout' ? LogStream.LOG_STREAM_STDOUT : LogStream.LOG_STREAM_STDERR,
            data: e.data,
            time: req.timestamps ? e.time : undefined,
            seq: e.seq,
          };
        }
      } finally {
        carried(bytes);
      }
    }, shutdown),

    attach: stdioStream<AttachOptions, AttachRequest, AttachResponse>(async (opts, signal) => {
      if (!opts.create) checkContainerRef(opts.containerId, 'options.container_id');
      const detachKeys = parseDetachKeys(opts.detachKeys || DEFAULT_DETACH_KEYS, 'options.detach_keys');
      const size = validateSize(opts.size, 'options.size');
      const selection = { stdin: opts.stdin, stdout: opts.stdout, stderr: opts.stderr, logs: opts.logs };
      let opened: OpenedAttach;
      if (opts.create) {
        opened = await runAttached(containers, opts, selection, size, signal);
      } else {
        const c = containers.find(opts.containerId);
        opened = { id: c.id, tty: c.config.tty, session: await containers.attach(c.id, selection, { start: opts.start, size }) };
      }
      return {
        session: opened.session,
        // As Docker: detach keys are read only from a terminal; binary stdin of a plain pipe must pass untouched.
        detachKeys: opened.tty ? detachKeys : Buffer.alloc(0),
        first: { frame: { $case: 'attached', value: { containerId: opened.id } } },
        beforeExit: opened.beforeExit,
      };
    }, OUTPUT_FRAMES, shutdown, carried),

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
    }, OUTPUT_FRAMES, shutdown, carried),
  };
}
