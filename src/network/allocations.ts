// What the network hands out, persisted atomically in <root>/network/allocations.json: each
// container's IP and published host ports. Nothing is handed out twice while it is held.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { EngineError } from '../errors';
import { writeFileAtomic } from '../util/atomic-file';
import type { PortMapping, Proto } from './ports';
import { hostRange, ipToNumber, numberToIp, type Subnet } from './subnet';

export interface Allocation {
  ip: string;
  ports: PortMapping[];
}

export interface AllocationFile {
  /** By container id. */
  containers: Record<string, Allocation>;
  /** Where the next search for a free IP starts: a released IP is not reused at once. */
  nextIp?: string;
}

/** The first free IP from `from` on (wrapping round); throws ResourceExhausted when the subnet is full. */
export function pickIp(subnet: Subnet, taken: Set<string>, from?: string): string {
  const { first, last } = hostRange(subnet);
  const size = last - first + 1;
  const start = from ? Math.min(Math.max(ipToNumber(from), first), last) : first;
  for (let i = 0; i < size; i++) {
    const n = first + ((start - first + i) % size);
    const ip = numberToIp(n);
    if (!taken.has(ip)) return ip;
  }
  throw new EngineError('ResourceExhausted', `allocate an IP: every address of the bridge's subnet is in use`);
}

/** Two bindings of one proto and port collide when either listens on every address or both on the same one. */
export function portsCollide(a: { proto: Proto; hostIp: string; hostPort: number }, b: { proto: Proto; hostIp: string; hostPort: number }): boolean {
  return a.proto === b.proto && a.hostPort === b.hostPort && (!a.hostIp || !b.hostIp || a.hostIp === b.hostIp);
}

export class AllocationStore {
  private data: AllocationFile = { containers: {} };
  private writes: Promise<void> = Promise.resolve();
  private readonly file: string;

  constructor(root: string) {
    this.file = path.join(root, 'network', 'allocations.json');
  }

  async load(): Promise<void> {
    await fsp.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const text = await fsp.readFile(this.file, 'utf8').catch(() => '');
    this.data = text ? (JSON.parse(text) as AllocationFile) : { containers: {} };
  }

  get(id: string): Allocation | undefined {
    return this.data.containers[id];
  }

  ids(): string[] {
    return Object.keys(this.data.containers);
  }

  takenIps(): Set<string> {
    return new Set(Object.values(this.data.containers).map((a) => a.ip).filter(Boolean));
  }

  /** The published ports of every container but `except`. */
  heldPorts(except?: string): PortMapping[] {
    return Object.entries(this.data.containers).filter(([id]) => id !== except).flatMap(([, a]) => a.ports);
  }

  nextIp(): string | undefined {
    return this.data.nextIp;
  }

  async set(id: string, alloc: Allocation, nextIp?: string): Promise<void> {
    await this.update((d) => ({ containers: { ...d.containers, [id]: alloc }, nextIp: nextIp ?? d.nextIp }));
  }

  async delete(id: string): Promise<void> {
    await this.update((d) => {
      if (!d.containers[id]) return undefined;
      const containers = { ...d.containers };
      delete containers[id];
      return { ...d, containers };
    });
  }

  /**
   * Changes are applied one at a time, each to the table as the one before left it: a release on a
   * container's exit and an allocation for a start may overlap, and neither may undo the other.
   */
  private update(change: (d: AllocationFile) => AllocationFile | undefined): Promise<void> {
    const run = this.writes.then(async () => {
      const next = change(this.data);
      if (next) await this.save(next);
    });
    this.writes = run.catch(() => undefined);
    return run;
  }

  /**
   * Written before it is believed: a failed write leaves memory and disk as they were. Atomic, not
   * fsynced: what it records (rules, veths, running containers) is gone after a power loss anyway,
   * and a daemon that merely crashed reads it back from the page cache.
   */
  private async save(next: AllocationFile): Promise<void> {
    await writeFileAtomic(this.file, JSON.stringify(next, null, 2), 0o600, { durable: false });
    this.data = next;
  }
}
