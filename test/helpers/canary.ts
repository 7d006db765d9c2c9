// A host directory no container, copy or image may touch: made fresh before a test, compared after it
// (contents, modes, owners, times and the names in it), then removed. Escape tests aim their payloads at it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Canary {
  /** /tmp/berth-canary-XXXXXX: mode 0750, holding `canary` (0644) and `sub/` (0755) with `sub/inner`. */
  dir: string;
  /** The content of `canary`: a token no container has, so it is recognised wherever it shows up. */
  token: string;
  before: string;
}

/** Everything that a write, chmod, chown, utimes, link or unlink anywhere in the tree would change. */
function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (p: string, rel: string) => {
    const st = fs.lstatSync(p);
    // ctime too: a chmod or chown put back afterwards still moves it.
    out.push(`${rel} mode=${st.mode.toString(8)} uid=${st.uid} gid=${st.gid} nlink=${st.nlink} size=${st.size} mtime=${st.mtimeMs} ctime=${st.ctimeMs} ino=${st.ino}`);
    if (st.isDirectory()) for (const name of fs.readdirSync(p).sort()) walk(path.join(p, name), `${rel}/${name}`);
    else if (st.isFile()) out.push(`${rel} sha256=${crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
  };
  walk(dir, '.');
  return out.join('\n');
}

export function makeCanary(): Canary {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-canary-'));
  const token = `host-only-${crypto.randomBytes(8).toString('hex')}`;
  fs.writeFileSync(path.join(dir, 'canary'), `${token}\n`);
  fs.chmodSync(path.join(dir, 'canary'), 0o644);
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.chmodSync(path.join(dir, 'sub'), 0o755);
  fs.writeFileSync(path.join(dir, 'sub', 'inner'), 'inner\n');
  fs.chmodSync(dir, 0o750);
  // Times in the past, so a touch "now" is told apart from the creation.
  const then = new Date('2020-01-01T00:00:00Z');
  for (const p of [path.join(dir, 'sub', 'inner'), path.join(dir, 'sub'), path.join(dir, 'canary'), dir]) fs.utimesSync(p, then, then);
  return { dir, token, before: snapshot(dir) };
}

/** The lines of the snapshot that changed ("" when the canary is untouched). */
export function canaryDiff(c: Canary): string {
  let now: string;
  try {
    now = snapshot(c.dir);
  } catch (err) {
    return `canary unreadable: ${(err as Error).message}`;
  }
  const was = new Set(c.before.split('\n'));
  const is = new Set(now.split('\n'));
  return [...c.before.split('\n').filter((l) => !is.has(l)).map((l) => `- ${l}`), ...now.split('\n').filter((l) => !was.has(l)).map((l) => `+ ${l}`)].join('\n');
}

export function removeCanary(c: Canary): void {
  fs.rmSync(c.dir, { recursive: true, force: true });
}
