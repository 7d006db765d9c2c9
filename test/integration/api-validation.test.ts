// The API boundary checks every request field: a bad one is INVALID_ARGUMENT naming the field and the value
// (NOT_FOUND for a well-formed reference to nothing) and changes nothing; no request, however empty, is
// answered INTERNAL or UNKNOWN.
import * as grpc from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/client';
import {
  ContainerLogsRequest, ContainersService, HostConfig, Resources, type Config, type ListContainersResponse,
} from '../../src/gen/berth/v1/containers';
import { ImagesService, type ListImagesResponse } from '../../src/gen/berth/v1/images';
import { SystemService, type Event } from '../../src/gen/berth/v1/system';
import { VolumesService, type ListVolumesResponse } from '../../src/gen/berth/v1/volumes';
import { config, createContainer, destroyDaemon, importBusybox, startDaemon, type TestDaemon } from '../helpers/daemon';
import { IS_ROOT } from '../helpers/paths';

const SERVICES = { containers: ContainersService, images: ImagesService, system: SystemService, volumes: VolumesService };
type ServiceName = keyof typeof SERVICES;
type Rpc = `${ServiceName}.${string}`;

interface Outcome { code: grpc.status; details: string }

const CALL_MS = 15_000;

/**
 * Calls any RPC through the typed clients and settles with its status. Unary and server-streaming methods
 * take the request; client-streaming and bidi ones take the list of messages to send (then half-close).
 */
function invoke(d: TestDaemon, rpc: Rpc, req: unknown, deadlineMs = CALL_MS): Promise<Outcome> {
  const [service, method] = rpc.split('.') as [ServiceName, string];
  const def = (SERVICES[service] as Record<string, { requestStream: boolean; responseStream: boolean }>)[method];
  if (!def) throw new Error(`no such rpc ${rpc}`);
  const client = d.clients[service] as unknown as Record<string, (...args: unknown[]) => unknown>;
  const fn = client[method].bind(client);
  const options = { deadline: Date.now() + deadlineMs };
  const settle = (resolve: (o: Outcome) => void) => (err: grpc.ServiceError | null) =>
    resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '' });
  return new Promise((resolve) => {
    const done = settle(resolve);
    if (!def.requestStream && !def.responseStream) {
      fn(req, new grpc.Metadata(), options, done);
    } else if (!def.requestStream) {
      const stream = fn(req, new grpc.Metadata(), options) as grpc.ClientReadableStream<unknown>;
      stream.on('data', () => undefined);
      stream.on('error', done);
      stream.on('end', () => done(null));
    } else if (!def.responseStream) {
      const stream = fn(new grpc.Metadata(), options, done) as grpc.ClientWritableStream<unknown>;
      for (const m of req as unknown[]) stream.write(m);
      stream.end();
    } else {
      const stream = fn(new grpc.Metadata(), options) as grpc.ClientDuplexStream<unknown, unknown>;
      stream.on('data', () => undefined);
      stream.on('error', done);
      stream.on('end', () => done(null));
      for (const m of req as unknown[]) stream.write(m);
      stream.end();
    }
  });
}

/** A Date whose Timestamp holds more seconds than a Date can (the server decodes it as an invalid Date). */
function beyondDateRange(): Date {
  return Object.assign(new Date(0), { getTime: () => 1e18 });
}

const CTR = 'vt';
const RUNNER = 'runner';
const ctr = (patch: Partial<Config> = {}) => config('busybox', ['true'], patch);
const create = (patch: Partial<Config> = {}, hostConfig?: Partial<HostConfig>, name = '') =>
  ({ config: ctr(patch), ...(hostConfig && { hostConfig: HostConfig.fromPartial(hostConfig) }), name });
const ports = (bindings: Record<string, { hostIp: string; hostPort: string }[]>) =>
  Object.fromEntries(Object.entries(bindings).map(([k, v]) => [k, { bindings: v }]));
const header = (h: Record<string, unknown>) => [{ part: { $case: 'header', value: { containerId: CTR, path: '/', noOverwriteDirNonDir: false, copyUidGid: false, ...h } } }];
const importHeader = (h: Record<string, unknown>) => [{ part: { $case: 'header', value: { reference: '', message: '', ...h } } }];
const imageConfig = (c: Record<string, unknown>) => ({
  env: [], cmd: [], entrypoint: [], workingDir: '', user: '', exposedPorts: [], volumes: [], labels: {}, stopSignal: '', ...c,
});
const attachOptions = (o: Record<string, unknown>) => [{ frame: { $case: 'options', value: { containerId: CTR, stdin: false, stdout: true, stderr: true, logs: false, detachKeys: '', start: false, ...o } } }];
const execOptions = (o: Record<string, unknown>) => [{ frame: { $case: 'options', value: { containerId: RUNNER, cmd: ['true'], env: [], user: '', workingDir: '', tty: false, stdin: false, detachKeys: '', ...o } } }];
const logs = (r: Partial<ContainerLogsRequest>) => ContainerLogsRequest.fromPartial({ containerId: CTR, ...r });
const LONG = 'a'.repeat(1000);
const INV = grpc.status.INVALID_ARGUMENT;
const NF = grpc.status.NOT_FOUND;

