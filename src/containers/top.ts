// The processes of a container (`docker top`) from /proc: pids inside its pid namespace, the parent as the
// container sees it, user, state, CPU time, start time, RSS and command line.
import fs from 'node:fs';
import { EngineError, wrap } from '../errors';
import type { ContainerProcess } from '../gen/berth/v1/containers';
import { parsePasswd } from '../runtime/user';
import { parseProcStat, USER_HZ } from './stats';

export interface PidStat {
  /** Field 2 without its parentheses. */
  comm: string;
  state: string;
  ppid: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /** Clock ticks after boot. */
  startTicks: number;
}

export interface PidStatus {
  /** The pid in the innermost pid namespace: the last NSpid number (Pid before Linux 4.1, which has no NSpid). */
  nsPid: number;
  /** The real uid: the first of the four Uid numbers. */
  uid: number;
  /** 0 for kernel threads and zombies, which have no VmRSS. */
  rssBytes: number;
}

/** proc(5) /proc/<pid>/stat. comm (field 2) may hold spaces and parentheses, so fields are counted after the last ')'. */
export function parsePidStat(text: string): PidStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new EngineError('Internal', `malformed stat line: ${JSON.stringify(text.slice(0, 80))}`);
  // fields[0] is field 3 (state); field N sits at fields[N - 3].
  const fields = text.slice(close + 2).split(' ');
  return {
    comm: text.slice(open + 1, close), state: fields[0], ppid: Number(fields[1]),
    cpuTicks: Number(fields[11]) + Number(fields[12]), startTicks: Number(fields[19]),
  };
}

/** proc(5) /proc/<pid>/status: "Key:\tvalue" lines. */
export function parsePidStatus(text: string): PidStatus {
  const lines = new Map(text.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]));
  const numbers = (key: string) => (lines.get(key) ?? '').split(/\s+/).filter(Boolean).map(Number);
  const rssKb = numbers('VmRSS')[0] ?? 0; // "VmRSS:\t  1234 kB"
  return { nsPid: numbers('NSpid').at(-1) ?? numbers('Pid')[0] ?? 0, uid: numbers('Uid')[0] ?? 0, rssBytes: rssKb * 1024 };
}

/** /proc/<pid>/cmdline: NUL-terminated arguments; empty for kernel threads and zombies. */
export function parseCmdline(text: string): string[] {
  const args = text.split('\0');
  if (args.at(-1) === '') args.pop();
  return args;
}

/** The processes of the cgroup (host pids from cgroup.pids()), sorted by container pid. passwd: the container's /etc/passwd text (for user names; '' is fine). */
export async function listProcesses(hostPids: number[], passwd: string): Promise<ContainerProcess[]> {
  const { bootTimeSec } = parseProcStat(await fs.promises.readFile('/proc/stat', 'utf8').catch((err: unknown) => {
    throw wrap(err, 'read /proc/stat');
  }));
  const users = new Map(parsePasswd(passwd).map((p) => [p.uid, p.name] as const).reverse()); // the first entry wins, as getpwuid(3)
  const found = (await Promise.all(hostPids.map(readProcess))).filter((p) => p !== undefined);
  // A parent outside the list is outside the container (the init's parent is the runtime): 0, as the proto says.
  const nsPidOf = new Map(found.map((p) => [p.hostPid, p.status.nsPid]));
  return found
    .map(({ hostPid, stat, status, args }): ContainerProcess => ({
      hostPid, pid: status.nsPid, ppid: nsPidOf.get(stat.ppid) ?? 0,
      uid: status.uid, user: users.get(status.uid) ?? String(status.uid), state: stat.state,
      cpuTimeMs: (stat.cpuTicks * 1000) / USER_HZ,
      started: new Date((bootTimeSec + stat.startTicks / USER_HZ) * 1000),
      rssBytes: status.rssBytes, args: args.length > 0 ? args : [`[${stat.comm}]`],
    }))
    .sort((a, b) => a.pid - b.pid || a.hostPid - b.hostPid);
}

interface ProcessFiles { hostPid: number; stat: PidStat; status: PidStatus; args: string[] }

/** undefined when the process exits while it is read. */
async function readProcess(hostPid: number): Promise<ProcessFiles | undefined> {
  const dir = `/proc/${hostPid}`;
  const [stat, status, cmdline] = await Promise.all([
    readProcFile(`${dir}/stat`), readProcFile(`${dir}/status`), readProcFile(`${dir}/cmdline`),
  ]);
  if (stat === undefined || status === undefined || cmdline === undefined) return undefined;
  return { hostPid, stat: parsePidStat(stat), status: parsePidStatus(status), args: parseCmdline(cmdline) };
}

/** undefined when the process is gone: ENOENT once reaped, ESRCH when it dies between open and read. */
async function readProcFile(file: string): Promise<string | undefined> {
  try {
    return await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw wrap(err, `read ${file}`);
  }
}
