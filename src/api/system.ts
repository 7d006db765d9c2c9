// The System adapter: version and info about this daemon.
import os from 'node:os';
import type { ContainerService } from '../containers/service';
import type { ImageStore } from '../images/store';
import type { SystemServer } from '../gen/berth/v1/system';
import { unary } from './handlers';

export const VERSION = '0.1.0';
export const API_VERSION = 'v1';

export function createSystemService(root: string, containers: ContainerService, images: ImageStore): SystemServer {
  return {
    version: unary(async () => ({
      version: VERSION, apiVersion: API_VERSION, nodeVersion: process.version, os: 'linux', arch: os.arch(), kernelVersion: os.release(),
    })),
    info: unary(async () => {
      const all = containers.list(true);
      const running = all.filter((c) => c.state.status === 'running').length;
      return {
        containers: all.length, containersRunning: running, containersStopped: all.length - running,
        images: images.list().length, rootDir: root, storageDriver: 'overlay', kernelVersion: os.release(),
        cpus: os.cpus().length, memoryBytes: os.totalmem(),
      };
    }),
  };
}
