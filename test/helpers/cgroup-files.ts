// Reads a container's cgroup files on whichever layout the host has: v1 (a hierarchy per controller,
// as on the CI machine) or pure v2 (one hierarchy, other file names), so a test can check both.
import fs from 'node:fs';
import path from 'node:path';
import { detectLayout } from '../../src/cgroups/manager';
import { cgroupParent } from './daemon';

export const LAYOUT = detectLayout();
export const IS_V2 = LAYOUT.version === 2;

/** The container's cgroup directory (the memory hierarchy's on v1). */
export function cgroupDir(root: string, id: string, controller = 'memory'): string {
  const base = LAYOUT.version === 2 ? LAYOUT.root : LAYOUT.mounts[controller];
  return path.join(base, cgroupParent(root), id);
}

/** A file of the container's cgroup: v1 names [controller, file], v2 its own file name. */
export function cgroupFile(root: string, id: string, v1: [string, string], v2: string): string {
  const file = IS_V2 ? path.join(cgroupDir(root, id), v2) : path.join(cgroupDir(root, id, v1[0]), v1[1]);
  return fs.readFileSync(file, 'utf8').trim();
}

/** The line of /proc/<pid>/cgroup that names the memory cgroup (v1) or the one cgroup (v2). */
export function procCgroupLine(text: string): string | undefined {
  return text.split('\n').find((l) => (IS_V2 ? l.startsWith('0::') : /:memory:/.test(l)));
}
