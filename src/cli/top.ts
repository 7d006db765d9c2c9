// `berth top`: the processes in a container, in the columns of docker top (ps -ef) that we have, plus the pid
// inside the container.
import { parseFlags, UsageError } from './args';
import { call } from './client';
import { table } from './format';
import type { Command } from './main';
import type { ContainerProcess, TopContainerResponse } from '../gen/berth/v1/containers';

/**
 * PID and PPID are host pids, as docker top shows them; CPID is the pid inside the container. The daemon gives the
 * parent as a container pid, so it is looked up among the container's processes; init's parent is outside ("-").
 */
const HEADER = ['UID', 'PID', 'PPID', 'CPID', 'STIME', 'TIME', 'CMD'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const two = (n: number) => String(n).padStart(2, '0');

/** ps's STIME: "14:05" today, "Nov30" earlier this year, "2025" before that (local time). */
export function startTime(started: Date | undefined, now = new Date()): string {
  if (!started) return '-';
  if (started.toDateString() === now.toDateString()) return `${two(started.getHours())}:${two(started.getMinutes())}`;
  if (started.getFullYear() === now.getFullYear()) return `${MONTHS[started.getMonth()]}${two(started.getDate())}`;
  return String(started.getFullYear());
}

/** ps's TIME: CPU time as "[D-]HH:MM:SS". */
export function cpuTime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const days = Math.floor(s / 86_400);
  const clock = `${two(Math.floor((s % 86_400) / 3600))}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
  return days ? `${days}-${clock}` : clock;
}

export function topTable(processes: ContainerProcess[], now = new Date()): string {
  const hostPid = new Map(processes.map((p) => [p.pid, p.hostPid]));
  const rows = processes.map((p) => [
    p.user || String(p.uid), String(p.hostPid), String(hostPid.get(p.ppid) ?? '-'), String(p.pid),
    startTime(p.started, now), cpuTime(p.cpuTimeMs), p.args.join(' '),
  ]);
  return table(HEADER, rows);
}

const top: Command = async (argv, clients) => {
  const { positionals } = parseFlags(argv, {}, { interspersed: true });
  if (positionals.length !== 1) throw new UsageError('berth top CONTAINER (ps options are not supported)');
  const res = await call<typeof clients.containers, unknown, TopContainerResponse>(clients.containers, 'top', { containerId: positionals[0] });
  process.stdout.write(topTable(res.processes));
  return 0;
};

export const TOP_COMMANDS: Record<string, Command> = { top };
