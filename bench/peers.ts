// The engines Berth is measured beside, on the same busybox rootfs: the floor (unshare + chroot), crun and runc
// (OCI bundles), ctr (a containerd of our own on temp dirs), podman (daemonless, temp dirs) and docker (only if its
// engine answers). Each is found, tried once, and either measured or skipped with the reason; teardown() undoes it all.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { output, parentPid, reason, removeCgroup, removeTree, sleep, timed, waitGone, which } from './host';

export interface Sleeper {
  /** The process that watches this one container for its engine (shim, conmon, monitor). */
  monitorPid: number;
  remove(): Promise<void>;
}

export interface Engine {
  /** Row name and BENCH prefix: floor, crun, runc, ctr, podman, docker. */
  key: string;
  version: string;
  /** argv that runs cmd in a new container (network none) to its end and removes it; slot < slots of setup. */
  argv(id: string, slot: number, cmd: string[]): string[];
  /** argv for a command whose output is measured, where it needs more than argv gives (the floor: /dev/zero). */
  outputArgv?(cmd: string[]): string[];
  /** The same with the engine's bridge network and one published port, where it has one. */
  bridgeArgv?(id: string, cmd: string[]): string[];
  /** False where the container's command is fixed (an OCI bundle holds /bin/true). */
  anyCommand: boolean;
  /** Where the container's stdout is not the caller's own pipe: there is an attach path to measure. */
  attachPath: boolean;
  monitorName?: string;
  sleeper?(id: string): Promise<Sleeper>;
  /** Resident daemons this engine needs, for the idle-memory row. */
  daemonPids?: number[];
}

export interface Peers {
  engines: Engine[];
  skipped: { key: string; reason: string }[];
  notes: string[];
  teardown(): Promise<void>;
}

export interface PeerOptions {
  work: string;
  tar: string;
  /** Peers to try (floor always runs). */
  wanted: Set<string>;
  cgroupParent: string;
  slots: number;
}

const UNIFIED = '/sys/fs/cgroup/unified';
const RUN_DIRS = ['/run/containerd', '/run/containers', '/run/libpod', '/run/crun', '/run/runc'];
const TRUE = ['/bin/true'];

function firstLine(argv: string[]): string {
  try { return output(argv).split('\n')[0].trim(); } catch (err) { return `version unknown (${reason(err)})`; }
}

function isMountPoint(dir: string): boolean {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === dir);
}

/** Removes dir's empty subdirectories and then dir, if empty; what holds files stays. */
function removeEmptyDirs(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeEmptyDirs(path.join(dir, e.name));
  try { fs.rmdirSync(dir); } catch { /* not empty: someone else's */ }
}

function extract(tar: string, dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  output(['tar', '-C', dir, '-xf', tar]);
  return dir;
}

async function pidFromFile(file: string): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '';
    if (text) return Number(text);
    await sleep(10);
  }
  throw new Error(`${file}: no pid after 5 s`);
}

