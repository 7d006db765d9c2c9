// What the escape tests look with: the host's mount table and stray files outside a data root, tars read
// back, and two small C probes built on the spot (a unix-socket connector, a shared object that marks when loaded).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { BERTH_CLI } from './paths';
import type { TestDaemon } from './daemon';

export const HAVE_CC = spawnSync('cc', ['--version']).status === 0;

/** Builds a C probe with cc (flags: -static for the container, -shared -fPIC for a trap); undefined without cc. */
export function compile(dir: string, name: string, source: string, flags: string[]): string | undefined {
  if (!HAVE_CC) return undefined;
  const src = path.join(dir, `${name}.c`);
  const out = path.join(dir, name);
  fs.writeFileSync(src, source);
  const r = spawnSync('cc', ['-O2', '-o', out, src, ...flags], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cc ${name}: ${r.stderr}`);
  return out;
}

/**
 * Tries connect(2) on each unix socket named ("@name" is abstract) and prints "<name> ok" or "<name> <error>".
 * busybox's nc has no unix sockets, so the container gets this one (static, so it needs nothing there).
 */
export const UCONNECT_C = `#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    struct sockaddr_un a; memset(&a, 0, sizeof a); a.sun_family = AF_UNIX;
    size_t n = strlen(argv[i]); if (n >= sizeof a.sun_path) n = sizeof a.sun_path - 1;
    memcpy(a.sun_path, argv[i], n);
    if (argv[i][0] == '@') a.sun_path[0] = 0;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    int r = connect(fd, (struct sockaddr*)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
    printf("%s %s\\n", argv[i], r == 0 ? "ok" : strerror(errno));
    close(fd);
  }
  return 0;
}
`;

/** A shared object whose constructor appends to /trap-fired and to MARK (a -D define) wherever it is loaded. */
export const TRAP_SO_C = `#include <fcntl.h>
#include <unistd.h>
static void mark(const char* p) { int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644); if (fd >= 0) { write(fd, "so\\n", 3); close(fd); } }
__attribute__((constructor)) static void fire(void) { mark("/trap-fired"); mark(MARK); }
`;

export interface Unpacked { name: string; type: string; mode: number; linkname?: string; body: Buffer }

export async function untar(bytes: Buffer): Promise<Unpacked[]> {
  const out: Unpacked[] = [];
  const extract = tar.extract();
  Readable.from([bytes]).pipe(extract);
  for await (const e of extract) {
    const body: Buffer[] = [];
    for await (const c of e) body.push(c as Buffer);
    out.push({ name: e.header.name, type: e.header.type ?? '', mode: e.header.mode ?? 0, linkname: e.header.linkname ?? undefined, body: Buffer.concat(body) });
  }
  return out;
}

export interface MountLine { mountPoint: string; root: string; fstype: string; source: string }

/** The host's mount table: mount point, the root of the mount within its filesystem, fstype and source. */
export function hostMounts(): MountLine[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((l) => {
    const f = l.split(' ');
    const rest = l.slice(l.indexOf(' - ') + 3).split(' ');
    return { mountPoint: f[4], root: f[3], fstype: rest[0], source: rest[1] };
  });
}

/**
 * Mounts in `now` and not in `before` that an escape from our tests would make: on or above one of `watched`
 * (the canary, the data root: an overmount of /, /tmp or the canary itself), on a path a test swapped in
 * (/proc, /etc, /dev), or whose source is under one of `ours` (a bind of our scratch dir or a volume landing
 * on the host). Other new mounts are other suites' business: this host runs them beside us.
 */
export function newMounts(before: MountLine[], now: MountLine[], watched: string[], ours: string[]): string[] {
  const key = (m: MountLine) => `${m.mountPoint} ${m.root} ${m.fstype} ${m.source}`;
  const had = new Set(before.map(key));
  const under = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
  return now.filter((m) => !had.has(key(m))).filter((m) => watched.some((w) => under(w, m.mountPoint) || under(m.mountPoint, w))
    || ['/proc', '/etc', '/dev', '/sys'].includes(m.mountPoint)
    || ours.some((o) => under(m.root, o) || under(m.source, o) || under(m.mountPoint, o))).map(key);
}

/** Files called `name` on the host outside test daemons' roots: a walk five levels deep, where a climbing path lands. */
export function strayFiles(name: string): string[] {
  const r = spawnSync('find', ['/', '-xdev', '-maxdepth', '5', '(', '-path', '/proc', '-o', '-path', `${os.tmpdir()}/berth-it-*`, ')', '-prune',
    '-o', '-name', name, '-print'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).sort();
}

/** The CLI without blocking the event loop (spawnSync would stall whatever the test watches meanwhile). */
export function cliAsync(d: TestDaemon, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BERTH_CLI, '--host', d.host, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.on('close', (status) => resolve({ status: status ?? -1, stdout, stderr }));
  });
}
