// proto <-> domain. A proto field whose behaviour is not built yet is refused with UNIMPLEMENTED, never ignored.
import type { Resources } from '../cgroups/resources';
import { EngineError, invalidArgument } from '../errors';
import { isActive, type ContainerConfig, type ContainerRecord, type HostConfig } from '../containers/model';
import { parseRestartPolicy } from '../containers/restart-policy';
import { parseSignal } from '../containers/signals';
import type { ContainerSizes } from '../containers/filesystem';
import type { ContainerFiles } from '../containers/service';
import { parseLogConfig, validateStopTimeout } from '../containers/validate';
import type { ImageRecord } from '../images/model';
import { imageDefaults } from '../images/model';
import type {
  Config as ProtoConfig, Container as ProtoContainer, HostConfig as ProtoHostConfig,
} from '../gen/berth/v1/containers';
import type { Image as ProtoImage, ImageConfig as ProtoImageConfig } from '../gen/berth/v1/images';
import { nonZero, resourcesFromFields, type FieldNames } from './resources';
import { parseExtraHost, parseLink } from '../network/links';
import type { NetworkSettings } from '../network/manager';
import { checkNetworkFields } from '../network/mode';
import { securitySpec, validateSysctls } from '../security/options';
import { normalizeExposed, parsePublish, validateBindings, type PortBinding } from '../network/ports';

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
  validateStopTimeout(c.stopTimeout, 'config.stop_timeout');
  if (c.stopSignal) parseSignal(c.stopSignal, 'config.stop_signal');
  const exposedPorts = normalizeExposed([...c.exposedPorts, ...portSpecs(c.portSpecs).exposed], 'config.exposed_ports');
  return {
    hostname: c.hostname, domainname: c.domainname, user: c.user, env: c.env, cmd: c.cmd, entrypoint: c.entrypoint,
    image: c.image, workingDir: c.workingDir, networkDisabled: c.networkDisabled,
    attachStdin: c.attachStdin, attachStdout: c.attachStdout, attachStderr: c.attachStderr,
    tty: c.tty, openStdin: c.openStdin, stdinOnce: c.stdinOnce, stopSignal: c.stopSignal,
    ...(Object.keys(c.labels).length && { labels: c.labels }),
    ...(c.stopTimeout !== undefined && { stopTimeout: c.stopTimeout }),
    // Checked when the container is created (src/volumes/specs.ts), with the image's volumes at hand.
    ...(c.volumes.length > 0 && { volumes: c.volumes }), ...(c.volumesFrom && { volumesFrom: c.volumesFrom }),
    ...(exposedPorts.length > 0 && { exposedPorts }), ...(c.dns.length > 0 && { dns: c.dns }),
  };
}

/**
 * config.port_specs as Docker 0.7 read them (migratePortMappings): "80", "80/udp", "8080:80",
 * "127.0.0.1:8080:80/tcp", "127.0.0.1::80" each expose their container port; an entry with a host part
 * (anything before the container port) also publishes it, after host_config.port_bindings' own.
 */
export function portSpecs(specs: string[]): { exposed: string[]; bindings: Record<string, PortBinding[]> } {
  const exposed: string[] = [];
  const bindings: Record<string, PortBinding[]> = {};
  for (const spec of specs) {
    const parsed = parsePublish(spec, 'config.port_specs');
    exposed.push(...parsed.exposed);
    if (!spec.includes(':')) continue;
    for (const [key, list] of Object.entries(parsed.bindings)) (bindings[key] ??= []).push(...list);
  }
  return { exposed, bindings };
}

/** The network fields of a create: modes, ports, links and names checked together (src/network/mode.ts). */
function networkFromProto(h: ProtoHostConfig | undefined, c: ProtoConfig | undefined): HostConfig {
  const requested: Record<string, PortBinding[]> = Object.fromEntries(Object.entries(h?.portBindings ?? {}).map(([k, v]) => [k, [...v.bindings]]));
  for (const [key, list] of Object.entries(portSpecs(c?.portSpecs ?? []).bindings)) {
    const same = Object.keys(requested).find((k) => k === key || (!k.includes('/') && `${k}/tcp` === key));
    requested[same ?? key] = [...(same ? requested[same] : []), ...list];
  }
  const portBindings = validateBindings(requested, 'host_config.port_bindings');
  const links = h?.links ?? [];
  links.forEach((l) => parseLink(l));
  const extraHosts = h?.extraHosts ?? [];
  extraHosts.forEach((e) => parseExtraHost(e));
  checkNetworkFields({
    networkMode: h?.networkMode, networkDisabled: c?.networkDisabled ?? false, portBindings, publishAllPorts: h?.publishAllPorts,
    links, dns: c?.dns, extraHosts, hostname: c?.hostname,
  });
  return {
    ...(h?.networkMode && { networkMode: h.networkMode }), ...(Object.keys(portBindings).length > 0 && { portBindings }),
    ...(h?.publishAllPorts && { publishAllPorts: true }), ...(links.length > 0 && { links }), ...(extraHosts.length > 0 && { extraHosts }),
  };
}

