// What /proc says about a process, for checking that a stored pid still names the same process.
import fs from 'node:fs';

/** The process's start time in clock ticks after boot (/proc/<pid>/stat field 22), or undefined if it is gone. */
export function processStartTime(pid: number): number | undefined {
  if (!(pid > 0)) return undefined;
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[22 - 3]);
}

/** Whether pid is still the process that started at startTime (a pid alone may have been reused). */
export function sameProcess(pid: number, startTime: number): boolean {
  return startTime > 0 && processStartTime(pid) === startTime;
}
