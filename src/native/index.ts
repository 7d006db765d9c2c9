// The Native interface: everything the domain asks of the C++ addon.
// Domain code takes a Native through its constructor; only addon.ts loads the binary.

export interface MountOptions {
  source: string;
  target: string;
  fstype: string;
  /** mount(8) words: ro, nosuid, nodev, noexec, bind, rec, private, rprivate, remount, ... */
  flags: string[];
  data: string;
}

/** How openAt resolves its path (native/README.md, "openAt"). */
export interface OpenAtOptions {
  /** in-root: dirFd is "/" (RESOLVE_IN_ROOT); beneath: no symlink at all and nothing above dirFd. */
  resolve: 'in-root' | 'beneath';
  /** O_DIRECTORY: fail with ENOTDIR on anything else. */
  directory?: boolean;
  /** Follow a symlink in the last component (still inside the root); default: O_NOFOLLOW. */
  followLast?: boolean;
  /** O_RDONLY|O_NONBLOCK instead of O_PATH. */
  read?: boolean;
}

export interface DeviceSpec {
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  mode: number;
}

/** One call's worth of a log catch-up (native/README.md, "scanLogRuns"). */
export interface LogScanRequest {
  /** json-file lines, each ending in "\n" except perhaps the last. */
  chunk: Uint8Array;
  /** Where in chunk to begin: the first byte of a line. */
  from: number;
  /** Where the bytes of the entries taken go, from outAt on; never the same memory as chunk. */
  out: Uint8Array;
  outAt: number;
  /** The seq counted last: the next one is expected to be lastSeq + 1. */
  lastSeq: number;
  /** Entries with a seq at or below this are skipped (and not counted). */
  afterSeq: number;
  /** The first entry with a seq at or above this stops the scan. */
  beforeSeq?: number;
  stdout: boolean;
  stderr: boolean;
  /** A run holds consecutive entries of one stream up to this many bytes (an entry alone may hold more). */
  maxRunBytes: number;
}

/** A run's bytes are out[start, end). */
export interface LogScanRun {
  stream: 'stdout' | 'stderr';
  start: number;
  end: number;
}

/** Why a scan returned; it goes on from `next` in each case but 'before'. */
export type LogScanStop =
  /** The chunk is done. */
  | { stop: 'end' }
  /** The line at next has a seq >= beforeSeq: there is nothing more to take. */
  | { stop: 'before' }
  /** out has no room for the line at next: go on with a new out of at least needBytes. */
  | { stop: 'full'; needBytes: number }
  /** The line before next had seq `found` where `expected` was due; it is taken and counted. */
  | { stop: 'gap'; expected: number; found: number }
  /** chunk[lineStart, lineEnd) is not in our monitor's shape (or is malformed): JSON.parse's to read. */
  | { stop: 'fallback'; lineStart: number; lineEnd: number };

export type LogScan = LogScanStop & {
  next: number;
  /** Where the bytes written end. */
  outAt: number;
  lastSeq: number;
  /** In order; two runs may be of one stream (a run ends at every return). */
  runs: LogScanRun[];
};

/**
 * One call of fileOps: mkdir(path, mode ?? 0o755), rmdir(path), one write(2) of data to the existing file path;
 * create: a new file path (O_EXCL, not through a symlink) holding data, with exactly mode, fsynced when sync,
 * removed again if a step fails; rename(path, to); removeTree: path and everything below it, children first,
 * symlinks not followed, nothing on another mount; unmount: umount2(path, MNT_DETACH); mount: mount(2) of
 * source (fstype, options data) on path, without flags.
 */
export type FileOp =
  | { op: 'mkdir'; path: string; mode?: number }
  | { op: 'rmdir' | 'removeTree' | 'unmount'; path: string }
  | { op: 'write'; path: string; data: string }
  | { op: 'create'; path: string; data: string; mode: number; sync?: boolean }
  | { op: 'rename'; path: string; to: string }
  | { op: 'mount'; path: string; source: string; fstype: string; data: string };