const CREATE_FIELDS: FieldNames = {
  memory: 'config.memory', memorySwap: 'config.memory_swap', cpuShares: 'config.cpu_shares',
  cpuQuota: 'host_config.cpu_quota', cpuPeriod: 'host_config.cpu_period', nanoCpus: 'host_config.nano_cpus',
  cpusetCpus: 'host_config.cpuset_cpus', cpusetMems: 'host_config.cpuset_mems', pidsLimit: 'host_config.pids_limit',
};

/** The resource limits of a create: Config keeps the seed's memory fields, HostConfig the rest. */
function createResources(c: ProtoConfig | undefined, h: ProtoHostConfig | undefined): Resources | undefined {
  const r = nonZero(resourcesFromFields({
    memory: c?.memory, memorySwap: c?.memorySwap, cpuShares: c?.cpuShares,
    cpuQuota: h?.cpuQuota, cpuPeriod: h?.cpuPeriod, nanoCpus: h?.nanoCpus,
    cpusetCpus: h?.cpusetCpus, cpusetMems: h?.cpusetMems, pidsLimit: h?.pidsLimit,
  }, CREATE_FIELDS));
  return Object.keys(r).length ? r : undefined;
}

/** 1 GiB: more /dev/shm than that is memory the host should see asked for as a limit. */
const MAX_SHM_BYTES = 1 << 30;

/** Security settings, checked whole here (a bad profile or sysctl fails the create, not each start). */
function securityFromProto(h: ProtoHostConfig): Partial<HostConfig> {
  const out: Partial<HostConfig> = {
    ...(h.privileged && { privileged: true }), ...(h.capAdd.length > 0 && { capAdd: h.capAdd }), ...(h.capDrop.length > 0 && { capDrop: h.capDrop }),
    ...(h.securityOpt.length > 0 && { securityOpt: h.securityOpt }), ...(h.readOnlyRootfs && { readonlyRootfs: true }),
    ...(Object.keys(h.sysctls).length > 0 && { sysctls: h.sysctls }),
  };
  if (h.shmSize !== 0) {
    if (!Number.isSafeInteger(h.shmSize) || h.shmSize < 4096 || h.shmSize > MAX_SHM_BYTES) {
      throw invalidArgument('host_config.shm_size', h.shmSize, 'must be 4096 bytes to 1 GiB');
    }
    out.shmSizeBytes = h.shmSize;
  }
  validateSysctls(h.sysctls, h.networkMode || undefined);
  securitySpec({
    privileged: h.privileged, capAdd: h.capAdd, capDrop: h.capDrop, securityOpt: h.securityOpt,
    readonlyRootfs: h.readOnlyRootfs, sysctls: h.sysctls,
  });
  return out;
}

export function hostConfigFromProto(h: ProtoHostConfig | undefined, c?: ProtoConfig): HostConfig {
  const resources = createResources(c, h);
  const network = networkFromProto(h, c);
  if (!h) return { ...(resources && { resources }), ...network };
  refuseUnbuilt({ 'host_config.lxc_conf': h.lxcConf }, 'there is no LXC driver');
  refuseUnbuilt({ 'host_config.container_id_file': h.containerIdFile }, 'the CLI writes the id file itself');
  const log = h.logConfig ? parseLogConfig(h.logConfig.type, h.logConfig.config) : undefined;
  const restartPolicy = h.restartPolicy && parseRestartPolicy(h.restartPolicy.name, h.restartPolicy.maximumRetryCount, 'host_config.restart_policy');
  if (restartPolicy && h.autoRemove) {
    throw invalidArgument('host_config.auto_remove', true, `conflicts with restart policy ${restartPolicy.name}: a container cannot be both removed and restarted when it exits`);
  }
  return {
    ...(log && { log }), ...(resources && { resources }), ...(restartPolicy && { restartPolicy }), ...(h.autoRemove && { autoRemove: true }),
    ...(h.binds.length > 0 && { binds: h.binds }), ...network, ...securityFromProto(h),
  };
}

function date(text: string): Date | undefined {
  return text ? new Date(text) : undefined;
}