/** [rpc, request, code, the field the message names, the bad value it shows] */
type Case = [Rpc, unknown, grpc.status, string, string];

const CASES: Case[] = [
  // Containers.Create: the name, the image reference and every Config and HostConfig field.
  ['containers.create', create({}, undefined, '../x'), INV, 'name', '../x'],
  ['containers.create', create({}, undefined, 'n'.repeat(200)), INV, 'name', 'nnnn'],
  ['containers.create', create({ image: 'BusyBox' }), INV, 'config.image', 'BusyBox'],
  ['containers.create', create({ image: 'bad chars!' }), INV, 'config.image', 'bad chars!'],
  ['containers.create', create({ image: 'x'.repeat(300) }), INV, 'config.image', 'xxxx'],
  ['containers.create', create({ image: `busybox:${'t'.repeat(129)}` }), INV, 'config.image', 'busybox:ttt'],
  ['containers.create', create({ image: 'busybox@sha256:abc' }), INV, 'config.image', 'sha256:abc'],
  ['containers.create', create({ image: 'sha256:xyz' }), INV, 'config.image', 'sha256:xyz'],
  ['containers.create', create({ image: 'nosuchimage' }), NF, 'image', 'nosuchimage'],
  ['containers.create', create({ env: ['=x'] }), INV, 'config.env', '=x'],
  ['containers.create', create({ env: ['A=b\0c'] }), INV, 'config.env', 'A=b'],
  ['containers.create', create({ env: ['NOEQUALS'] }), INV, 'config.env', 'NOEQUALS'],
  // The value is cut in the message: a status travels in a header, which clients cap.
  ['containers.create', create({ env: [`=${'x'.repeat(500_000)}`] }), INV, 'config.env', '(500003 characters)'],
  ['containers.create', create({ cmd: ['sh\0'] }), INV, 'config.cmd', 'sh'],
  ['containers.create', create({ entrypoint: ['/bin/\0sh'] }), INV, 'config.entrypoint', '/bin/'],
  ['containers.create', create({ workingDir: 'relative/dir' }), INV, 'config.working_dir', 'relative/dir'],
  ['containers.create', create({ labels: { '': 'x' } }), INV, 'config.labels', '""'],
  ['containers.create', create({ labels: { k: 'v\0' } }), INV, 'config.labels', 'k'],
  ['containers.create', create({ hostname: 'bad_host!' }), INV, 'config.hostname', 'bad_host!'],
  ['containers.create', create({ domainname: 'a..b' }), INV, 'config.domainname', 'a..b'],
  ['containers.create', create({ user: 'a:b:c' }), INV, 'config.user', 'a:b:c'],
  ['containers.create', create({ exposedPorts: ['0'] }), INV, 'config.exposed_ports', '0'],
  ['containers.create', create({ exposedPorts: ['65536/tcp'] }), INV, 'config.exposed_ports', '65536/tcp'],
  ['containers.create', create({ exposedPorts: ['80/xyz'] }), INV, 'config.exposed_ports', '80/xyz'],
  ['containers.create', create({ exposedPorts: ['http'] }), INV, 'config.exposed_ports', 'http'],
  ['containers.create', create({ portSpecs: ['abc'] }), INV, 'config.port_specs', 'abc'],
  ['containers.create', create({ portSpecs: ['1.2.3.999:8080:80'] }), INV, 'config.port_specs', '1.2.3.999:8080:80'],
  ['containers.create', create({ portSpecs: ['70000:80'] }), INV, 'config.port_specs', '70000:80'],
  ['containers.create', create({ portSpecs: ['80/sctp'] }), INV, 'config.port_specs', '80/sctp'],
  ['containers.create', create({ portSpecs: ['8080:80'] }, { networkMode: 'none' }), INV, 'host_config.port_bindings', '8080'],
  ['containers.create', create({ dns: ['not-an-ip'] }), INV, 'config.dns', 'not-an-ip'],
  ['containers.create', create({ stopTimeout: -2 }), INV, 'config.stop_timeout', '-2'],
  ['containers.create', create({ stopTimeout: 2_000_000_000 }), INV, 'config.stop_timeout', '2000000000'],
  ['containers.create', create({ stopSignal: 'SIGNOPE' }), INV, 'config.stop_signal', 'SIGNOPE'],
  ['containers.create', create({ stopSignal: '65' }), INV, 'config.stop_signal', '65'],
  ['containers.create', create({ memory: -1 }), INV, 'config.memory', '-1'],
  ['containers.create', create({ memorySwap: -5 }), INV, 'config.memory_swap', '-5'],
  ['containers.create', create({ cpuShares: 1 }), INV, 'config.cpu_shares', '1'],
  ['containers.create', create({ volumes: ['relative'] }), INV, 'config.volumes', 'relative'],
  ['containers.create', create({ volumes: ['/proc/x'] }), INV, 'config.volumes', '/proc/x'],
  ['containers.create', create({ volumesFrom: '../x' }), INV, 'config.volumes_from', '../x'],
  ['containers.create', create({ volumesFrom: 'nosuchcontainer' }), NF, 'config.volumes_from', 'nosuchcontainer'],
  ['containers.create', create({}, { binds: ['/tmp'] }), INV, 'host_config.binds', '/tmp'],
  ['containers.create', create({}, { binds: ['/tmp:/mnt:zz'] }), INV, 'host_config.binds', '/tmp:/mnt:zz'],
  ['containers.create', create({}, { binds: ['/tmp:relative'] }), INV, 'host_config.binds', '/tmp:relative'],
  ['containers.create', create({}, { binds: ['bad vol!:/mnt'] }), INV, 'host_config.binds', 'bad vol!:/mnt'],
  ['containers.create', create({}, { binds: ['/tmp:/'] }), INV, 'host_config.binds', '/tmp:/'],
  ['containers.create', create({}, { binds: ['/tmp\0:/mnt'] }), INV, 'host_config.binds', '/tmp'],
  ['containers.create', create({}, { portBindings: ports({ '80/tcp': [{ hostIp: '', hostPort: '70000' }] }) }), INV, 'host_config.port_bindings[80/tcp].host_port', '70000'],
  ['containers.create', create({}, { portBindings: ports({ '80/tcp': [{ hostIp: '', hostPort: 'http' }] }) }), INV, 'host_config.port_bindings[80/tcp].host_port', 'http'],
  ['containers.create', create({}, { portBindings: ports({ '0/tcp': [{ hostIp: '', hostPort: '' }] }) }), INV, 'host_config.port_bindings[0/tcp]', '0/tcp'],
  ['containers.create', create({}, { portBindings: ports({ '80/sctp': [] }) }), INV, 'host_config.port_bindings[80/sctp]', '80/sctp'],
  ['containers.create', create({}, { portBindings: ports({ '80/tcp': [{ hostIp: 'nope', hostPort: '' }] }) }), INV, 'host_config.port_bindings[80/tcp].host_ip', 'nope'],
  ['containers.create', create({}, { extraHosts: ['noip'] }), INV, 'host_config.extra_hosts', 'noip'],
  ['containers.create', create({}, { extraHosts: ['h:999.1.1.1'] }), INV, 'host_config.extra_hosts', 'h:999.1.1.1'],
  ['containers.create', create({}, { links: ['../x'] }), INV, 'host_config.links', '../x'],
  ['containers.create', create({}, { links: ['nosuchcontainer:db'] }), NF, 'host_config.links', 'nosuchcontainer:db'],
  ['containers.create', create({}, { networkMode: 'container:nosuchcontainer' }), NF, 'host_config.network_mode', 'container:nosuchcontainer'],
  ['containers.create', create({}, { networkMode: 'container:../x' }), INV, 'host_config.network_mode', '../x'],
  ['containers.create', create({}, { binds: [`${'v'.repeat(300)}:/mnt`] }), INV, 'host_config.binds', 'vvvv'],
  ['containers.create', create({}, { logConfig: { type: '', config: { 'max-size': '99999999999999g' } } }), INV, 'host_config.log_config.config["max-size"]', '99999999999999g'],
  ['containers.create', create({}, { cpusetMems: '99' }), INV, 'host_config.cpuset_mems', '99'],
  ['containers.create', create({ user: '99999999999' }), INV, 'config.user', '99999999999'],
  ['containers.create', create({}, { networkMode: 'weird' }), INV, 'host_config.network_mode', 'weird'],
  ['containers.create', create({}, { logConfig: { type: 'syslog', config: {} } }), INV, 'host_config.log_config.type', 'syslog'],
  ['containers.create', create({}, { logConfig: { type: '', config: { 'max-size': '-1' } } }), INV, 'host_config.log_config.config["max-size"]', '-1'],
  ['containers.create', create({}, { logConfig: { type: '', config: { 'max-size': '1m', 'max-file': '0' } } }), INV, 'host_config.log_config.config["max-file"]', '0'],
  ['containers.create', create({}, { logConfig: { type: '', config: { bogus: '1' } } }), INV, 'host_config.log_config.config', 'bogus'],
  ['containers.create', create({}, { restartPolicy: { name: 'sometimes', maximumRetryCount: 0 } }), INV, 'host_config.restart_policy.name', 'sometimes'],
  ['containers.create', create({}, { restartPolicy: { name: 'on-failure', maximumRetryCount: -1 } }), INV, 'host_config.restart_policy.maximum_retry_count', '-1'],
  ['containers.create', create({}, { nanoCpus: 1e15 }), INV, 'host_config.nano_cpus', '1000000000000000'],
  ['containers.create', create({}, { cpuQuota: -5 }), INV, 'host_config.cpu_quota', '-5'],
  ['containers.create', create({}, { cpuPeriod: 1 }), INV, 'host_config.cpu_period', '1'],
  ['containers.create', create({}, { cpusetCpus: 'x' }), INV, 'host_config.cpuset_cpus', 'x'],
  ['containers.create', create({}, { pidsLimit: -2 }), INV, 'host_config.pids_limit', '-2'],
  // Wired by the security work (src/security/): here only to show they refuse the same way.
  ['containers.create', create({}, { shmSize: 1 }), INV, 'host_config.shm_size', '1'],
  ['containers.create', create({}, { sysctls: { 'kernel.bogus': '1' } }), INV, 'host_config.sysctls', 'kernel.bogus'],

  // Container references, in every RPC that takes one.
  ['containers.start', { containerId: '' }, INV, 'container_id', '""'],
  ['containers.start', { containerId: '../x' }, INV, 'container_id', '../x'],
  ['containers.start', { containerId: LONG }, INV, 'container_id', 'aaaa'],
  ['containers.start', { containerId: 'a\0b' }, INV, 'container_id', 'a'],
  ['containers.start', { containerId: 'no-such-container' }, NF, 'container', 'no-such-container'],
  ['containers.inspect', { containerId: 'x/y', size: false }, INV, 'container_id', 'x/y'],
  ['containers.remove', { containerId: '../x', force: true, volumes: true }, INV, 'container_id', '../x'],
  ['containers.pause', { containerId: '..' }, INV, 'container_id', '..'],
  ['containers.unpause', { containerId: ' ' }, INV, 'container_id', '" "'],
  ['containers.top', { containerId: '/../x' }, INV, 'container_id', '/../x'],
  ['containers.changes', { containerId: '../x' }, INV, 'container_id', '../x'],
  ['containers.export', { containerId: '../x' }, INV, 'container_id', '../x'],
  ['containers.stats', { containerId: '../x', stream: false }, INV, 'container_id', '../x'],
  ['containers.wait', { containerId: '../x', condition: '' }, INV, 'container_id', '../x'],
  ['containers.wait', { containerId: CTR, condition: 'sometime' }, INV, 'condition', 'sometime'],

  ['containers.kill', { containerId: RUNNER, signal: 'SIGNOPE' }, INV, 'signal', 'SIGNOPE'],
  ['containers.kill', { containerId: RUNNER, signal: '99' }, INV, 'signal', '99'],
  ['containers.kill', { containerId: RUNNER, signal: '0' }, INV, 'signal', '0'],
  ['containers.kill', { containerId: RUNNER, signal: '-9' }, INV, 'signal', '-9'],
  ['containers.kill', { containerId: RUNNER, signal: '99999999999999999999' }, INV, 'signal', '99999999999999999999'],
  ['containers.kill', { containerId: '../x', signal: 'TERM' }, INV, 'container_id', '../x'],
  ['containers.resize', { containerId: RUNNER, rows: 0, cols: 80 }, INV, 'size.rows', '0'],
  ['containers.resize', { containerId: RUNNER, rows: 70000, cols: 80 }, INV, 'size.rows', '70000'],
  ['containers.resize', { containerId: RUNNER, rows: 24, cols: 65536 }, INV, 'size.cols', '65536'],
  ['containers.resize', { containerId: RUNNER, rows: 0, cols: 0 }, INV, 'size', '0x0'],
  ['containers.stop', { containerId: RUNNER, timeoutSeconds: -5 }, INV, 'timeout_seconds', '-5'],
  ['containers.stop', { containerId: RUNNER, timeoutSeconds: 1_000_000_000 }, INV, 'timeout_seconds', '1000000000'],
  ['containers.restart', { containerId: RUNNER, timeoutSeconds: 2_147_483_647 }, INV, 'timeout_seconds', '2147483647'],
  ['containers.rename', { containerId: CTR, newName: '../x' }, INV, 'new_name', '../x'],
  ['containers.rename', { containerId: CTR, newName: '' }, INV, 'new_name', '""'],
  ['containers.rename', { containerId: CTR, newName: 'n'.repeat(200) }, INV, 'new_name', 'nnnn'],
  ['containers.rename', { containerId: 'no-such-container', newName: 'bad name' }, INV, 'new_name', 'bad name'],
  ['containers.update', { containerId: RUNNER, resources: Resources.fromPartial({ memory: -1 }) }, INV, 'resources.memory', '-1'],
  ['containers.update', { containerId: RUNNER, resources: Resources.fromPartial({ cpuShares: 1 }) }, INV, 'resources.cpu_shares', '1'],
  ['containers.update', { containerId: RUNNER, resources: Resources.fromPartial({ nanoCpus: 5e15 }) }, INV, 'resources.nano_cpus', '5000000000000000'],
  ['containers.update', { containerId: RUNNER, resources: Resources.fromPartial({ pidsLimit: -5 }) }, INV, 'resources.pids_limit', '-5'],
  ['containers.update', { containerId: RUNNER, resources: Resources.fromPartial({ cpusetMems: 'zero' }) }, INV, 'resources.cpuset_mems', 'zero'],
  ['containers.update', { containerId: RUNNER, restartPolicy: { name: 'never', maximumRetryCount: 0 } }, INV, 'restart_policy.name', 'never'],
  ['containers.update', { containerId: '../x', resources: Resources.fromPartial({}) }, INV, 'container_id', '../x'],

  ['containers.logs', logs({ tail: -1 }), INV, 'tail', '-1'],
  ['containers.logs', logs({ since: new Date(2000), until: new Date(1000) }), INV, 'until', '1970-01-01T00:00:01.000Z'],
  ['containers.logs', logs({ since: beyondDateRange() }), INV, 'since', 'Invalid Date'],
  ['containers.logs', logs({ containerId: '../x' }), INV, 'container_id', '../x'],

  ['containers.copyFrom', { containerId: CTR, path: '/etc\0' }, INV, 'path', '/etc'],
  ['containers.copyFrom', { containerId: CTR, path: '' }, INV, 'path', '""'],
  ['containers.copyFrom', { containerId: CTR, path: `/${'p'.repeat(5000)}` }, INV, 'path', '/ppp'],
  ['containers.copyFrom', { containerId: CTR, path: `/etc/${'n'.repeat(300)}` }, INV, 'path', '/etc/nnn'],
  ['containers.copyFrom', { containerId: '../x', path: '/etc' }, INV, 'container_id', '../x'],
  ['containers.copyTo', header({ path: '' }), INV, 'header.path', '""'],
  ['containers.copyTo', header({ path: '/tmp\0' }), INV, 'header.path', '/tmp'],
  ['containers.copyTo', header({ path: `/${'n'.repeat(300)}` }), INV, 'header.path', '/nnn'],
  ['containers.copyTo', header({ containerId: '../x' }), INV, 'header.container_id', '../x'],
  ['containers.copyTo', [{ part: { $case: 'chunk', value: Buffer.from('x') } }], INV, 'header', 'first message'],

  ['containers.commit', { containerId: RUNNER, reference: 'Bad:Name', author: '', message: '', changes: [] }, INV, 'reference', 'Bad:Name'],
  ['containers.commit', { containerId: RUNNER, reference: `repo:${'t'.repeat(129)}`, author: '', message: '', changes: [] }, INV, 'reference', 'repo:ttt'],
  ['containers.commit', { containerId: RUNNER, reference: '', author: '', message: '', changes: ['WORKDIR relative'] }, INV, 'changes', 'WORKDIR relative'],
  ['containers.commit', { containerId: RUNNER, reference: '', author: '', message: '', changes: ['USER a:b:c'] }, INV, 'changes', 'USER a:b:c'],
  ['containers.commit', { containerId: RUNNER, reference: '', author: '', message: '', changes: ['STOPSIGNAL SIGNOPE'] }, INV, 'changes', 'STOPSIGNAL SIGNOPE'],
  ['containers.commit', { containerId: RUNNER, reference: '', author: '', message: '', changes: ['ENV A=b\0'] }, INV, 'changes', 'ENV A=b'],
  ['containers.commit', { containerId: RUNNER, reference: '', author: '', message: '', changes: ['RUN make'] }, INV, 'changes', 'RUN make'],
  ['containers.commit', { containerId: RUNNER, reference: '', author: '', message: '', changes: ['EXPOSE 99999'] }, INV, 'changes', 'EXPOSE 99999'],
  ['containers.commit', { containerId: '../x', reference: '', author: '', message: '', changes: [] }, INV, 'container_id', '../x'],

  ['containers.attach', attachOptions({ detachKeys: 'ctrl-?!' }), INV, 'options.detach_keys', 'ctrl-?!'],
  ['containers.attach', attachOptions({ size: { rows: 70000, cols: 80 } }), INV, 'options.size.rows', '70000'],
  ['containers.attach', attachOptions({ containerId: '../x' }), INV, 'options.container_id', '../x'],
  ['containers.attach', [{ frame: { $case: 'stdin', value: Buffer.from('x') } }], INV, 'options', 'first frame'],
  ['containers.exec', execOptions({ cmd: [] }), INV, 'options.cmd', '[]'],
  ['containers.exec', execOptions({ cmd: [''] }), INV, 'options.cmd', '[""]'],
  ['containers.exec', execOptions({ cmd: ['sh\0'] }), INV, 'options.cmd', 'sh'],
  ['containers.exec', execOptions({ env: ['=x'] }), INV, 'options.env', '=x'],
  ['containers.exec', execOptions({ env: ['A=\0'] }), INV, 'options.env', 'A='],
  ['containers.exec', execOptions({ user: 'a:b:c' }), INV, 'options.user', 'a:b:c'],
  ['containers.exec', execOptions({ workingDir: 'relative' }), INV, 'options.working_dir', 'relative'],
  ['containers.exec', execOptions({ size: { rows: 1, cols: 0 } }), INV, 'options.size.cols', '0'],
  ['containers.exec', execOptions({ detachKeys: 'ctrl-' }), INV, 'options.detach_keys', 'ctrl-'],
  ['containers.exec', execOptions({ containerId: '../x' }), INV, 'options.container_id', '../x'],

  // Images: references in every form they are given.
  ['images.inspect', { image: 'BusyBox' }, INV, 'image', 'BusyBox'],
  ['images.inspect', { image: 'sha256:xyz' }, INV, 'image', 'sha256:xyz'],
  ['images.inspect', { image: 'x'.repeat(300) }, INV, 'image', 'xxxx'],
  ['images.inspect', { image: `busybox:${'t'.repeat(129)}` }, INV, 'image', 'busybox:ttt'],
  ['images.inspect', { image: 'busybox@sha256:123' }, INV, 'image', 'busybox@sha256:123'],
  ['images.inspect', { image: 'a\0b' }, INV, 'image', 'a'],
  ['images.inspect', { image: '' }, INV, 'image', '""'],
  ['images.inspect', { image: 'no-such-image:1' }, NF, 'image', 'no-such-image:1'],
  ['images.remove', { image: 'bad chars!', force: true }, INV, 'image', 'bad chars!'],
  ['images.remove', { image: '../x', force: true }, INV, 'image', '../x'],
  ['images.history', { image: 'Bad:Name' }, INV, 'image', 'Bad:Name'],
  ['images.tag', { image: 'busybox', reference: 'Bad:Name' }, INV, 'reference', 'Bad:Name'],
  ['images.tag', { image: 'busybox', reference: '' }, INV, 'reference', '""'],
  ['images.tag', { image: 'busybox', reference: `repo:${'t'.repeat(129)}` }, INV, 'reference', 'repo:ttt'],
  ['images.tag', { image: 'busybox', reference: `${'r'.repeat(256)}:1` }, INV, 'reference', 'rrrr'],
  ['images.tag', { image: 'busybox', reference: 'repo@sha256:abc' }, INV, 'reference', 'repo@sha256:abc'],
  ['images.tag', { image: 'Bad:Name', reference: 'good:1' }, INV, 'image', 'Bad:Name'],
  ['images.tag', { image: 'no-such-image', reference: 'good:1' }, NF, 'image', 'no-such-image'],
  ['images.save', { images: ['busybox'], format: 'zip' }, INV, 'format', 'zip'],
  ['images.save', { images: ['Bad!'], format: '' }, INV, 'images[0]', 'Bad!'],
  ['images.save', { images: [], format: '' }, INV, 'images', '[]'],
  ['images.pull', { reference: 'Bad!', platform: '' }, INV, 'reference', 'Bad!'],
  ['images.pull', { reference: 'busybox@sha256:abc', platform: '' }, INV, 'reference', 'sha256:abc'],
  ['images.pull', { reference: '127.0.0.1:1/x:1', platform: 'linux' }, INV, 'platform', 'linux'],
  ['images.pull', { reference: '127.0.0.1:1/x:1', platform: '', auth: { username: 'a:b', password: 'p', identityToken: '' } }, INV, 'auth.username', 'a:b'],
  ['images.pull', { reference: '127.0.0.1:1/x:1', platform: '', auth: { username: '', password: 'secret', identityToken: '' } }, INV, 'auth.password', 'without auth.username'],
  ['images.pull', { reference: '127.0.0.1:1/x:1', platform: '', auth: { username: 'u', password: 'p\n', identityToken: '' } }, INV, 'auth.password', 'control characters'],
  ['images.push', { reference: 'Bad!' }, INV, 'reference', 'Bad!'],
  ['images.push', { reference: `busybox@sha256:${'0'.repeat(64)}` }, INV, 'reference', 'busybox@sha256'],
  ['images.push', { reference: '127.0.0.1:1/x:1', auth: { username: 'a\0', password: '', identityToken: '' } }, INV, 'auth.username', 'a'],
  ['images.import', importHeader({ reference: 'Bad:Name' }), INV, 'header.reference', 'Bad:Name'],
  ['images.import', importHeader({ config: imageConfig({ env: ['=x'] }) }), INV, 'header.config.env', '=x'],
  ['images.import', importHeader({ config: imageConfig({ cmd: ['a\0'] }) }), INV, 'header.config.cmd', 'a'],
  ['images.import', importHeader({ config: imageConfig({ workingDir: 'rel' }) }), INV, 'header.config.working_dir', 'rel'],
  ['images.import', importHeader({ config: imageConfig({ user: 'a:b:c' }) }), INV, 'header.config.user', 'a:b:c'],
  ['images.import', importHeader({ config: imageConfig({ exposedPorts: ['99999'] }) }), INV, 'header.config.exposed_ports', '99999'],
  ['images.import', importHeader({ config: imageConfig({ volumes: ['rel'] }) }), INV, 'header.config.volumes', 'rel'],
  ['images.import', importHeader({ config: imageConfig({ labels: { '': 'x' } }) }), INV, 'header.config.labels', '""'],
  ['images.import', importHeader({ config: imageConfig({ stopSignal: 'SIGNOPE' }) }), INV, 'header.config.stop_signal', 'SIGNOPE'],
  ['images.import', [{ part: { $case: 'chunk', value: Buffer.from('x') } }], INV, 'header', 'first message'],
  ['images.load', [{ chunk: Buffer.alloc(1024, 7) }], INV, 'archive', 'tar'],

  // System.Events: filters and times.
  ['system.events', { sinceSeq: 0, filters: ['colour=red'], until: new Date(Date.now() + 60_000) }, INV, 'filters', 'unknown key "colour"'],
  ['system.events', { sinceSeq: 0, filters: ['type=nope'] }, INV, 'filters', 'type=nope'],
  ['system.events', { sinceSeq: 0, filters: ['constructor=x'] }, INV, 'filters', 'constructor'],
  ['system.events', { sinceSeq: 0, filters: ['noequals'] }, INV, 'filters', 'noequals'],
  ['system.events', { sinceSeq: 0, filters: [], since: new Date(5000), until: new Date(1000) }, INV, 'until', '1970-01-01T00:00:01.000Z'],
  ['system.events', { sinceSeq: 0, filters: [], until: beyondDateRange() }, INV, 'until', 'Invalid Date'],

  // Volumes.
  ['volumes.create', { name: '../x', driver: '', labels: {} }, INV, 'name', '../x'],
  ['volumes.create', { name: 'v', driver: '', labels: {} }, INV, 'name', '"v"'],
  ['volumes.create', { name: 'v'.repeat(300), driver: '', labels: {} }, INV, 'name', 'vvvv'],
  ['volumes.create', { name: 'good-vol', driver: 'nfs', labels: {} }, INV, 'driver', 'nfs'],
  ['volumes.create', { name: 'good-vol', driver: '', labels: { '': 'x' } }, INV, 'labels', '""'],
  ['volumes.create', { name: 'good-vol', driver: '', labels: { k: 'a\0' } }, INV, 'labels', 'k'],
  ['volumes.inspect', { name: '../x' }, INV, 'name', '../x'],
  ['volumes.inspect', { name: 'a\0b' }, INV, 'name', 'a'],
  ['volumes.inspect', { name: 'no-such-volume' }, NF, 'volume', 'no-such-volume'],
  ['volumes.remove', { name: '../x', force: true }, INV, 'name', '../x'],
  ['volumes.remove', { name: '', force: true }, INV, 'name', '""'],
  ['volumes.list', { filters: ['bogus=1'] }, INV, 'filters', 'unknown key "bogus"'],
  ['volumes.list', { filters: ['dangling=maybe'] }, INV, 'filters', 'dangling=maybe'],
];