export interface Native {
  mount(opts: MountOptions): void;
  unmount(target: string, opts?: { detach?: boolean }): void;
  mknod(path: string, spec: DeviceSpec): void;
  /**
   * syncfs(2) of the filesystem holding path, on a thread of libuv's pool: everything written to it so far
   * (through any file) is on disk when the promise resolves.
   */
  syncFilesystem(path: string): Promise<void>;
  /**
   * The calls, in order, on one thread of libuv's pool; one result each (null, or its error shaped as Node's),
   * every call made whatever failed before it. For cgroupfs, where each call takes one global lock.
   */
  fileOps(ops: FileOp[]): Promise<(NodeJS.ErrnoException | null)[]>;
  /** lsetxattr(2): e.g. trusted.overlay.opaque=y on a layer's opaque directory. Never follows a symlink. */
  setXattr(path: string, name: string, value: string): void;
  /** openat2(2) of path below dirFd, never leaving it; an O_CLOEXEC fd the caller closes. */
  openAt(dirFd: number, path: string, opts: OpenAtOptions): number;
  /** mknodat(2) of one name below dirFd with exactly `mode`, never following a symlink. */
  mknodAt(dirFd: number, name: string, spec: DeviceSpec): void;
  /** lgetxattr(2): the value, or undefined when the file has no such attribute. */
  getXattr(path: string, name: string): Buffer | undefined;
  /** Opens path and takes an exclusive flock on it; throws EWOULDBLOCK when another process holds it. */
  lockFile(path: string): number;
  /**
   * What to execute to start a monitor: a sealed memfd copy of berth-monitor, as /proc/<pid>/fd/<fd>,
   * so that no process in a container can reach a writable host binary through /proc/<pid>/exe.
   */
  monitorExecutable(): string;
  /**
   * The per-line work of a log catch-up: finds our monitor's json-file lines in chunk, filters them by
   * seq and stream, and decodes the bytes of those taken into out, joined into runs. Returns at the
   * end of the chunk and at anything the caller must handle (a gap, a line to JSON.parse, beforeSeq, a full out).
   */
  scanLogRuns(req: LogScanRequest): LogScan;
  /**
   * cgroup v2's device controller: loads program (struct bpf_insn[], from src/cgroups/device-filter.ts) as a
   * BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to the cgroup directory (BPF_F_ALLOW_MULTI),
   * replacing any device program attached to that cgroup before. It stays until the cgroup is removed.
   */
  attachDeviceFilter(cgroupDir: string, program: Buffer): void;
  /**
   * posix_spawn(3) of path in a session of its own: stdin and stdout /dev/null, stderr berthd's, fd 3 one
   * end of a new unix socketpair; returns the child's pid and the other end (CLOEXEC). The caller reaps
   * the child (reapChild). Node's spawn forks the whole daemon instead, which costs a start ~10 ms.
   */
  spawnWithSocket(path: string, argv: string[]): { pid: number; fd: number };
  /**
   * Sends line (and a newline) on the socket fd together with one end of a new unix socketpair
   * (SCM_RIGHTS), and returns the other end (CLOEXEC): how berthd asks its monitor zygote for a monitor.
   * Throws EPIPE when nobody reads fd any more.
   */
  sendWithSocket(fd: number, line: string): number;
  /**
   * posix_spawnp(3) of file (looked up in PATH) with stdin /dev/null and stdout and stderr pipes, whose
   * read ends (CLOEXEC) it returns; the caller reads them and reaps the child (reapChild).
   */
  spawnPiped(file: string, argv: string[]): { pid: number; stdout: number; stderr: number };
  /**
   * waitpid(pid, WNOHANG): null while the child runs; once reaped, its exit code (128+N when killed by
   * signal N) and signal. A pid that is none of ours (or was reaped) gives exit code -1.
   */
  reapChild(pid: number): { exitCode: number; signal: number } | null;
  /**
   * Gives back what the heaps hold without using: V8 collects all it can (memory-reducing full collections,
   * a pause of the event loop of about 10-25 ms), then glibc's malloc_trim(0) returns the free pages of every
   * arena. For after bulk work (util/memory-release.ts), never on a request's path.
   */
  releaseMemory(): void;
  /**
   * Marks a directory as the top of a hierarchy (FS_TOPDIR_FL, chattr +T): ext4's Orlov allocator then puts
   * each new subdirectory in a block group of its own choosing. False where the filesystem has no such flag.
   */
  spreadSubdirectories(path: string): boolean;
  /**
   * Lets a connected socket hold `bytes` unsent (SO_SNDBUFFORCE, else SO_SNDBUF up to net.core.wmem_max);
   * returns what the kernel now allows (twice the request, for its own bookkeeping).
   */
  widenSendBuffer(fd: number, bytes: number): number;
}