/** sizes: when the request asked for them (they walk the container's files). */
export function containerToProto(c: ContainerRecord, files: ContainerFiles, sizes?: ContainerSizes, network?: NetworkSettings): ProtoContainer {
  const cfg = c.config;
  const res = c.hostConfig.resources ?? {};
  return {
    id: c.id,
    name: c.name,
    created: new Date(c.created),
    path: c.path,
    args: c.args,
    config: {
      hostname: cfg.hostname || c.id.slice(0, 12), domainname: cfg.domainname, user: cfg.user,
      memory: res.memoryBytes ?? 0, memorySwap: res.memorySwapBytes ?? 0, cpuShares: res.cpuShares ?? 0,
      attachStdin: cfg.attachStdin, attachStdout: cfg.attachStdout, attachStderr: cfg.attachStderr,
      portSpecs: [], exposedPorts: cfg.exposedPorts ?? [], labels: cfg.labels ?? {}, tty: cfg.tty, openStdin: cfg.openStdin, stdinOnce: cfg.stdinOnce,
      env: cfg.env, cmd: cfg.cmd, dns: cfg.dns ?? [], image: cfg.image, volumes: cfg.volumes ?? [], volumesFrom: cfg.volumesFrom ?? '',
      workingDir: cfg.workingDir, entrypoint: cfg.entrypoint, networkDisabled: cfg.networkDisabled,
      stopSignal: cfg.stopSignal, stopTimeout: cfg.stopTimeout,
    },
    hostConfig: {
      binds: c.hostConfig.binds ?? [], containerIdFile: '', lxcConf: [], privileged: Boolean(c.hostConfig.privileged),
      capAdd: c.hostConfig.capAdd ?? [], capDrop: c.hostConfig.capDrop ?? [], securityOpt: c.hostConfig.securityOpt ?? [],
      readOnlyRootfs: Boolean(c.hostConfig.readonlyRootfs), sysctls: c.hostConfig.sysctls ?? {}, shmSize: c.hostConfig.shmSizeBytes ?? 0,
      portBindings: Object.fromEntries(Object.entries(c.hostConfig.portBindings ?? {}).map(([k, v]) => [k, { bindings: v }])),
      links: c.hostConfig.links ?? [], publishAllPorts: Boolean(c.hostConfig.publishAllPorts),
      networkMode: c.hostConfig.networkMode || 'bridge', extraHosts: c.hostConfig.extraHosts ?? [],
      logConfig: { type: 'json-file', config: c.hostConfig.log ? { 'max-size': String(c.hostConfig.log.maxSizeBytes), 'max-file': String(c.hostConfig.log.maxFiles) } : {} },
      cpuQuota: res.cpuQuotaUs ?? 0, cpuPeriod: res.cpuPeriodUs ?? 0, nanoCpus: 0,
      cpusetCpus: res.cpusetCpus ?? '', cpusetMems: res.cpusetMems ?? '', pidsLimit: res.pidsLimit ?? 0,
      restartPolicy: { name: c.hostConfig.restartPolicy?.name ?? 'no', maximumRetryCount: c.hostConfig.restartPolicy?.maxRetries ?? 0 },
      autoRemove: Boolean(c.hostConfig.autoRemove),
    },
    state: {
      status: c.state.status,
      // As Docker: a paused container is still running.
      running: isActive(c.state.status),
      paused: c.state.status === 'paused',
      restarting: c.state.status === 'restarting',
      oomKilled: c.state.oomKilled,
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
    restartCount: c.state.restartCount,
    sizeRw: sizes?.sizeRw ?? 0,
    sizeRootFs: sizes?.sizeRootFs ?? 0,
    mounts: (c.hostConfig.mounts ?? []).map((m) => ({ type: m.type, name: m.name, source: m.source, destination: m.destination, mode: m.mode, rw: m.rw })),
    networkSettings: network
      ? { ...network, ports: Object.fromEntries(Object.entries(network.ports).map(([k, v]) => [k, { bindings: v }])) }
      : { ipAddress: '', ipPrefixLen: 0, gateway: '', bridge: '', macAddress: '', ports: {} },
  };
}

export function imageConfigFromProto(c: ProtoImageConfig | undefined): ProtoImageConfig {
  return c ?? { env: [], cmd: [], entrypoint: [], workingDir: '', user: '', exposedPorts: [], volumes: [], labels: {}, stopSignal: '' };
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
    repoDigests: i.repoDigests,
    author: i.blob.author ?? '',
    rootFsType: i.blob.rootfs.type,
  };
}
