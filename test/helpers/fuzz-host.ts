// What the fuzz tests watch outside the daemon's data root: a canary directory, hashes of /etc's account and
// host files, the host's mount points, and the paths hostile inputs aim at (all named with one marker, so a stray
// one is found wherever it lands among the usual places).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ETC_FILES = ['/etc/passwd', '/etc/shadow', '/etc/group', '/etc/hosts', '/etc/hostname'];

interface Snapshot {
  etc: Map<string, string>;
  canary: Map<string, string>;
  mounts: Set<string>;
}

export class HostGuard {
  /** In the name of every path a hostile input aims at. */
  readonly marker: string;
  readonly canaryDir: string;
  readonly canaryFile: string;
  private readonly targets = new Set<string>();
  private count = 0;
  private before: Snapshot | undefined;
  /** The daemon's data root and anything else that may change: never compared. */
  private readonly ownDirs: string[] = [];

  constructor(seed: number) {
    this.marker = `berth-fuzz-x${seed}-${process.pid}`;
    this.canaryDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-fuzz-canary-'));
    this.canaryFile = path.join(this.canaryDir, 'canary');
    fs.writeFileSync(this.canaryFile, 'untouched\n');
    fs.mkdirSync(path.join(this.canaryDir, 'sub'));
    fs.writeFileSync(path.join(this.canaryDir, 'sub', 'inner'), 'also untouched\n');
    fs.symlinkSync('/etc/passwd', path.join(this.canaryDir, 'passwd-link'));
  }

  ignore(dir: string): void {
    this.ownDirs.push(dir);
  }

  /** A fresh host path for a hostile input to aim at: in /tmp, in /etc, or in the canary dir. */
  next(): string {
    const n = this.count++;
    const dir = ['/tmp', '/etc', this.canaryDir][n % 3];
    const target = path.join(dir, `${this.marker}-escape-${n}`);
    this.targets.add(target);
    return target;
  }

  snapshot(): void {
    this.before = this.take();
  }

  /** What changed outside: an empty list when nothing did. */
  check(): string[] {
    if (!this.before) throw new Error('HostGuard.check before snapshot');
    const now = this.take();
    const problems: string[] = [];
    for (const [file, hash] of this.before.etc) if (now.etc.get(file) !== hash) problems.push(`${file} changed`);
    for (const [name, hash] of this.before.canary) if (now.canary.get(name) !== hash) problems.push(`canary ${name} changed or went away`);
    for (const name of now.canary.keys()) if (!this.before.canary.has(name)) problems.push(`canary dir gained ${name}`);
    for (const target of this.targets) if (lexists(target)) problems.push(`${target} exists`);
    for (const dir of ['/', '/etc', '/tmp', '/root', '/var/tmp', '/dev', process.cwd(), path.dirname(this.canaryDir)]) {
      let names: string[] = [];
      try { names = fs.readdirSync(dir); } catch { continue; } // a directory this host lacks
      for (const name of names) if (name.includes(this.marker)) problems.push(`${path.join(dir, name)} exists`);
    }
    for (const m of now.mounts) if (!this.before.mounts.has(m) && !this.foreign(m)) problems.push(`new mount ${m}`);
    return problems;
  }

  /** Removes the canary dir and anything a failed run let through. */
  cleanup(): void {
    for (const target of this.targets) fs.rmSync(target, { recursive: true, force: true });
    fs.rmSync(this.canaryDir, { recursive: true, force: true });
  }

  /**
   * Mounts we may not hold against the daemon: under its data root, or under another berth test's or bench's
   * directory in /tmp (other suites may run on this host meanwhile), unless named with our marker or in our canary dir.
   */
  private foreign(mountPoint: string): boolean {
    const under = (d: string) => mountPoint === d || mountPoint.startsWith(`${d}/`);
    if (mountPoint.includes(this.marker) || under(this.canaryDir)) return false;
    if (this.ownDirs.some(under)) return true;
    return /^\/tmp\/berth-[^/]+(\/|$)/.test(mountPoint) || mountPoint.startsWith('/run/netns/');
  }

  private take(): Snapshot {
    const etc = new Map<string, string>();
    for (const file of ETC_FILES) if (fs.existsSync(file)) etc.set(file, hash(fs.readFileSync(file)));
    const canary = new Map<string, string>();
    const walk = (dir: string, prefix: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        const st = fs.lstatSync(full);
        // ctime moves on chmod, chown, a new hard link and an xattr too; nothing that only reads it changes it.
        const desc = `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.nlink} ${st.mtimeMs} ${st.ctimeMs} ${e.isSymbolicLink() ? fs.readlinkSync(full) : e.isFile() ? hash(fs.readFileSync(full)) : ''}`;
        canary.set(`${prefix}${e.name}`, desc);
        if (e.isDirectory()) walk(full, `${prefix}${e.name}/`);
      }
    };
    const top = fs.lstatSync(this.canaryDir);
    canary.set('.', `${top.mode.toString(8)} ${top.nlink} ${top.mtimeMs} ${top.ctimeMs}`);
    walk(this.canaryDir, '');
    const mounts = new Set(fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter(Boolean));
    return { etc, canary, mounts };
  }
}

function hash(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function lexists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
