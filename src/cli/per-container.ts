// The loop behind stop, kill, rm, wait...: one container at a time; a failure prints one line and the
// others still run, and the exit code is 1 if any failed (as docker does).
import { details } from './client';

/** Runs fn for each id; prints what fn returns (the id when nothing), or the error, one line each. */
export async function perContainer(ids: string[], fn: (id: string) => Promise<string | void>): Promise<number> {
  let failed = 0;
  for (const id of ids) {
    try {
      const out = await fn(id);
      process.stdout.write(`${out ?? id}\n`);
    } catch (err) {
      process.stderr.write(`berth: ${details(err)}\n`);
      failed++;
    }
  }
  return failed ? 1 : 0;
}
