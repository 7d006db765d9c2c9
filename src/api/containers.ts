// The Containers adapter: check the request's shape, call the domain, convert back.
import type { ContainerService } from '../containers/service';
import { EngineError } from '../errors';
import { LogStream, type ContainerLogsResponse, type ContainersServer } from '../gen/berth/v1/containers';
import { parseSignal } from '../containers/signals';
import { configFromProto, containerToProto, hostConfigFromProto } from './convert';
import { serverStream, unary } from './handlers';

export function createContainersService(containers: ContainerService): ContainersServer {
  return {
    create: unary(async (req) => {
      const record = await containers.create({
        config: configFromProto(req.config),
        hostConfig: hostConfigFromProto(req.hostConfig),
        name: req.name,
      });
      return { id: record.id, warnings: [] };
    }),

    start: unary(async (req) => {
      await containers.start(req.containerId);
      return {};
    }),

    wait: unary(async (req, signal) => containers.wait(req.containerId, signal)),

    kill: unary(async (req) => {
      await containers.kill(req.containerId, parseSignal(req.signal));
      return {};
    }),

    remove: unary(async (req) => {
      await containers.remove(req.containerId, req.force);
      return {};
    }),

    list: unary(async (req) => ({
      containers: containers.list(req.all).map((c) => containerToProto(c, containers.files(c.id))),
    })),

    inspect: unary(async (req) => {
      const c = containers.find(req.containerId);
      return { container: containerToProto(c, containers.files(c.id)) };
    }),

    logs: serverStream(async function* (req, signal): AsyncGenerator<ContainerLogsResponse> {
      if (req.follow) throw new EngineError('Unimplemented', 'follow: not supported yet (interactive containers)');
      // Neither stream named means both, as `docker logs` shows both.
      const both = !req.stdout && !req.stderr;
      const entries = containers.logs(req.containerId, { stdout: both || req.stdout, stderr: both || req.stderr }, signal);
      for await (const e of entries) {
        yield {
          stream: e.stream === 'stdout' ? LogStream.LOG_STREAM_STDOUT : LogStream.LOG_STREAM_STDERR,
          data: e.data,
          time: req.timestamps ? e.time : undefined,
        };
      }
    }),
  };
}
