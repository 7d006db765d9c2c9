// The bridge network of one daemon: allocates a container's IP and host ports, wires its veth into
// init's net namespace while init waits (DESIGN.md, start step 3), and releases all of it on exit.
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import { EngineError, wrap } from '../errors';
import { log } from '../util/logger';
import { AllocationStore, pickIp, portsCollide, type Allocation } from './allocations';
import { chainsOf, deleteTagged, ensureBridge } from './bridge';
import { ip, iptables, tryRun } from './host-commands';
import { comparePortKeys, parseRange, type PortBinding, type PortMapping, type Proto } from './ports';
import { gatewayOf, ipToNumber, parseSubnet, subnetText, type Subnet } from './subnet';
import type { InterfaceSpec } from '../runtime/spec';

export interface NetworkOptions {
  bridge: string;
  subnet: string;
}

export interface PortRequest {
  /** "80/tcp" keys: the image's and the container's. */
  exposed: string[];
  bindings: Record<string, PortBinding[]>;
  publishAll: boolean;
}

export interface NetworkSettings {
  ipAddress: string;
  ipPrefixLen: number;
  gateway: string;
  bridge: string;
  macAddress: string;
  ports: Record<string, { hostIp: string; hostPort: string }[]>;
}

/** Docker's ephemeral range for ports Berth picks. */
const PICK_FIRST = 49153;
const PICK_LAST = 65535;

export class NetworkManager {
  readonly bridge: string;
  readonly subnet: Subnet;
  private mtu = 1500;
  private readonly store: AllocationStore;
  /** One allocation at a time: the free-port checks and the file must agree. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Releases under way, by container: what each holds stays held until it is done. */
  private readonly releasing = new Map<string, Promise<void>>();
  /** Rules being added, by container: a release waits for them, so none is added after it. */
  private readonly publishing = new Map<string, Promise<void>>();

  constructor(root: string, opts: NetworkOptions) {
    if (!/^[A-Za-z0-9_-]{1,15}$/.test(opts.bridge)) throw new EngineError('InvalidArgument', `bridge-name ${JSON.stringify(opts.bridge)}: 1-15 letters, digits, - or _`);
    this.bridge = opts.bridge;
    this.subnet = parseSubnet(opts.subnet);
    this.store = new AllocationStore(root);
  }

  async init(): Promise<void> {
    await this.store.load();
    try {
      this.mtu = await ensureBridge(this.bridge, this.subnet);
    } catch (err) {
      throw wrap(err, `set up bridge ${this.bridge} (${subnetText(this.subnet)})`);
    }
  }

  get gateway(): string {
    return gatewayOf(this.subnet);
  }

  allocation(id: string): Allocation | undefined {
    return this.store.get(id);
  }

  settings(id: string, exposed: string[]): NetworkSettings | undefined {
    const a = this.store.get(id);
    if (!a) return undefined;
    const ports: NetworkSettings['ports'] = {};
    for (const key of exposed) ports[key] = [];
    for (const p of a.ports) (ports[`${p.containerPort}/${p.proto}`] ??= []).push({ hostIp: p.hostIp || '0.0.0.0', hostPort: String(p.hostPort) });
    const sorted = Object.fromEntries(Object.entries(ports).sort(([x], [y]) => comparePortKeys(x, y)));
    return { ipAddress: a.ip, ipPrefixLen: this.subnet.prefixLen, gateway: this.gateway, bridge: this.bridge, macAddress: macOf(a.ip), ports: sorted };
  }