export async function setupPeers(opts: PeerOptions): Promise<Peers> {
  const engines: Engine[] = [];
  const skipped: Peers['skipped'] = [];
  const notes: string[] = [];
  const undo: (() => Promise<void> | void)[] = [];
  const cg = (name: string) => `/${opts.cgroupParent}/${name}`;
  const tryOnce = async (argv: string[]) => { await timed(argv); };

  // crun 1.8.1 refuses a hybrid layout (v1 controllers plus an empty v2 at /sys/fs/cgroup/unified). It runs in a
  // mount namespace of its own where the v2 mount is gone: made once, kept by a bind mount of its ns file, entered
  // with nsenter for each run, so each run pays one exec instead of unshare + umount.
  let nsPrefix: string[] | undefined;
  const workaroundNs = (): string[] => {
    if (nsPrefix) return nsPrefix;
    const dir = path.join(opts.work, 'ns');
    fs.mkdirSync(dir, { recursive: true });
    output(['mount', '--bind', dir, dir]);
    undo.push(() => { output(['umount', dir]); });
    output(['mount', '--make-private', dir]);
    const file = path.join(dir, 'mnt');
    fs.writeFileSync(file, '');
    output(['unshare', `--mount=${file}`, '--propagation', 'private', 'umount', UNIFIED]);
    undo.push(() => { output(['umount', file]); });
    nsPrefix = ['nsenter', `--mount=${file}`, '--'];
    notes.push(`cgroup workaround: crun refuses this host's hybrid cgroup layout, so crun (and podman, whose runtime it is) run in a mount namespace made once with ${UNIFIED} unmounted, entered with nsenter per run (one extra exec, about 1 ms)`);
    return nsPrefix;
  };
  const hybridRefusal = (err: unknown) => /hybrid/i.test(reason(err)) && isMountPoint(UNIFIED);

  // Made whatever flags say: the shims' sockets (/run/containerd/s), podman's (/run/containers, /run/libpod) and the
  // runtimes' default state roots (even `crun --version` makes /run/crun). What we made goes after, if empty.
  const runDirs = RUN_DIRS.filter((d) => !fs.existsSync(d));
  const teardown = async () => {
    for (const step of undo.reverse()) {
      try { await step(); } catch (err) { console.error(`bench: cleanup: ${reason(err)}`); }
    }
    for (const d of runDirs) removeEmptyDirs(d);
    const busy = removeCgroup(opts.cgroupParent);
    if (busy.length) console.error(`bench: cgroups still busy: ${busy.join(' ')}`);
    removeTree(opts.work);
  };
  try {
    await setupAll();
  } catch (err) {
    await teardown();
    throw err;
  }
  return { engines, skipped, notes, teardown };

  async function setupAll(): Promise<void> {
    setupFloor();
    for (const runtime of ['crun', 'runc']) if (opts.wanted.has(runtime)) await setupOci(runtime);
    if (opts.wanted.has('ctr')) await setupCtr();
    if (opts.wanted.has('podman')) await setupPodman();
    if (opts.wanted.has('docker')) await setupDocker();
  }

  // The floor: what any engine must do at least, namespaces and a chroot, no cgroup, no state.
  // For output it needs /dev/zero: a copy of the rootfs with the host's bound on an empty file (a file, not
  // /dev itself, so nothing can ever remove the host's devices through it).
  function setupFloor(): void {
    const floorRoot = extract(opts.tar, path.join(opts.work, 'rootfs-floor'));
    const pipeRoot = extract(opts.tar, path.join(opts.work, 'rootfs-pipe'));
    const zero = path.join(pipeRoot, 'dev', 'zero');
    fs.writeFileSync(zero, '');
    output(['mount', '--bind', '/dev/zero', zero]);
    undo.push(() => { output(['umount', zero]); });
    engines.push({
      key: 'floor', version: 'unshare -pmuin --fork chroot', anyCommand: true, attachPath: false,
      argv: (_id, _slot, cmd) => ['unshare', '-pmuin', '--fork', 'chroot', floorRoot, ...cmd],
      outputArgv: (cmd) => ['unshare', '-pmuin', '--fork', 'chroot', pipeRoot, ...cmd],
    });
  }

  // crun and runc: `<runtime> spec` per slot, one cgroup per slot (freed by the runtime when its container exits).
  async function setupOci(runtime: string): Promise<void> {
    const bin = which(runtime);
    if (!bin) { skipped.push({ key: runtime, reason: `${runtime} is not installed (apt-get install ${runtime})` }); return; }
    try {
      const rootfs = path.join(opts.work, 'rootfs-oci');
      if (!fs.existsSync(rootfs)) extract(opts.tar, rootfs);
      const state = path.join(opts.work, `${runtime}-state`);
      fs.mkdirSync(state, { recursive: true });
      const bundles: string[] = [];
      for (let slot = 0; slot < opts.slots; slot++) {
        const b = path.join(opts.work, `${runtime}-bundle-${slot}`);
        fs.mkdirSync(b, { recursive: true });
        await new Promise<void>((resolve, reject) => spawn(bin, ['spec'], { cwd: b, stdio: 'ignore' })
          .on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`${runtime} spec: exit ${c}`)))).on('error', reject));
        const spec = JSON.parse(fs.readFileSync(path.join(b, 'config.json'), 'utf8'));
        spec.process.terminal = false;
        spec.process.args = TRUE;
        // Writable, as the engines' own containers are (a read-only root costs a remount more).
        spec.root = { path: rootfs, readonly: false };
        spec.linux.cgroupsPath = cg(`${runtime}-${slot}`);
        fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(spec));
        bundles.push(b);
      }
      let prefix: string[] = [];
      const argv = (id: string, slot: number, cmd: string[]) => {
        if (cmd.join(' ') !== TRUE.join(' ')) throw new Error(`${runtime}: the bundles hold /bin/true only`);
        return [...prefix, bin, '--root', state, 'run', '--bundle', bundles[slot], id];
      };
      try {
        await tryOnce(argv(`probe-${runtime}`, 0, TRUE));
      } catch (err) {
        if (!hybridRefusal(err)) throw err;
        prefix = workaroundNs();
        await tryOnce(argv(`probe-${runtime}-ns`, 0, TRUE));
      }
      engines.push({ key: runtime, version: firstLine([bin, '--version']), argv, anyCommand: false, attachPath: false });
    } catch (err) {
      skipped.push({ key: runtime, reason: `${runtime} failed its trial run: ${reason(err)}` });
    }
  }

  // containerd with its own root, state, sockets and config (no CRI plugin), stopped in teardown.
  async function setupCtr(): Promise<void> {
    const [ctr, containerd] = [which('ctr'), which('containerd')];
    if (!ctr || !containerd) { skipped.push({ key: 'ctr', reason: 'containerd is not installed (apt-get install containerd)' }); return; }
    const dir = path.join(opts.work, 'containerd');
    fs.mkdirSync(dir, { recursive: true });
    const address = path.join(dir, 'containerd.sock');
    fs.writeFileSync(path.join(dir, 'config.toml'), [
      'version = 2', `root = "${dir}/root"`, `state = "${dir}/state"`, 'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]', `  address = "${address}"`, '[ttrpc]', `  address = "${address}.ttrpc"`,
      '[plugins."io.containerd.internal.v1.opt"]', `  path = "${dir}/opt"`, '',
    ].join('\n'));
    const log = fs.openSync(path.join(dir, 'containerd.log'), 'w');
    const daemon: ChildProcess = spawn(containerd, ['--config', path.join(dir, 'config.toml')], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    undo.push(async () => {
      if (daemon.exitCode === null && daemon.signalCode === null) {
        const exited = once(daemon, 'exit');
        daemon.kill('SIGTERM');
        const timer = setTimeout(() => daemon.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    });
    const rootfs = extract(opts.tar, path.join(opts.work, 'rootfs-ctr'));
    const base = [ctr, '--address', address];
    const common = (id: string) => ['--rootfs', '--runc-root', path.join(dir, 'runc'), '--fifo-dir', path.join(dir, 'fifo'), '--cgroup', cg(`ctr-${id}`)];
    try {
      for (let i = 0; ; i++) {
        try { output([...base, 'version'], { timeoutMs: 5000 }); break; } catch (err) {
          if (daemon.exitCode !== null || i > 200) throw new Error(`containerd did not answer: ${reason(err)}; see ${dir}/containerd.log`);
          await sleep(50);
        }
      }
      const argv = (id: string, _slot: number, cmd: string[]) => [...base, 'run', '--rm', ...common(id), rootfs, id, ...cmd];
      await tryOnce(argv('probe-ctr', 0, TRUE));
      engines.push({
        key: 'ctr', version: firstLine([ctr, '--version']), argv, anyCommand: true, attachPath: true,
        monitorName: 'containerd-shim-runc-v2', daemonPids: [daemon.pid!],
        sleeper: async (id) => {
          const pidFile = path.join(dir, `${id}.pid`);
          output([...base, 'run', '-d', ...common(id), '--pid-file', pidFile, rootfs, id, '/bin/sleep', '1000']);
          const monitorPid = parentPid(await pidFromFile(pidFile));
          return {
            monitorPid,
            remove: async () => {
              output([...base, 'task', 'kill', '-s', 'SIGKILL', id]);
              output([...base, 'task', 'delete', '--force', id]);
              output([...base, 'container', 'delete', id]);
            },
          };
        },
      });
      notes.push(`ctr: a containerd of our own (${dir}, CRI plugin off), containers on the extracted rootfs (ctr run --rootfs, no snapshot), runc through containerd-shim-runc-v2`);
    } catch (err) {
      skipped.push({ key: 'ctr', reason: reason(err) });
    }
  }

  // podman without a service: temp root, runroot and tmpdir, cgroupfs, no network, the k8s-file log (logging on, as Berth).
  async function setupPodman(): Promise<void> {
    const podman = which('podman');
    if (!podman) { skipped.push({ key: 'podman', reason: 'podman is not installed (apt-get install podman)' }); return; }
    const dir = path.join(opts.work, 'podman');
    const rootfs = extract(opts.tar, path.join(opts.work, 'rootfs-podman'));
    undo.push(async () => {
      // conmon runs `podman container cleanup` when a container exits, which may outlive `podman run --rm`.
      const left = await waitGone(dir, 15_000);
      if (left.length) console.error(`bench: podman processes still running after 15 s: ${left.join(' ')}`);
    });
    const global = ['--root', `${dir}/root`, '--runroot', `${dir}/run`, '--tmpdir', `${dir}/tmp`, '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
    // Podman's default limits are above this host's hard ones, and raising a hard limit takes CAP_SYS_RESOURCE, which
    // root lacks here; crun refused even nproc at the host's own hard limit, so both are set low.
    const limits = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096'];
    let prefix: string[] = [];
    let runtime: string[] = [];
    const run = (id: string, extra: string[], cmd: string[]) => [...prefix, podman, ...global, 'run', ...runtime, '--name', id,
      '--network', 'none', '--log-driver', 'k8s-file', '--cgroup-parent', `/${opts.cgroupParent}`, ...limits, ...extra, '--rootfs', rootfs, ...cmd];
    const argv = (id: string, _slot: number, cmd: string[]) => run(id, ['--rm'], cmd);
    try {
      try {
        await tryOnce(argv('probe-podman', 0, TRUE));
      } catch (err) {
        if (!hybridRefusal(err)) throw err;
        prefix = workaroundNs();
        try {
          await tryOnce(argv('probe-podman-ns', 0, TRUE));
        } catch {
          // Without the namespace, podman can still run with runc.
          prefix = [];
          runtime = ['--runtime', 'runc'];
          await tryOnce(argv('probe-podman-runc', 0, TRUE));
          notes.push('podman: runs with --runtime runc (crun refused the hybrid cgroup layout even in the workaround namespace)');
        }
      }
      engines.push({
        key: 'podman', version: firstLine([podman, '--version']), argv, anyCommand: true, attachPath: true, monitorName: 'conmon',
        sleeper: async (id) => {
          const pidFile = path.join(dir, `${id}.conmon.pid`);
          output(run(id, ['-d', '--conmon-pidfile', pidFile], ['/bin/sleep', '1000']));
          const monitorPid = await pidFromFile(pidFile);
          return { monitorPid, remove: async () => { output([...prefix, podman, ...global, 'rm', '-f', '-t', '0', id]); } };
        },
      });
      notes.push(`podman: no service; ${global.join(' ')}; run --network none --log-driver k8s-file ${limits.join(' ')} --rootfs (the extracted rootfs, no image)`);
    } catch (err) {
      skipped.push({ key: 'podman', reason: reason(err) });
    }
  }

  // Docker only where its engine answers; it gets the busybox tar as an image of its own, removed after.
  async function setupDocker(): Promise<void> {
    const docker = which('docker');
    if (!docker) { skipped.push({ key: 'docker', reason: 'docker is not installed' }); return; }
    try {
      output([docker, 'info'], { timeoutMs: 10_000 });
    } catch (err) {
      skipped.push({ key: 'docker', reason: `only the client is installed: docker info: ${reason(err)} (no Docker engine runs on this machine)` });
      return;
    }
    const image = `berth-bench-busybox:${process.pid}`;
    try {
      output([docker, 'import', '--change', 'CMD ["sh"]', opts.tar, image]);
      undo.push(() => { output([docker, 'rmi', '-f', image]); });
      const argv = (id: string, _slot: number, cmd: string[]) => [docker, 'run', '--rm', '--name', id, '--network', 'none', '--cgroup-parent', `/${opts.cgroupParent}`, image, ...cmd];
      await tryOnce(argv(`probe-docker-${process.pid}`, 0, TRUE));
      engines.push({
        key: 'docker', version: firstLine([docker, 'version', '--format', 'Docker {{.Server.Version}}']), argv, anyCommand: true, attachPath: true,
        bridgeArgv: (id, cmd) => [docker, 'run', '--rm', '--name', id, '-p', '80', '--cgroup-parent', `/${opts.cgroupParent}`, image, ...cmd],
      });
      notes.push('docker: measured with its own engine on this host (not tested when this bench was written: no engine ran here)');
    } catch (err) {
      skipped.push({ key: 'docker', reason: reason(err) });
    }
  }

}
