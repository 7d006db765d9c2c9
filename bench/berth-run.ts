// One Berth container through the gRPC API, the way `berth run --rm` drives it (and `docker run --rm`
// drives dockerd): create with auto-remove, start, and wait until it is removed, each phase timed.
// Requests are built by the CLI's own flag parser, so they are what a user sends.
import { performance } from 'node:perf_hooks';
import { parseFlags } from '../src/cli/args';
import { call, type Clients } from '../src/cli/client';
import { CREATE_FLAGS, createRequest } from '../src/cli/create-request';
import type { CreateContainerRequest, CreateContainerResponse, InspectContainerResponse, WaitContainerResponse } from '../src/gen/berth/v1/containers';

/** A Create request from `berth run` arguments, e.g. ['--network', 'none', 'busybox', 'true']. */
export function runRequest(args: string[]): CreateContainerRequest {
  const { flags, positionals } = parseFlags(args, CREATE_FLAGS);
  return createRequest(flags, positionals);
}

export interface PhaseTimes {
  create: number;
  start: number;
  /** To the exit and the removal that follows it (Wait with condition "removed"). */
  wait: number;
  total: number;
}

export async function create(clients: Clients, request: CreateContainerRequest): Promise<string> {
  const res = await call<Clients['containers'], unknown, CreateContainerResponse>(clients.containers, 'create', request);
  return res.id;
}

/** `run --rm` of one container that must exit 0: create (auto-remove), wait until removed, start; ms per phase. */
export async function runToRemoval(clients: Clients, request: CreateContainerRequest): Promise<PhaseTimes> {
  const t0 = performance.now();
  const id = await create(clients, { ...request, hostConfig: { ...request.hostConfig!, autoRemove: true } });
  const t1 = performance.now();
  // The wait goes first, as docker run --rm sends it: a container that is quickly gone is not missed.
  const removed = call<Clients['containers'], unknown, WaitContainerResponse>(clients.containers, 'wait', { containerId: id, condition: 'removed' });
  removed.catch(() => undefined); // awaited below
  await call(clients.containers, 'start', { containerId: id });
  const t2 = performance.now();
  const exit = await removed;
  const t3 = performance.now();
  if (exit.exitCode !== 0 || exit.signal !== 0) throw new Error(`container ${id} exited with ${exit.exitCode}, signal ${exit.signal}`);
  return { create: t1 - t0, start: t2 - t1, wait: t3 - t2, total: t3 - t0 };
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
