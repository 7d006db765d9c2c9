// Devices: the device cgroup's rules, and the host's device nodes a privileged container gets.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DeviceOp } from '../runtime/spec';

/**
 * The devices cgroup after "deny all" (devices.allow lines): mknod of any node (using one is what is
 * checked), and read/write/mknod of the nodes every container has: null, zero, full, random, urandom,
 * tty, console, ptmx and the pty slaves.
 */
export const DEFAULT_DEVICE_RULES: readonly string[] = [
  'c *:* m', 'b *:* m',
  'c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm',
  'c 5:0 rwm', 'c 5:1 rwm', 'c 5:2 rwm', 'c 136:* rwm',
];

/** Directories under /dev that hold mounts or are made for each container anyway. */
const SKIP = new Set(['/dev/pts', '/dev/shm', '/dev/mqueue', '/dev/fd', '/dev/hugepages',
  // A container's ptmx is its own devpts's (a symlink), and the host's console is not its to take.
  '/dev/ptmx', '/dev/console']);

/** Every char and block device under the host's /dev (docker run --privileged sees them all). */
export function hostDevices(root = '/dev', skip: ReadonlySet<string> = new Set()): DeviceOp[] {
  const out: DeviceOp[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // a directory that went away, or one we may not read: nothing of it
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (SKIP.has(p) || skip.has(p)) continue;
      if (e.isDirectory()) { walk(p); continue; }
      if (!e.isCharacterDevice() && !e.isBlockDevice()) continue;
      let st: fs.Stats;
      try {
        st = fs.lstatSync(p);
      } catch {
        continue;
      }
      // rdev packs major and minor as glibc's makedev does.
      const major = Number((BigInt(st.rdev) >> 8n) & 0xfffn) | Number((BigInt(st.rdev) >> 32n) & ~0xfffn);
      const minor = Number(BigInt(st.rdev) & 0xffn) | Number((BigInt(st.rdev) >> 12n) & ~0xffn);
      out.push({ path: p, type: e.isCharacterDevice() ? 'c' : 'b', major, minor, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
    }
  };
  walk(root);
  return out;
}