interface Snapshot {
  containers: ListContainersResponse;
  images: ListImagesResponse;
  volumes: ListVolumesResponse;
  events: Event[];
}

async function journal(d: TestDaemon): Promise<Event[]> {
  const events: Event[] = [];
  const stream = d.clients.system.events({ sinceSeq: 0, since: new Date(0), until: new Date(Date.now() + 200), filters: [] });
  for await (const e of stream) events.push(e as Event);
  return events;
}

async function snapshot(d: TestDaemon): Promise<Snapshot> {
  return {
    containers: await call(d.clients.containers, 'list', { all: true, size: false }),
    images: await call(d.clients.images, 'list', {}),
    volumes: await call(d.clients.volumes, 'list', { filters: [] }),
    events: await journal(d),
  };
}

describe.skipIf(!IS_ROOT)('request validation', () => {
  let d: TestDaemon;
  let before: Snapshot;

  beforeAll(async () => {
    d = await startDaemon();
    await importBusybox(d);
    await createContainer(d, ctr(), CTR);
    const runner = await createContainer(d, config('busybox', ['sleep', '3600'], { tty: true }), RUNNER);
    await call(d.clients.containers, 'start', { containerId: runner });
    await call(d.clients.volumes, 'create', { name: 'kept', driver: '', labels: {} });
    before = await snapshot(d);
  });

  afterAll(() => destroyDaemon(d));

  const rows = CASES.map(([rpc, req, code, field, value]) => ({
    title: `${rpc}: ${field} ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)} is ${grpc.status[code]}`, rpc, req, code, field, value,
  }));

  it.each(rows)('$title', async ({ rpc, req, code, field, value }) => {
    const got = await invoke(d, rpc, req);
    expect(got, `${rpc}: ${got.details}`).toMatchObject({ code });
    expect(got.details).toContain(field);
    expect(got.details).toContain(value);
  });

  it('after every refused request: the same containers, images, volumes and no new event', async () => {
    const after = await snapshot(d);
    expect(after.containers).toEqual(before.containers);
    expect(after.images).toEqual(before.images);
    expect(after.volumes).toEqual(before.volumes);
    expect(after.events.map((e) => `${e.seq} ${e.type} ${e.action}`)).toEqual(before.events.map((e) => `${e.seq} ${e.type} ${e.action}`));
    const runner = after.containers.containers.find((c) => c.name === RUNNER);
    expect(runner?.state?.status).toBe('running');
  });
});

