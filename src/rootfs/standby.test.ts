// RootfsStandby with directories standing in for mounts: when one is made, taken, replaced and discarded.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MountOptions } from '../native';
import { overlayPaths, overlaysDir, type OverlayPaths } from './overlay';
import { leftStandbys, QUIET_MS, RootfsStandby, standbyKey } from './standby';

let root = '';
let quietFor = Infinity;
let mounted: { paths: OverlayPaths; data: string }[] = [];
let discarded: string[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mountFor = (layers: string) => (p: OverlayPaths): MountOptions =>
  ({ source: 'overlay', target: p.merged, fstype: 'overlay', flags: [], data: `lowerdir=${layers},upperdir=${p.upper},workdir=${p.work}` });

function standby(): RootfsStandby {
  return new RootfsStandby(root, {
    mount: async (paths, mount) => {
      for (const d of [paths.upper, paths.work, paths.merged]) fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(paths.merged, 'mount'), mount.data);
      mounted.push({ paths, data: mount.data });
    },
    discard: async (paths) => {
      discarded.push(path.basename(paths.dir));
      fs.rmSync(paths.dir, { recursive: true, force: true });
    },
  }, () => quietFor);
}

/** Two starts in a row of `layers` (key k/a for /a), both launched; then `ms`. */
async function twoStartsAnd(s: RootfsStandby, layers: string, ms: number): Promise<void> {
  for (let i = 0; i < 2; i++) s.started(`k${layers}`, mountFor(layers), Promise.resolve());
  await sleep(ms);
}

/** Two starts in a row of `layers`, then long enough for the standby to be made. */
const twoStarts = (s: RootfsStandby, layers: string) => twoStartsAnd(s, layers, QUIET_MS + 20);

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-standby-'));
  fs.mkdirSync(overlaysDir(root));
  quietFor = Infinity;
  mounted = [];
  discarded = [];
});
afterEach(() => { fs.rmSync(root, { recursive: true, force: true }); });

describe('RootfsStandby', () => {
  it('makes one after two starts of the same image in a row, and a new container takes it whole', async () => {
    const s = standby();
    s.started('k:a', mountFor('/a'), Promise.resolve());
    await sleep(QUIET_MS + 20);
    expect(mounted).toEqual([]);
    s.started('k:a', mountFor('/a'), Promise.resolve());
    await sleep(QUIET_MS + 20);
    expect(mounted).toHaveLength(1);
    expect(leftStandbys(root)).toEqual([mounted[0].paths]);
    const target = overlayPaths(root, 'c1');
    expect(s.take('k:a', target)).toBe(true);
    expect(fs.readFileSync(path.join(target.merged, 'mount'), 'utf8')).toBe(mounted[0].data);
    expect(leftStandbys(root)).toEqual([]);
    // Taken: the next container mounts its own.
    expect(s.take('k:a', overlayPaths(root, 'c2'))).toBe(false);
  });

  it('is not taken for another image, nor onto a directory that is there already', async () => {
    const s = standby();
    await twoStarts(s, '/a');
    expect(s.take('k/b', overlayPaths(root, 'c1'))).toBe(false);
    const there = overlayPaths(root, 'c2');
    fs.mkdirSync(there.upper, { recursive: true });
    fs.writeFileSync(path.join(there.upper, 'copied-in'), 'x');
    expect(s.take('k/a', there)).toBe(false);
    expect(fs.readdirSync(there.upper)).toEqual(['copied-in']);
    expect(leftStandbys(root)).toHaveLength(1);
    expect(s.take('k/a', overlayPaths(root, 'c3'))).toBe(true);
  });

  it('waits for the start to be launched and for berthd to be quiet', async () => {
    const s = standby();
    let launched!: () => void;
    const done = new Promise<void>((resolve) => { launched = resolve; });
    quietFor = 0;
    s.started('k:a', mountFor('/a'), done);
    s.started('k:a', mountFor('/a'), done);
    await sleep(QUIET_MS * 3);
    expect(mounted).toEqual([]);
    launched();
    await sleep(QUIET_MS * 3);
    expect(mounted).toEqual([]);
    quietFor = QUIET_MS;
    await sleep(QUIET_MS * 3);
    expect(mounted).toHaveLength(1);
  });

  it('replaces the standby of one image by another\'s after two starts of it, discarding the first', async () => {
    const s = standby();
    await twoStarts(s, '/a');
    const first = path.basename(mounted[0].paths.dir);
    await twoStarts(s, '/b');
    expect(discarded).toEqual([first]);
    expect(mounted.map((m) => m.data.split(',')[0])).toEqual(['lowerdir=/a', 'lowerdir=/b']);
    expect(s.take('k/a', overlayPaths(root, 'c1'))).toBe(false);
    expect(s.take('k/b', overlayPaths(root, 'c1'))).toBe(true);
  });

  it('drop discards it; after a stop none is made again', async () => {
    const s = standby();
    await twoStarts(s, '/a');
    await s.drop();
    expect(leftStandbys(root)).toEqual([]);
    expect(discarded).toHaveLength(1);
    await twoStarts(s, '/a');
    expect(leftStandbys(root)).toHaveLength(1);
    await s.drop(true);
    await twoStarts(s, '/a');
    expect(leftStandbys(root)).toEqual([]);
    expect(mounted).toHaveLength(2);
  });

  it('a drop while one is only planned keeps it from being made; a drop during its mount waits and discards it', async () => {
    const s = standby();
    let launched!: () => void;
    const done = new Promise<void>((resolve) => { launched = resolve; });
    s.started('k/a', mountFor('/a'), done);
    s.started('k/a', mountFor('/a'), done);
    await s.drop();
    launched();
    await sleep(QUIET_MS * 3);
    expect(mounted).toEqual([]);

    // A mount that takes 50 ms: drop returns only once it is mounted and discarded again.
    const slow = new RootfsStandby(root, {
      mount: async (paths, mount) => {
        await sleep(50);
        fs.mkdirSync(paths.merged, { recursive: true });
        mounted.push({ paths, data: mount.data });
      },
      discard: async (paths) => { discarded.push(path.basename(paths.dir)); fs.rmSync(paths.dir, { recursive: true, force: true }); },
    }, () => quietFor);
    await twoStartsAnd(slow, '/a', QUIET_MS + 10);
    expect(mounted).toEqual([]);
    await slow.drop(true);
    expect(mounted).toHaveLength(1);
    expect(discarded).toEqual([path.basename(mounted[0].paths.dir)]);
    expect(leftStandbys(root)).toEqual([]);
  });

  it('discards at a start what a daemon left, and nothing of a container\'s', async () => {
    const left = overlayPaths(root, 'standby-0123456789abcdef');
    fs.mkdirSync(left.merged, { recursive: true });
    fs.mkdirSync(overlayPaths(root, 'c1').upper, { recursive: true });
    await standby().discardLeft();
    expect(discarded).toEqual(['standby-0123456789abcdef']);
    expect(fs.readdirSync(overlaysDir(root))).toEqual(['c1']);
  });

  it('keys an overlay by what it is made of, not by its own directories', () => {
    const a = mountFor('/l1:/l2')(overlayPaths(root, 'x'));
    const b = mountFor('/l1:/l2')(overlayPaths(root, 'y'));
    expect(standbyKey(a)).toBe(standbyKey(b));
    expect(standbyKey(a)).toBe('lowerdir=/l1:/l2');
    expect(standbyKey(mountFor('/l1')(overlayPaths(root, 'x')))).not.toBe(standbyKey(a));
  });
});
