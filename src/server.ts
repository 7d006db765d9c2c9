// The daemon: takes the data root's lock, loads the stores, serves gRPC on a unix socket with
// health and reflection, and shuts down without touching running containers.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { createContainersService } from './api/containers';
import { createImagesService } from './api/images';
import { createSystemService } from './api/system';
import { createVolumesService } from './api/volumes';
import { Cgroups } from './cgroups/manager';
import { loadContainers } from './containers/recovery';
import { ContainerService } from './containers/service';
import { EventJournal } from './events/journal';
import { EngineError } from './errors';
import { ContainersService } from './gen/berth/v1/containers';
import { ImagesService } from './gen/berth/v1/images';
import { SystemService } from './gen/berth/v1/system';
import { VolumesService } from './gen/berth/v1/volumes';
import { ImageStore } from './images/store';
import type { Native } from './native';
import { NetworkManager } from './network/manager';
import { log } from './util/logger';
import { VolumeService } from './volumes/service';
import { VolumeStore } from './volumes/store';

export interface DaemonOptions {
  root: string;
  /** unix:///path/to/socket */
  listen: string;
  native: Native;
  /** The cgroup (under each hierarchy) that holds this daemon's containers; one per data root. */
  cgroupParent?: string;
  /** The bridge containers are attached to, and its subnet (defaults berth0, 10.88.0.0/16). */
  bridgeName?: string;
  bridgeSubnet?: string;
}

const PROJECT_ROOT = [path.resolve(__dirname, '..'), path.resolve(__dirname, '..', '..')]
  .find((dir) => fs.existsSync(path.join(dir, 'proto', 'berth', 'v1')))!;
/** Largest message we accept: import chunks and log entries stay far below it. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export function socketPath(listen: string): string {
  if (!listen.startsWith('unix://')) {
    throw new EngineError('InvalidArgument', `listen ${JSON.stringify(listen)}: only unix:// addresses are served (TCP needs mutual TLS, not built yet)`);
  }
  const p = listen.slice('unix://'.length);
  if (!path.isAbsolute(p)) throw new EngineError('InvalidArgument', `listen ${JSON.stringify(listen)}: the socket path must be absolute`);
  return p;
}

export class Daemon {
  private server: grpc.Server | undefined;
  private lockFd: number | undefined;
  private containers: ContainerService | undefined;
  private events: EventJournal | undefined;
  private readonly health = new HealthImplementation({ '': 'NOT_SERVING' });
  /** Ends every open stream with UNAVAILABLE when the daemon stops; clients resume from where they were. */
  private readonly shutdown = new AbortController();

  constructor(private readonly opts: DaemonOptions) {}

  async start(): Promise<void> {
    const { root, native } = this.opts;
    const sock = socketPath(this.opts.listen);
    await fsp.mkdir(root, { recursive: true, mode: 0o710 });
    await fsp.chmod(root, 0o710);
    try {
      this.lockFd = native.lockFile(path.join(root, 'berthd.lock'));
    } catch (err) {
      const holder = await fsp.readFile(path.join(root, 'berthd.pid'), 'utf8').catch(() => '?');
      throw new EngineError('FailedPrecondition', `data root ${root} is in use by another berthd (pid ${holder.trim()})`, { cause: err });
    }
    fs.writeFileSync(path.join(root, 'berthd.pid'), `${process.pid}\n`);

    const events = await EventJournal.open(path.join(root, 'events'));
    this.events = events;
    const images = new ImageStore(root, native);
    await images.load();
    const cgroups = new Cgroups(this.opts.cgroupParent ?? 'berth');
    const volumeStore = new VolumeStore(root);
    await volumeStore.load();
    const network = new NetworkManager(root, { bridge: this.opts.bridgeName ?? 'berth0', subnet: this.opts.bridgeSubnet ?? '10.88.0.0/16' });
    await network.init();
    const containers = new ContainerService(root, { images, native, cgroups, events, volumes: volumeStore, network });
    await loadContainers(containers);
    this.containers = containers;

    const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, 'grpc.max_send_message_length': MAX_MESSAGE_BYTES });
    server.addService(ContainersService, createContainersService(containers, this.shutdown.signal));
    server.addService(ImagesService, createImagesService(images, containers, events));
    server.addService(SystemService, createSystemService(root, containers, images, events, this.shutdown.signal));
    server.addService(VolumesService, createVolumesService(new VolumeService(volumeStore, (name) => containers.volumeUsers(name), events)));
    this.health.addToServer(server);
    new ReflectionService(loadDescriptors()).addToServer(server);

    await fsp.mkdir(path.dirname(sock), { recursive: true, mode: 0o755 });
    // We hold the root's lock, so a socket left at our path is a dead daemon's.
    await fsp.rm(sock, { force: true });
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${sock}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    } finally {
      process.umask(oldMask);
    }
    await fsp.chmod(sock, 0o660);
    this.server = server;
    this.health.setStatus('', 'SERVING');
    log.info('berthd serving', { root, listen: this.opts.listen, pid: process.pid });
  }

  /** Stops serving and lets go of the monitors; running containers are left running. */
  async stop(): Promise<void> {
    this.health.setStatus('', 'NOT_SERVING');
    this.shutdown.abort();
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { server.forceShutdown(); resolve(); }, 2000);
        server.tryShutdown(() => { clearTimeout(timer); resolve(); });
      });
    }
    this.containers?.detach();
    await this.events?.close();
    await fsp.rm(socketPath(this.opts.listen), { force: true });
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