/** Encodes a message by hand, for values the typed encoders cannot produce. */
function rawCreateWithMemory(memory: bigint): Buffer {
  // Config { image = 18: "busybox", memory = 4: <memory> }
  const cfg = new BinaryWriter();
  cfg.uint32((18 << 3) | 2).string('busybox');
  cfg.uint32((4 << 3) | 0).int64(memory);
  const req = new BinaryWriter();
  req.uint32((1 << 3) | 2).bytes(cfg.finish());
  return Buffer.from(req.finish());
}

describe.skipIf(!IS_ROOT)('requests the server cannot take as they are, and port_specs', () => {
  let d: TestDaemon;

  beforeAll(async () => {
    d = await startDaemon();
    await importBusybox(d);
  });

  afterAll(() => destroyDaemon(d));

  it('a port_specs entry exposes its port and, with a host part, publishes it', async () => {
    const res = await call<typeof d.clients.containers, unknown, { id: string }>(d.clients.containers, 'create', {
      config: ctr({ portSpecs: ['80', '53/udp', '8080:81', '127.0.0.1:8443:443/tcp', '127.0.0.1::9000'], exposedPorts: ['22'] }),
      hostConfig: HostConfig.fromPartial({ portBindings: ports({ 81: [{ hostIp: '', hostPort: '9081' }] }) }),
      name: '',
    });
    const got = await call<typeof d.clients.containers, unknown, { container: { config: Config; hostConfig: HostConfig } }>(
      d.clients.containers, 'inspect', { containerId: res.id, size: false });
    await call(d.clients.containers, 'remove', { containerId: res.id, force: true, volumes: false });
    expect(got.container.config.exposedPorts).toEqual(['22/tcp', '53/udp', '80/tcp', '81/tcp', '443/tcp', '9000/tcp']);
    expect(got.container.hostConfig.portBindings).toEqual({
      '81/tcp': { bindings: [{ hostIp: '', hostPort: '9081' }, { hostIp: '', hostPort: '8080' }] },
      '443/tcp': { bindings: [{ hostIp: '127.0.0.1', hostPort: '8443' }] },
      '9000/tcp': { bindings: [{ hostIp: '127.0.0.1', hostPort: '' }] },
    });
  });

  /** What each method answers a request with every field at its default (client streams: no message at all). */
  const EXPECTED: Record<string, grpc.status[]> = {
    'containers.list': [grpc.status.OK], 'containers.prune': [grpc.status.OK],
    'images.list': [grpc.status.OK], 'system.version': [grpc.status.OK], 'system.info': [grpc.status.OK],
    'volumes.list': [grpc.status.OK], 'volumes.prune': [grpc.status.OK], 'volumes.create': [grpc.status.OK],
    // No since and no until: it follows from now on until the deadline.
    'system.events': [grpc.status.DEADLINE_EXCEEDED],
  };

  const methods = Object.entries(SERVICES).flatMap(([service, def]) => Object.keys(def).map((m) => `${service}.${m}` as Rpc));

  it.each(methods)('%s with an empty request answers cleanly', async (rpc) => {
    const [service, method] = rpc.split('.') as [ServiceName, string];
    const def = (SERVICES[service] as Record<string, { requestStream: boolean; requestDeserialize: (b: Buffer) => unknown }>)[method];
    // Streams of requests send one empty message (bidi) or none (client streams): both must be answered.
    const req = def.requestStream ? (method === 'attach' || method === 'exec' ? [def.requestDeserialize(Buffer.alloc(0))] : []) : def.requestDeserialize(Buffer.alloc(0));
    const got = await invoke(d, rpc, req, rpc === 'system.events' ? 1000 : CALL_MS);
    expect(got.code, `${rpc}: ${got.details}`).not.toBe(grpc.status.INTERNAL);
    expect(got.code, `${rpc}: ${got.details}`).not.toBe(grpc.status.UNKNOWN);
    expect(EXPECTED[rpc] ?? [grpc.status.INVALID_ARGUMENT], `${rpc}: ${got.details}`).toContain(got.code);
  });

  it('an integer past 2^53 is INVALID_ARGUMENT, not a decoding failure, in unary and streaming calls', async () => {
    const client = new grpc.Client(d.host, grpc.credentials.createInsecure());
    const raw = (b: Buffer) => b;
    const outcome = (resolve: (o: Outcome) => void) => (err: grpc.ServiceError | null) =>
      resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '' });
    const created = await new Promise<Outcome>((resolve) => {
      client.makeUnaryRequest(ContainersService.create.path, raw, raw, rawCreateWithMemory(1n << 60n), outcome(resolve));
    });
    // EventsRequest { since_seq = 1: 2^60 }
    const events = await new Promise<Outcome>((resolve) => {
      const stream = client.makeServerStreamRequest(SystemService.events.path, raw, raw,
        Buffer.from(new BinaryWriter().uint32((1 << 3) | 0).uint64(1n << 60n).finish()), new grpc.Metadata(), { deadline: Date.now() + CALL_MS });
      stream.on('data', () => undefined);
      stream.on('error', outcome(resolve));
      stream.on('end', () => outcome(resolve)(null));
    });
    client.close();
    for (const got of [created, events]) {
      expect(got.code, got.details).toBe(grpc.status.INVALID_ARGUMENT);
      expect(got.details).toContain('request: cannot be decoded');
    }
    const list = await call<typeof d.clients.containers, unknown, ListContainersResponse>(d.clients.containers, 'list', { all: true, size: false });
    expect(list.containers).toEqual([]);
  });
});