  /** An IP and the host ports for a container; a taken port is AlreadyExists and nothing is held. */
  allocate(id: string, req: PortRequest): Promise<Allocation> {
    const run = this.queue.then(async () => {
      await this.release(id);
      // A veth of this container's left by a crash would be in the monitor's way.
      if (fs.existsSync(`/sys/class/net/${hostVeth(id)}`)) await tryRun('ip', ['link', 'del', 'dev', hostVeth(id)]);
      // A host port asked for by number may be one a container that just exited still holds: its
      // release (one nf_tables commit per rule, each an RCU grace period) finishes first.
      const fixed = Object.values(req.bindings).some((list) => list.some((b) => b.hostPort && !b.hostPort.includes('-')));
      if (fixed) await Promise.all([...this.releasing.values()].map((r) => r.catch(() => undefined)));
      const ipAddr = pickIp(this.subnet, this.store.takenIps(), this.store.nextIp());
      const held = this.store.heldPorts(id);
      const ports: PortMapping[] = [];
      const wanted = new Map<string, PortBinding[]>(Object.entries(req.bindings));
      if (req.publishAll) for (const key of req.exposed) if (!wanted.has(key)) wanted.set(key, [{ hostIp: '', hostPort: '' }]);
      for (const [key, list] of [...wanted].sort(([a], [b]) => comparePortKeys(a, b))) {
        const [portText, proto] = key.split('/') as [string, Proto];
        for (const b of list) {
          const hostPort = await this.choosePort(proto, b, [...held, ...ports], key);
          ports.push({ proto, containerPort: Number(portText), hostIp: b.hostIp, hostPort });
        }
      }
      const alloc = { ip: ipAddr, ports };
      await this.store.set(id, alloc, nextAfter(ipAddr));
      return alloc;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async choosePort(proto: Proto, b: PortBinding, held: PortMapping[], key: string): Promise<number> {
    const free = async (port: number) => !held.some((h) => portsCollide(h, { proto, hostIp: b.hostIp, hostPort: port })) && (await canBind(proto, b.hostIp, port));
    if (b.hostPort && !b.hostPort.includes('-')) {
      const port = Number(b.hostPort);
      if (!(await free(port))) {
        throw new EngineError('AlreadyExists', `publish ${b.hostIp || '0.0.0.0'}:${port}/${proto} for ${key}: the host port is already in use`);
      }
      return port;
    }
    const [first, last] = b.hostPort ? parseRange(b.hostPort, 'host_port') : [PICK_FIRST, PICK_LAST];
    const span = last - first + 1;
    const offset = b.hostPort ? 0 : Math.floor(Math.random() * span);
    for (let i = 0; i < span; i++) {
      const port = first + ((offset + i) % span);
      if (await free(port)) return port;
    }
    throw new EngineError('AlreadyExists', `publish ${key}: no free host port in ${first}-${last}`);
  }

  /** The veth the monitor makes for the container (spec.json "interface"); eth0 gets the allocation's IP. */
  interfaceOf(id: string, a: Allocation): InterfaceSpec {
    return {
      hostName: hostVeth(id), bridge: this.bridge, mtu: this.mtu, mac: macOf(a.ip),
      address: a.ip, prefixLen: this.subnet.prefixLen, gateway: this.gateway,
    };
  }

  /** The published ports' rules (right after allocate: they name only the address). */
  publish(id: string): Promise<void> {
    const a = this.store.get(id);
    if (!a) return Promise.reject(new EngineError('Internal', `publish the ports of container ${id}: no allocation`));
    const run = (async () => {
      try {
        for (const p of a.ports) await iptables('-t', 'nat', '-A', ...this.dnatRule(id, a, p));
      } catch (err) {
        throw wrap(err, `publish the ports of container ${id}`);
      }
    })();
    const settled = run.catch(() => undefined).finally(() => {
      if (this.publishing.get(id) === settled) this.publishing.delete(id);
    });
    this.publishing.set(id, settled);
    return run;
  }

  /** A published port's DNAT rule, as appended (-A) and deleted (-D): chain, match, comment, target. */
  private dnatRule(id: string, a: Allocation, p: PortMapping): string[] {
    return [chainsOf(this.bridge).dnat, '-p', p.proto, ...(p.hostIp ? ['-d', `${p.hostIp}/32`] : []), '--dport', String(p.hostPort),
      '-m', 'comment', '--comment', tag(id), '-j', 'DNAT', '--to-destination', `${a.ip}:${p.containerPort}`];
  }

  /**
   * Everything of a container: rules, veth and allocation (what is gone already is skipped). A second
   * call while one is under way gets that one. Callers on the exit path need not wait for it: the
   * allocation, deleted last, keeps its IP and ports from anyone else until the rules are gone.
   */
  release(id: string): Promise<void> {
    const pending = this.releasing.get(id);
    if (pending) return pending;
    // The allocation is stored before any rule or veth is made and deleted after they are gone, so
    // without one there is nothing to undo (repair() sweeps what a crash left), and nothing is run.
    const a = this.store.get(id);
    if (!a) return Promise.resolve();
    const run = (async () => {
      await this.publishing.get(id);
      // Each rule by its exact spec (one iptables run each, no listing); one that is gone already fails quietly.
      for (const p of a.ports) await tryRun('iptables', ['-w', '-t', 'nat', '-D', ...this.dnatRule(id, a, p)]);
      // The kernel deletes the pair with the container's namespace, in the background; a veth found here
      // outlived a failed start, or is being torn down with its namespace right now.
      if (fs.existsSync(`/sys/class/net/${hostVeth(id)}`)) await tryRun('ip', ['link', 'del', 'dev', hostVeth(id)]);
      await this.store.delete(id);
    })().finally(() => this.releasing.delete(id));
    this.releasing.set(id, run);
    return run;
  }

  /** At daemon start: release what containers that no longer run hold, and rules and veths nobody holds. */
  async repair(running: Set<string>): Promise<void> {
    for (const id of this.store.ids()) {
      if (!running.has(id)) {
        log.warn('releasing the network of a container that is not running', { id });
        await this.release(id);
      }
    }
    const held = new Set(this.store.ids().map(tag));
    await deleteTagged('nat', chainsOf(this.bridge).dnat, (t) => t.startsWith('berth:') && !held.has(t));
    const veths = new Set(this.store.ids().map(hostVeth));
    const links = await ip('-o', 'link', 'show', 'master', this.bridge).catch(() => '');
    for (const m of links.matchAll(/^\d+:\s+([^@:\s]+)/gm)) {
      if (m[1].startsWith('vb') && !veths.has(m[1])) await tryRun('ip', ['link', 'del', 'dev', m[1]]);
    }
  }
}

function tag(id: string): string {
  return `berth:${id.slice(0, 24)}`;
}

/** The host end of a container's veth (15 characters at most). */
export function hostVeth(id: string): string {
  return `vb${id.slice(0, 12)}`;
}

/** Docker's scheme: 02:42 and the four bytes of the IP, so a MAC never repeats while its IP is held. */
export function macOf(ipAddr: string): string {
  return ['02', '42', ...ipAddr.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':');
}

function nextAfter(ipAddr: string): string {
  const n = ipToNumber(ipAddr) + 1;
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Whether the host port is free: listen on it for a moment (nothing else may hold it either). */
function canBind(proto: Proto, hostIp: string, port: number): Promise<boolean> {
  const host = hostIp || '0.0.0.0';
  return new Promise((resolve) => {
    if (proto === 'udp') {
      const sock = dgram.createSocket('udp4');
      sock.once('error', () => { sock.close(); resolve(false); });
      sock.bind(port, host, () => sock.close(() => resolve(true)));
      return;
    }
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
