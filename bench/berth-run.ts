// One Berth container through the gRPC API, the way `berth run --rm` drives it: create, start, wait,
// remove, each phase timed; requests are built by the CLI's own flag parser, so they are what a user sends.
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
  wait: number;
  remove: number;
  total: number;
}

export async function create(clients: Clients, request: CreateContainerRequest): Promise<string> {
  const res = await call<Clients['containers'], unknown, CreateContainerResponse>(clients.containers, 'create', request);
  return res.id;
}

/** create + start + wait + remove of one container that must exit 0; returns the time of each phase in ms. */
export async function runToRemoval(clients: Clients, request: CreateContainerRequest): Promise<PhaseTimes> {
  const t0 = performance.now();
  const id = await create(clients, request);
  const t1 = performance.now();
  await call(clients.containers, 'start', { containerId: id });
  const t2 = performance.now();
  const exit = await call<Clients['containers'], unknown, WaitContainerResponse>(clients.containers, 'wait', { containerId: id, condition: '' });
  const t3 = performance.now();
  await call(clients.containers, 'remove', { containerId: id, force: false });
  const t4 = performance.now();
  if (exit.exitCode !== 0 || exit.signal !== 0) throw new Error(`container ${id} exited with ${exit.exitCode}, signal ${exit.signal}`);
  return { create: t1 - t0, start: t2 - t1, wait: t3 - t2, remove: t4 - t3, total: t4 - t0 };
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
