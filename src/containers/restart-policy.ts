// When a container that exited is started again (Docker's restart manager): the policy decides whether,
// the back-off decides when. Pure; the service keeps the timers.
import { invalidArgument } from '../errors';
import type { ContainerState, RestartPolicy, RestartPolicyName } from './model';

const NAMES: RestartPolicyName[] = ['no', 'on-failure', 'always', 'unless-stopped'];
/** The first restart waits this long, each one after twice the last, up to MAX_DELAY_MS... */
export const FIRST_DELAY_MS = 100;
export const MAX_DELAY_MS = 60_000;
/** ...and a run at least this long starts the back-off over. */
export const RESET_AFTER_MS = 10_000;

/** host_config.restart_policy: an empty name means "no"; a retry count only goes with on-failure. */
export function parseRestartPolicy(name: string, maxRetries: number, field: string): RestartPolicy | undefined {
  const n = (name || 'no') as RestartPolicyName;
  if (!NAMES.includes(n)) throw invalidArgument(`${field}.name`, name, `must be one of ${NAMES.join(', ')}`);
  if (!Number.isInteger(maxRetries) || maxRetries < 0) throw invalidArgument(`${field}.maximum_retry_count`, maxRetries, 'must be 0 (no limit) or more');
  if (maxRetries > 0 && n !== 'on-failure') throw invalidArgument(`${field}.maximum_retry_count`, maxRetries, `only on-failure takes a retry count, not ${n}`);
  return n === 'no' ? undefined : { name: n, maxRetries };
}

/** After an exit: whether the policy starts the container again. A client's stop is not a failure to recover from. */
export function shouldRestart(policy: RestartPolicy | undefined, state: Pick<ContainerState, 'exitCode' | 'restartCount' | 'manuallyStopped'>): boolean {
  if (!policy || state.manuallyStopped) return false;
  switch (policy.name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return state.exitCode !== 0 && (policy.maxRetries === 0 || state.restartCount < policy.maxRetries);
    default:
      return false;
  }
}

/**
 * At daemon start, for a container that is not running: "always" comes back even after a client's stop
 * (as Docker documents it), "unless-stopped" unless a client stopped it, "on-failure" as after any exit.
 * A container that never ran stays as it is.
 */
export function restartsAtDaemonStart(policy: RestartPolicy | undefined, state: ContainerState): boolean {
  if (!policy || !state.startedAt) return false;
  if (policy.name === 'always') return true;
  return shouldRestart(policy, state);
}

/** The wait before the next restart, given the last one (0 for none yet) and how long the container ran. */
export function nextDelay(lastDelayMs: number, ranMs: number): number {
  if (lastDelayMs === 0 || ranMs >= RESET_AFTER_MS) return FIRST_DELAY_MS;
  return Math.min(lastDelayMs * 2, MAX_DELAY_MS);
}
