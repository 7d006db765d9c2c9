// The daemon: takes the data root's lock, loads the stores, serves gRPC on unix sockets (and TCP with
// mutual TLS) with health and reflection, and shuts down without touching running containers.
import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type net from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { createContainersService } from './api/containers';
import { decodeSafely } from './api/handlers';
import { createImagesService } from './api/images';
import { createSystemService } from './api/system';
import { createVolumesService } from './api/volumes';
import { Cgroups } from './cgroups/manager';
import { loadContainers } from './containers/recovery';
import { ContainerService } from './containers/service';
import { EventJournal } from './events/journal';
import { MAX_MESSAGE_BYTES, parseEndpoint, type Endpoint, type TlsMaterial } from './endpoint';
import { EngineError, wrap } from './errors';
import { ContainersService } from './gen/berth/v1/containers';
import { ImagesService } from './gen/berth/v1/images';
import { SystemService } from './gen/berth/v1/system';
import { VolumesService } from './gen/berth/v1/volumes';
import { ImageStore } from './images/store';
import { sendsEncoded } from './io/output-message';
import { bindTcp, bindUnix } from './listen';
import type { Native } from './native';
import { useSpawner } from './network/host-commands';
import { NetworkManager } from './network/manager';
import { log } from './util/logger';
import { MemoryRelease } from './util/memory-release';
import { VolumeService } from './volumes/service';
import { VolumeStore } from './volumes/store';

export interface DaemonOptions {
  root: string;
  /** unix:///PATH or tcp://HOST:PORT, one or more; TCP only with tls. */
  listen: string[];
  /** With it, unix sockets are 0660 with this group; without, 0600 (root only). */
  socketGid?: number;
  /** Mutual TLS for tcp:// addresses: clients need a certificate signed by tls.ca. */
  tls?: TlsMaterial;
  native: Native;
  /** The cgroup (under each hierarchy) that holds this daemon's containers; one per data root. */
  cgroupParent?: string;
  /** The bridge containers are attached to, and its subnet (defaults berth0, 10.88.0.0/16). */
  bridgeName?: string;
  bridgeSubnet?: string;
}

const PROJECT_ROOT = [path.resolve(__dirname, '..'), path.resolve(__dirname, '..', '..')]
  .find((dir) => fs.existsSync(path.join(dir, 'proto', 'berth', 'v1')))!;
/** The --listen addresses, checked before anything starts: TCP is refused without mutual TLS. */
export function listenEndpoints(listen: string[], tls: TlsMaterial | undefined): Endpoint[] {
  if (listen.length === 0) throw new EngineError('InvalidArgument', '--listen: no address to serve');
  const endpoints = listen.map((a) => parseEndpoint(a, '--listen'));
  const tcp = listen.filter((_, i) => endpoints[i].kind === 'tcp');
  if (tcp.length > 0 && !tls) {
    throw new EngineError('InvalidArgument', `--listen ${tcp.join(', ')}: TCP is served only with mutual TLS: missing --tlscacert, --tlscert, --tlskey`);
  }
  return endpoints;
}

export class Daemon {
  private server: grpc.Server | undefined;
  /** The unix sockets' listeners (bindUnix); TCP's are grpc-js's own. */
  private listeners: net.Server[] = [];
  private lockFd: number | undefined;
  private containers: ContainerService | undefined;
  private events: EventJournal | undefined;
  private readonly health = new HealthImplementation({ '': 'NOT_SERVING' });
  /** Ends every open stream with UNAVAILABLE when the daemon stops; clients resume from where they were. */
  private readonly shutdown = new AbortController();

  constructor(private readonly opts: DaemonOptions) {
    // Every open stream listens on it (each run is an Attach): no count of them is a leak.
    setMaxListeners(0, this.shutdown.signal);
  }

