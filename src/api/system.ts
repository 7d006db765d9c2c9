// The System adapter: version and info about this daemon.
import os from 'node:os';
import type { ContainerService } from '../containers/service';
import type { ImageStore } from '../images/store';
import type { EventJournal } from '../events/journal';
import { parseFilters } from '../events/filter';
import type { Event, SystemServer } from '../gen/berth/v1/system';
import { serverStream, unary } from './handlers';
import { timeRange } from './times';

export const VERSION = '0.1.0';
export const API_VERSION = 'v1';

const NS_PER_MS = 1_000_000n;

export function createSystemService(root: string, containers: ContainerService, images: ImageStore, events: EventJournal, shutdown?: AbortSignal): SystemServer {
  return {
    // Replay from since (seq or time), then follow until until: no gap, no duplicate (the journal's promise).
    events: serverStream(async function* (req, signal): AsyncGenerator<Event> {
      const filter = parseFilters(req.filters, 'filters');
      const { since, until } = timeRange(req.since, req.until);
      const untilNs = until ? BigInt(until.getTime()) * NS_PER_MS : undefined;
      const stream = events.subscribe({
        sinceSeq: req.sinceSeq || undefined,
        sinceTimeNs: since ? BigInt(since.getTime()) * NS_PER_MS : undefined,
        untilTimeNs: untilNs,
        follow: untilNs === undefined || untilNs > BigInt(Date.now()) * NS_PER_MS,
        filter,
        signal,
      });
      for await (const e of stream) {
        yield { seq: e.seq, time: new Date(Number(e.timeNs / NS_PER_MS)), type: e.type, action: e.action, actor: { id: e.actorId, attributes: { ...e.attributes } } };
      }
    }, shutdown),

    version: unary(async () => ({
      version: VERSION, apiVersion: API_VERSION, nodeVersion: process.version, os: 'linux', arch: os.arch(), kernelVersion: os.release(),
    })),
    info: unary(async () => {
      const all = containers.list(true);
      const running = all.filter((c) => c.state.status === 'running' || c.state.status === 'paused').length;
      return {
        containers: all.length, containersRunning: running, containersStopped: all.length - running,
        images: images.list().length, rootDir: root, storageDriver: 'overlay', kernelVersion: os.release(),
        cpus: os.cpus().length, memoryBytes: os.totalmem(),
      };
    }),
  };
}
