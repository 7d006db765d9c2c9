// proto <-> domain. A proto field whose behaviour is not built yet is refused with UNIMPLEMENTED, never ignored.
import { EngineError } from '../errors';
import type { ContainerConfig, ContainerRecord, HostConfig } from '../containers/model';
import type { ContainerFiles } from '../containers/service';
import { parseLogConfig } from '../containers/validate';
import type { ImageRecord } from '../images/model';
import { imageDefaults } from '../images/model';
import type {
  Config as ProtoConfig, Container as ProtoContainer, HostConfig as ProtoHostConfig,
} from '../gen/berth/v1/containers';
import type { Image as ProtoImage, ImageConfig as ProtoImageConfig } from '../gen/berth/v1/images';

function isSet(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value && typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}

function refuseUnbuilt(fields: Record<string, unknown>, issue: string): void {
  for (const [name, value] of Object.entries(fields)) {
    if (isSet(value)) throw new EngineError('Unimplemented', `${name}: not supported yet (${issue})`);
  }
}

export function configFromProto(c: ProtoConfig | undefined): ContainerConfig {
  if (!c) throw new EngineError('InvalidArgument', 'config: required');
  refuseUnbuilt({ 'config.memory': c.memory, 'config.memory_swap': c.memorySwap, 'config.cpu_shares': c.cpuShares }, 'resource limits');
  refuseUnbuilt({ 'config.port_specs': c.portSpecs, 'config.exposed_ports': c.exposedPorts, 'config.dns': c.dns }, 'networking');
  refuseUnbuilt({ 'config.volumes': c.volumes, 'config.volumes_from': c.volumesFrom }, 'volumes');
  return {
    hostname: c.hostname, domainname: c.domainname, user: c.user, env: c.env, cmd: c.cmd, entrypoint: c.entrypoint,
    image: c.image, workingDir: c.workingDir, networkDisabled: c.networkDisabled,
    attachStdin: c.attachStdin, attachStdout: c.attachStdout, attachStderr: c.attachStderr,
    tty: c.tty, openStdin: c.openStdin, stdinOnce: c.stdinOnce,
  };
}

export function hostConfigFromProto(h: ProtoHostConfig | undefined): HostConfig {
  if (!h) return {};
  refuseUnbuilt({ 'host_config.binds': h.binds }, 'volumes');
  refuseUnbuilt({ 'host_config.port_bindings': h.portBindings, 'host_config.links': h.links, 'host_config.publish_all_ports': h.publishAllPorts }, 'networking');
  refuseUnbuilt({ 'host_config.privileged': h.privileged }, 'security options');
  refuseUnbuilt({ 'host_config.lxc_conf': h.lxcConf }, 'there is no LXC driver');
  refuseUnbuilt({ 'host_config.container_id_file': h.containerIdFile }, 'the CLI writes the id file itself');
  const log = h.logConfig ? parseLogConfig(h.logConfig.type, h.logConfig.config) : undefined;
  return log ? { log } : {};
}

function date(text: string): Date | undefined {
  return text ? new Date(text) : undefined;
}

export function containerToProto(c: ContainerRecord, files: ContainerFiles): ProtoContainer {
  const cfg = c.config;
  return {
    id: c.id,
    name: c.name,
    created: new Date(c.created),
    path: c.path,
    args: c.args,
    config: {
      hostname: cfg.hostname || c.id.slice(0, 12), domainname: cfg.domainname, user: cfg.user,
      memory: 0, memorySwap: 0, cpuShares: 0,
      attachStdin: cfg.attachStdin, attachStdout: cfg.attachStdout, attachStderr: cfg.attachStderr,
      portSpecs: [], exposedPorts: [], tty: cfg.tty, openStdin: cfg.openStdin, stdinOnce: cfg.stdinOnce,
      env: cfg.env, cmd: cfg.cmd, dns: [], image: cfg.image, volumes: [], volumesFrom: '',
      workingDir: cfg.workingDir, entrypoint: cfg.entrypoint, networkDisabled: cfg.networkDisabled,
    },
    hostConfig: {
      binds: [], containerIdFile: '', lxcConf: [], privileged: false, portBindings: {}, links: [], publishAllPorts: false,
      logConfig: { type: 'json-file', config: c.hostConfig.log ? { 'max-size': String(c.hostConfig.log.maxSizeBytes), 'max-file': String(c.hostConfig.log.maxFiles) } : {} },
    },
    state: {
      status: c.state.status,
      running: c.state.status === 'running',
      pid: c.state.pid,
      exitCode: c.state.exitCode,
      signal: c.state.signal,
      error: c.state.error,
      startedAt: date(c.state.startedAt),
      finishedAt: date(c.state.finishedAt),
    },
    image: c.image,
    logPath: files.logPath,
    hostnamePath: files.hostnamePath,
    hostsPath: files.hostsPath,
    resolvConfPath: files.resolvConfPath,
    driver: 'overlay',
  };
}

export function imageConfigFromProto(c: ProtoImageConfig | undefined): ProtoImageConfig {
  return c ?? { env: [], cmd: [], entrypoint: [], workingDir: '', user: '' };
}

export function imageToProto(i: ImageRecord): ProtoImage {
  return {
    id: i.id,
    repoTags: i.repoTags,
    created: new Date(i.blob.created),
    config: imageDefaults(i.blob),
    layers: i.blob.rootfs.diff_ids,
    sizeBytes: i.sizeBytes,
    comment: i.blob.history.at(-1)?.comment ?? '',
    architecture: i.blob.architecture,
    os: i.blob.os,
  };
}