  async start(): Promise<void> {
    const { root, native } = this.opts;
    const endpoints = listenEndpoints(this.opts.listen, this.opts.tls);
    await fsp.mkdir(root, { recursive: true, mode: 0o710 });
    await fsp.chmod(root, 0o710);
    try {
      this.lockFd = native.lockFile(path.join(root, 'berthd.lock'));
    } catch (err) {
      const holder = await fsp.readFile(path.join(root, 'berthd.pid'), 'utf8').catch(() => '?');
      throw new EngineError('FailedPrecondition', `data root ${root} is in use by another berthd (pid ${holder.trim()})`, { cause: err });
    }
    fs.writeFileSync(path.join(root, 'berthd.pid'), `${process.pid}\n`);
    // ip and iptables start through posix_spawn, not a fork of the daemon.
    useSpawner(native);

    const events = await EventJournal.open(path.join(root, 'events'));
    this.events = events;
    // One release of memory after bulk work of either kind: an image's ingest or a stream's output.
    const bulk = new MemoryRelease(() => native.releaseMemory());
    const images = new ImageStore(root, native, bulk);
    await images.load();
    const cgroups = new Cgroups(this.opts.cgroupParent ?? 'berth', undefined, native);
    const volumeStore = new VolumeStore(root);
    await volumeStore.load();
    const network = new NetworkManager(root, { bridge: this.opts.bridgeName ?? 'berth0', subnet: this.opts.bridgeSubnet ?? '10.88.0.0/16' });
    await network.init();
    const containers = new ContainerService(root, { images, native, cgroups, events, volumes: volumeStore, network });
    await loadContainers(containers);
    this.containers = containers;

    // Metadata has no grpc-js bound ('grpc.max_metadata_size' is not among its options); Node's HTTP/2
    // session resets a stream whose header block passes its own (between 100 and 200 KiB on Node 20)
    // before any handler runs. Without channelz: berthd serves no channelz service, and its call counters and
    // per-connection records are work on every call.
    const server = new grpc.Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, 'grpc.max_send_message_length': MAX_MESSAGE_BYTES, 'grpc.enable_channelz': 0,
    });
    server.addService(decodeSafely(sendsEncoded(ContainersService)), createContainersService(containers, this.shutdown.signal, bulk));
    server.addService(decodeSafely(ImagesService), createImagesService(images, containers, events));
    server.addService(decodeSafely(SystemService), createSystemService(root, containers, images, events, this.shutdown.signal));
    server.addService(decodeSafely(VolumesService), createVolumesService(new VolumeService(volumeStore, (name) => containers.volumeUsers(name), events)));
    this.health.addToServer(server);
    new ReflectionService(loadDescriptors()).addToServer(server);

    // TCP first: a unix socket appearing (what scripts and tests wait for) means every listener is up.
    const ordered = [...endpoints.filter((e) => e.kind === 'tcp'), ...endpoints.filter((e) => e.kind === 'unix')];
    const placed: string[] = [];
    for (const e of ordered) {
      try {
        if (e.kind === 'tcp') await bindTcp(server, e, this.opts.tls!);
        else {
          this.listeners.push(await bindUnix(server, e.path, this.opts.socketGid, (fd, bytes) => native.widenSendBuffer(fd, bytes)));
          placed.push(e.path);
        }
      } catch (err) {
        this.closeListeners();
        server.forceShutdown();
        for (const p of placed) await fsp.rm(p, { force: true });
        throw wrap(err, `listen ${e.kind === 'tcp' ? `tcp://${e.host}:${e.port}` : `unix://${e.path}`}`);
      }
    }
    this.server = server;
    this.health.setStatus('', 'SERVING');
    log.info('berthd serving', { root, listen: this.opts.listen, pid: process.pid });
  }

  /** No new connections on the unix sockets; the open ones end with the server's shutdown. */
  private closeListeners(): void {
    for (const l of this.listeners.splice(0)) l.close();
  }

  /** Stops serving and lets go of the monitors; running containers are left running. */
  async stop(): Promise<void> {
    this.health.setStatus('', 'NOT_SERVING');
    this.shutdown.abort();
    const server = this.server;
    this.server = undefined;
    this.closeListeners();
    if (server) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { server.forceShutdown(); resolve(); }, 2000);
        server.tryShutdown(() => { clearTimeout(timer); resolve(); });
      });
    }
    this.containers?.detach();
    await this.containers?.standby.drop(true);
    await this.events?.close();
    for (const e of listenEndpoints(this.opts.listen, this.opts.tls)) if (e.kind === 'unix') await fsp.rm(e.path, { force: true });
    await fsp.rm(path.join(this.opts.root, 'berthd.pid'), { force: true });
    if (this.lockFd !== undefined) fs.closeSync(this.lockFd);
    this.lockFd = undefined;
  }
}

/** Our protos plus the health service's, so grpcurl can describe every service with no files at hand. */
function loadDescriptors(): protoLoader.PackageDefinition {
  const healthProto = path.join(path.dirname(require.resolve('grpc-health-check/package.json')), 'proto', 'health', 'v1', 'health.proto');
  return protoLoader.loadSync(
    ['berth/v1/containers.proto', 'berth/v1/images.proto', 'berth/v1/system.proto', 'berth/v1/volumes.proto', healthProto],
    { includeDirs: [path.join(PROJECT_ROOT, 'proto')], keepCase: true },
  );
}
