// One Berth container through the gRPC API, the way `berth run --rm` drives it: one Attach that creates,
// attaches and starts it, and ends with its exit once it is removed. The three-call way (create, start, and
// wait until removed, as `docker run --rm` drives dockerd) is kept beside it. Requests are built by the
// CLI's own flag parser, so they are what a user sends.
import { performance } from 'node:perf_hooks';
import { parseFlags } from '../src/cli/args';
import { call, type Clients } from '../src/cli/client';
import { CREATE_FLAGS, createRequest } from '../src/cli/create-request';
import type {
  AttachResponse, CreateContainerRequest, CreateContainerResponse, ExitStatus, InspectContainerResponse, WaitContainerResponse,
} from '../src/gen/berth/v1/containers';

/** A Create request from `berth run` arguments, e.g. ['--network', 'none', 'busybox', 'true']. */
export function runRequest(args: string[]): CreateContainerRequest {
  const { flags, positionals } = parseFlags(args, CREATE_FLAGS);
  return createRequest(flags, positionals);
}

export interface PhaseTimes {
  /** To the container's start: the answer to Start, or the `attached` frame of a run in one call. */
  start: number;
  /** From there to the exit and the removal that follows it. */
  end: number;
  total: number;
}

export async function create(clients: Clients, request: CreateContainerRequest): Promise<string> {
  const res = await call<Clients['containers'], unknown, CreateContainerResponse>(clients.containers, 'create', request);
  return res.id;
}

const autoRemoved = (request: CreateContainerRequest): CreateContainerRequest => ({ ...request, hostConfig: { ...request.hostConfig!, autoRemove: true } });

function mustBeZero(id: string, exit: ExitStatus | undefined): void {
  if (!exit) throw new Error(`container ${id}: the stream ended without an exit status`);
  if (exit.exitCode !== 0 || exit.signal !== 0) throw new Error(`container ${id} exited with ${exit.exitCode}, signal ${exit.signal}`);
}

/** `berth run --rm` of one container that must exit 0, in one Attach call; ms per phase (to the call's end). */
export async function runToRemoval(clients: Clients, request: CreateContainerRequest): Promise<PhaseTimes> {
  const t0 = performance.now();
  const stream = clients.containers.attach();
  let started = 0;
  let id = '';
  let exit: ExitStatus | undefined;
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (msg: AttachResponse) => {
      if (msg.frame?.$case === 'attached') { started = performance.now(); id = msg.frame.value.containerId; }
      if (msg.frame?.$case === 'exit') exit = msg.frame.value;
    });
    stream.on('error', reject);
    stream.on('end', resolve);
    stream.write({
      frame: {
        $case: 'options',
        value: {
          containerId: '', create: autoRemoved(request), stdin: false, stdout: true, stderr: true, logs: false, detachKeys: '', size: undefined, start: true,
        },
      },
    });
  });
  const t1 = performance.now();
  mustBeZero(id, exit);
  return { start: started - t0, end: t1 - started, total: t1 - t0 };
}

/** The same in three calls: create (auto-remove), wait until removed, start; ms per phase. */
export async function runToRemovalInThreeCalls(clients: Clients, request: CreateContainerRequest): Promise<PhaseTimes> {
  const t0 = performance.now();
  const id = await create(clients, autoRemoved(request));
  // The wait goes first, as docker run --rm sends it: a container that is quickly gone is not missed.
  const removed = call<Clients['containers'], unknown, WaitContainerResponse>(clients.containers, 'wait', { containerId: id, condition: 'removed' });
  removed.catch(() => undefined); // awaited below
  await call(clients.containers, 'start', { containerId: id });
  const t1 = performance.now();
  mustBeZero(id, await removed);
  const t2 = performance.now();
  return { start: t1 - t0, end: t2 - t1, total: t2 - t0 };
}

/** create + start + wait, leaving the stopped container in the store. */
export async function runToExit(clients: Clients, request: CreateContainerRequest): Promise<string> {
  const id = await create(clients, request);
  await call(clients.containers, 'start', { containerId: id });
  await call(clients.containers, 'wait', { containerId: id, condition: '' });
  return id;
}

/** Starts a container and returns its id and its init's host pid. */
export async function startDetached(clients: Clients, request: CreateContainerRequest): Promise<{ id: string; pid: number }> {
  const id = await create(clients, request);
  await call(clients.containers, 'start', { containerId: id });
  const res = await call<Clients['containers'], unknown, InspectContainerResponse>(clients.containers, 'inspect', { containerId: id });
  const pid = res.container?.state?.pid ?? 0;
  if (!pid) throw new Error(`container ${id}: no pid after start`);
  return { id, pid };
}

export async function forceRemove(clients: Clients, id: string): Promise<void> {
  await call(clients.containers, 'remove', { containerId: id, force: true });
}
