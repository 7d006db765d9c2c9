// The bridge network with real containers: published ports (tcp, udp, 127.0.0.1, the bridge, another
// host made with ip netns), links, modes, a taken port, and nothing left behind after stops and restarts.
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { call } from '../../src/cli/client';
import { ContainerLogsRequest, HostConfig, type CreateContainerResponse, type InspectContainerResponse, type ListContainersResponse } from '../../src/gen/berth/v1/containers';
import { cli, config, destroyDaemon, importBusybox, startDaemon, stopDaemon, testBridge, type TestDaemon } from '../helpers/daemon';
import { IS_ROOT } from '../helpers/paths';

const HAS_IPTABLES = spawnSync('iptables', ['--version']).status === 0;

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve(body));
    }).on('error', reject).on('timeout', function (this: http.ClientRequest) { this.destroy(new Error('timeout')); });
  });
}

async function eventually<T>(fn: () => Promise<T>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try { return await fn(); } catch (err) { if (Date.now() > deadline) throw err; }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!IS_ROOT || !HAS_IPTABLES)('bridge networking', () => {
  let d: TestDaemon;
  let www: string;
  let udpEcho: string;
  const bridge = () => testBridge(d.root);

  const create = async (cmd: string[], host: Partial<HostConfig> = {}, patch: Parameters<typeof config>[2] = {}, name = '') =>
    (await call<typeof d.clients.containers, unknown, CreateContainerResponse>(d.clients.containers, 'create', {
      config: config('busybox', cmd, patch), hostConfig: HostConfig.fromPartial(host), name,
    })).id;
  const start = (id: string) => call(d.clients.containers, 'start', { containerId: id });
  const inspect = async (id: string) => (await call<typeof d.clients.containers, unknown, InspectContainerResponse>(d.clients.containers, 'inspect', { containerId: id })).container!;
  const kill = async (id: string) => {
    await call(d.clients.containers, 'kill', { containerId: id, signal: 'KILL' });
    await call(d.clients.containers, 'wait', { containerId: id, condition: '' });
  };
  const logsOf = async (id: string) => {
    let out = '';
    for await (const e of d.clients.containers.logs(ContainerLogsRequest.fromPartial({ containerId: id, stdout: true, stderr: true }))) out += e.data.toString();
    return out;
  };
  const remove = (id: string) => call(d.clients.containers, 'remove', { containerId: id, force: true });
  const httpd = (host: Partial<HostConfig> = {}, name = '') =>
    create(['httpd', '-f', '-p', '80', '-h', '/www'], { binds: [`${www}:/www:ro`], ...host }, { exposedPorts: ['80/tcp'], env: ['SECRET=s1'] }, name);
  /** Our chains' rules, our veths and the allocation file: what must come back to the same after cycles. */
  const footprint = () => ({
    rules: sh('iptables-save', []).split('\n').filter((l) => l.includes(`BERTH-${bridge().name}`) || l.includes(bridge().name)).join('\n'),
    veths: sh('ip', ['-o', 'link', 'show', 'master', bridge().name]).split('\n').map((l) => l.split(':')[1]?.trim()).filter(Boolean).sort(),
    // nextIp moves on by design: a released IP is not handed out again at once.
    allocations: (JSON.parse(fs.readFileSync(path.join(d.root, 'network', 'allocations.json'), 'utf8')) as { containers: unknown }).containers,
  });

  /**
   * Waits for the releases exits started behind them to finish: then only running containers hold an
   * allocation (it is deleted last, after the rules and the veth).
   */
  const settled = () => eventually(async () => {
    const running = new Set((await call<typeof d.clients.containers, unknown, ListContainersResponse>(d.clients.containers, 'list', { all: false })).containers.map((c) => c.id));
    expect(Object.keys(footprint().allocations as Record<string, unknown>).filter((id) => !running.has(id))).toEqual([]);
  });

  beforeAll(async () => {
    d = await startDaemon();
    await importBusybox(d);
    www = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-www-'));
    fs.writeFileSync(path.join(www, 'index.html'), 'hello from berth\n');
    udpEcho = path.join(www, 'udp-echo');
    sh('cc', ['-static', '-O1', '-o', udpEcho, path.join(__dirname, '..', 'fixtures', 'udp-echo.c')]);
  }, 60_000);

  afterAll(async () => {
    await destroyDaemon(d);
    fs.rmSync(www, { recursive: true, force: true });
    expect(sh('ip', ['-o', 'link']).includes(testBridge(d.root).name)).toBe(false);
    expect(sh('iptables-save', []).includes(`BERTH-${testBridge(d.root).name}`)).toBe(false);
  });

  it('publishes a port reached from 127.0.0.1, the bridge address and another host (ip netns)', async () => {
    const id = await httpd({ portBindings: { '80/tcp': { bindings: [{ hostIp: '', hostPort: '' }] } } });
    await start(id);
    const ns = (await inspect(id)).networkSettings!;
    expect(ns.bridge).toBe(bridge().name);
    expect(ns.ipAddress.startsWith(bridge().subnet.split('.').slice(0, 3).join('.'))).toBe(true);
    expect(ns.ipPrefixLen).toBe(24);
    const hostPort = ns.ports['80/tcp'].bindings[0].hostPort;
    expect(Number(hostPort)).toBeGreaterThan(49152);
    expect(await eventually(() => httpGet(`http://127.0.0.1:${hostPort}/`))).toBe('hello from berth\n');
    expect(await httpGet(`http://${ns.gateway}:${hostPort}/`)).toBe('hello from berth\n');
    // Another host: a namespace behind a veth of its own, with an address only this test uses.
    const tag = bridge().name.slice(2);
    const nsName = `btns${tag}`;
    const third = 200 + (parseInt(tag.slice(0, 2), 16) % 50);
    const hostAddr = `10.${third}.${parseInt(tag.slice(2, 4), 16)}.1`;
    const peerAddr = hostAddr.replace(/\.1$/, '.2');
    try {
      sh('ip', ['netns', 'add', nsName]);
      sh('ip', ['link', 'add', `bth${tag}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', nsName]);
      sh('ip', ['addr', 'add', `${hostAddr}/30`, 'dev', `bth${tag}`]);
      sh('ip', ['link', 'set', `bth${tag}`, 'up']);
      sh('ip', ['-n', nsName, 'addr', 'add', `${peerAddr}/30`, 'dev', 'eth0']);
      sh('ip', ['-n', nsName, 'link', 'set', 'eth0', 'up']);
      sh('ip', ['-n', nsName, 'link', 'set', 'lo', 'up']);
      // Node as the other host's client (the host's static busybox wget crashes outside a container).
      const get = `require('http').get('http://${hostAddr}:${hostPort}/', (res) => res.pipe(process.stdout)).on('error', (e) => { console.error(String(e)); process.exit(1); })`;
      const r = spawnSync('ip', ['netns', 'exec', nsName, process.execPath, '-e', get], { encoding: 'utf8', timeout: 10_000 });
      expect(r.stdout + r.stderr).toBe('hello from berth\n');
    } finally {
      spawnSync('ip', ['link', 'del', `bth${tag}`]);
      spawnSync('ip', ['netns', 'del', nsName]);
    }
    await remove(id);
  });

  it('a published port is reached through a host address from another container and from its own (hairpin)', async () => {
    // httpd -v logs each client's address to stderr.
    const id = await create(['httpd', '-f', '-v', '-p', '80', '-h', '/www'], { binds: [`${www}:/www:ro`], portBindings: { '80/tcp': { bindings: [{ hostIp: '', hostPort: '' }] } } }, { exposedPorts: ['80/tcp'] });
    await start(id);
    const ns = (await inspect(id)).networkSettings!;
    const hostPort = ns.ports['80/tcp'].bindings[0].hostPort;
    await eventually(() => httpGet(`http://127.0.0.1:${hostPort}/`));
    // busybox nc as the client: the static busybox's wget crashes here.
    const get = ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${ns.gateway} ${hostPort} | tail -n 1`];
    const other = cli(d, ['run', '--rm', 'busybox', ...get]);
    expect(other.stdout + other.stderr).toBe('hello from berth\n');
    const self = cli(d, ['exec', id, ...get]);
    expect(self.stdout + self.stderr).toBe('hello from berth\n');
    // Both came through the host's NAT, so the answer went back the same way: the server saw the gateway.
    // httpd logs a request once it has answered it: the last line may reach the log a moment after nc is done.
    await eventually(async () => {
      const clients = [...(await logsOf(id)).matchAll(/^\[(?:::ffff:)?([\d.]+)\]:\d+: response:200$/gm)].map((m) => m[1]);
      expect(clients.length).toBeGreaterThanOrEqual(3);
      expect(clients.slice(-2)).toEqual([ns.gateway, ns.gateway]);
    });
    await remove(id);
  });

  it('publishes udp, and a fixed port given as -p would', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const id = await create(['/www/udp-echo', '5353'], {
      binds: [`${www}:/www:ro`], portBindings: { '5353/udp': { bindings: [{ hostIp: '127.0.0.1', hostPort: String(port) }] } },
    });
    await start(id);
    const sock = dgram.createSocket('udp4');
    try {
      const reply = await eventually(() => new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no reply')), 300);
        sock.once('message', (m) => { clearTimeout(t); resolve(m.toString()); });
        sock.send('ping', port, '127.0.0.1');
      }));
      expect(reply).toBe('ping');
    } finally {
      sock.close();
    }
    expect((await inspect(id)).networkSettings!.ports['5353/udp'].bindings).toEqual([{ hostIp: '127.0.0.1', hostPort: String(port) }]);
    await remove(id);
  });

  it('links: env in Docker\'s format, and the alias resolves to the linked container', async () => {
    const web = await httpd({}, 'web');
    await start(web);
    const ip = (await inspect(web)).networkSettings!.ipAddress;
    const client = await create(['sh', '-c', 'env | grep ^DB_ | sort; grep -w db /etc/hosts; wget -qO- http://db/'], { links: ['web:db'] }, {}, 'client');
    await start(client);
    await call(d.clients.containers, 'wait', { containerId: client, condition: '' });
    const log = await logsOf(client);
    expect(log).toContain(`DB_ENV_SECRET=s1\nDB_NAME=/client/db\nDB_PORT=tcp://${ip}:80\nDB_PORT_80_TCP=tcp://${ip}:80\nDB_PORT_80_TCP_ADDR=${ip}\nDB_PORT_80_TCP_PORT=80\nDB_PORT_80_TCP_PROTO=tcp\n`);
    expect(log).toContain(`${ip}\tdb `);
    expect(log).toContain('hello from berth\n');
    await remove(client);
    await remove(web);
  });

  it('a link to a container that is not running fails the start and takes nothing', async () => {
    const stopped = await create(['true'], {}, {}, 'stopped');
    await settled();
    const before = footprint();
    const c = await create(['true'], { links: ['stopped:s'] });
    await expect(start(c)).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
    expect(footprint()).toEqual(before);
    await remove(c);
    await remove(stopped);
  });

  it('a host port an exited container held is free for the next start at once', async () => {
    // A free port of the host's, fixed for both containers.
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '0.0.0.0', () => r()));
    const port = String((server.address() as net.AddressInfo).port);
    await new Promise<void>((r) => server.close(() => r()));
    const binding = { portBindings: { '80/tcp': { bindings: [{ hostIp: '', hostPort: port }] } } };
    const first = await httpd(binding);
    await start(first);
    expect(await eventually(() => httpGet(`http://127.0.0.1:${port}/`))).toBe('hello from berth\n');
    await kill(first);
    // Its release runs behind the exit; this start waits for it instead of finding the port taken.
    const second = await httpd(binding);
    await start(second);
    expect(await eventually(() => httpGet(`http://127.0.0.1:${port}/`))).toBe('hello from berth\n');
    await remove(second);
    await remove(first);
  });

  it('a taken host port is ALREADY_EXISTS and nothing is left wired', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '0.0.0.0', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      await settled();
    const before = footprint();
      const id = await httpd({ portBindings: { '80/tcp': { bindings: [{ hostIp: '', hostPort: String(port) }] } } });
      await expect(start(id)).rejects.toMatchObject({ code: status.ALREADY_EXISTS });
      expect((await inspect(id)).state!.running).toBe(false);
      expect(footprint()).toEqual(before);
      await remove(id);
    } finally {
      server.close();
    }
  });

  it('bad input is INVALID_ARGUMENT naming the field', async () => {
    await expect(create(['true'], { portBindings: { '80/tcp': { bindings: [{ hostIp: '', hostPort: '99999' }] } } }))
      .rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining('host_port') });
    await expect(create(['true'], { networkMode: 'bogus' })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining('network_mode') });
    await expect(create(['true'], { networkMode: 'host', links: ['a:b'] })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(create(['true'], {}, { dns: ['not-an-ip'] })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining('config.dns') });
  });

  it('modes: none has only lo, host sees the host\'s bridge, container: shares the other\'s eth0', async () => {
    const run = async (cmd: string, host: Partial<HostConfig>) => {
      const id = await create(['sh', '-c', cmd], host);
      await start(id);
      await call(d.clients.containers, 'wait', { containerId: id, condition: '' });
      const out = await logsOf(id);
      await remove(id);
      return out;
    };
    expect(await run('ls /sys/class/net', { networkMode: 'none' })).toBe('lo\n');
    expect(await run('ls /sys/class/net', { networkMode: 'host' })).toContain(`${bridge().name}\n`);
    const owner = await create(['sleep', '1000']);
    await start(owner);
    const ip = (await inspect(owner)).networkSettings!.ipAddress;
    expect(await run('ip -o -4 addr show eth0', { networkMode: `container:${owner}` })).toContain(`${ip}/24`);
    await remove(owner);
  });

  it('each container in turn has a net namespace of its own (none, bridge), lo up; host mode has the host\'s', async () => {
    // All but the first start take berthd's standby monitor, which makes its container's namespace ahead.
    // They keep running to the end, so no namespace is freed and its number given to the next.
    const probe = 'readlink /proc/self/ns/net; ip -o link show lo | grep -o "<[^>]*>"; ls /sys/class/net | tr "\\n" " "; echo; exec sleep 1000';
    const seen = new Set<string>();
    const ids: string[] = [];
    for (const mode of ['none', 'none', 'bridge', 'none', 'host', 'bridge', 'none']) {
      const id = await create(['sh', '-c', probe], { networkMode: mode });
      ids.push(id);
      await start(id);
      const out = await eventually(async () => {
        const text = await logsOf(id);
        if (text.split('\n').length < 4) throw new Error(`probe output so far: ${JSON.stringify(text)}`);
        return text;
      });
      const [ns, loFlags, links] = out.split('\n');
      if (mode === 'host') {
        expect(ns).toBe(fs.readlinkSync('/proc/self/ns/net'));
        continue;
      }
      expect(ns).toMatch(/^net:\[\d+\]$/);
      expect(seen.has(ns)).toBe(false);
      seen.add(ns);
      expect(loFlags.split(/[<>,]/)).toContain('UP');
      expect(links).toBe(mode === 'none' ? 'lo ' : 'eth0 lo ');
    }
    expect(seen.size).toBe(6);
    for (const id of ids) await remove(id);
  });

  it('--dns and --add-host write resolv.conf and hosts; the container has its own line', async () => {
    const id = await create(['sh', '-c', 'cat /etc/resolv.conf /etc/hosts'], { extraHosts: ['db.local:10.1.2.3'] }, { dns: ['10.9.9.9'], hostname: 'box' });
    await start(id);
    const ip = (await inspect(id)).networkSettings!.ipAddress;
    await call(d.clients.containers, 'wait', { containerId: id, condition: '' });
    const out = await logsOf(id);
    expect(out).toContain('nameserver 10.9.9.9\n');
    expect(out.match(/^nameserver/gm)).toHaveLength(1);
    expect(out).toContain(`${ip}\tbox\n`);
    expect(out).toContain('10.1.2.3\tdb.local\n');
    await remove(id);
  });

  it('CLI: run -p and port', async () => {
    const r = cli(d, ['run', '-d', '-p', '127.0.0.1::80', '-v', `${www}:/www:ro`, '--add-host', 'h.local:10.3.3.3', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/www']);
    expect(r.stderr).toBe('');
    const id = r.stdout.trim();
    const port = cli(d, ['port', id, '80']);
    expect(port.stdout).toMatch(/^127\.0\.0\.1:\d+\n$/);
    expect(await eventually(() => httpGet(`http://${port.stdout.trim()}/`))).toBe('hello from berth\n');
    expect(cli(d, ['port', id]).stdout).toMatch(/^80\/tcp -> 127\.0\.0\.1:\d+\n$/);
    expect(cli(d, ['ps']).stdout).toContain(`127.0.0.1:${port.stdout.trim().split(':')[1]}->80/tcp`);
    const view = JSON.parse(cli(d, ['inspect', id]).stdout) as { NetworkSettings: { IPAddress: string; Ports: Record<string, unknown> } }[];
    expect(view[0].NetworkSettings.IPAddress).toMatch(/^10\.\d+\.\d+\.\d+$/);
    expect(view[0].NetworkSettings.Ports['80/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: port.stdout.trim().split(':')[1] }]);
    await remove(id);
  });

  it('gives running containers distinct IPs, and 50 start/kill cycles leave rules, veths and allocations as they were', async () => {
    const ids = await Promise.all([1, 2, 3, 4, 5].map(() => create(['sleep', '1000'], { publishAllPorts: true }, { exposedPorts: ['80/tcp'] })));
    await Promise.all(ids.map(start));
    const ips = await Promise.all(ids.map(async (id) => (await inspect(id)).networkSettings!.ipAddress));
    expect(new Set(ips).size).toBe(5);
    const ports = await Promise.all(ids.map(async (id) => (await inspect(id)).networkSettings!.ports['80/tcp'].bindings[0].hostPort));
    expect(new Set(ports).size).toBe(5);
    await Promise.all(ids.slice(1).map(remove));
    await settled();
    const before = footprint();
    const cycler = await create(['sleep', '1000'], { portBindings: { '81/tcp': { bindings: [{ hostIp: '', hostPort: '' }] } } });
    for (let i = 0; i < 50; i++) {
      await start(cycler);
      await kill(cycler);
    }
    // An exit releases the network behind it: the rules, the veth, then the allocation.
    await settled();
    expect(footprint()).toEqual(before);
    await remove(cycler);
    await remove(ids[0]);
  }, 60_000);

  it('a running container keeps its network across a daemon restart; a crash leaves nothing behind', async () => {
    const id = await httpd({ portBindings: { '80/tcp': { bindings: [{ hostIp: '', hostPort: '' }] } } });
    await start(id);
    const port = (await inspect(id)).networkSettings!.ports['80/tcp'].bindings[0].hostPort;
    const root = d.root;
    await stopDaemon(d);
    expect(await eventually(() => httpGet(`http://127.0.0.1:${port}/`))).toBe('hello from berth\n');
    d = await startDaemon(root);
    expect(await httpGet(`http://127.0.0.1:${port}/`)).toBe('hello from berth\n');
    expect((await inspect(id)).networkSettings!.ports['80/tcp'].bindings[0].hostPort).toBe(port);
    // Crash: the daemon dies, then the container; the next daemon finds its network held and releases it.
    const pid = (await inspect(id)).state!.pid;
    d.process.kill('SIGKILL');
    await new Promise((r) => d.process.once('exit', r));
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && fs.existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 20));
    d = await startDaemon(root);
    const f = footprint();
    expect(f.rules).not.toContain(`berth:${id.slice(0, 24)}`);
    expect(f.veths).not.toContain(`vb${id.slice(0, 12)}`);
    expect(f.allocations).not.toHaveProperty(id);
    await remove(id);
  }, 30_000);
});
