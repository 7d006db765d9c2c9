// The bridge and our iptables chains: made at daemon start when missing, torn down only on request.
// nat BERTH-<bridge> (published ports, from PREROUTING and OUTPUT for local addresses),
// nat BERTH-POST-<bridge> (outbound masquerade, loopback and hairpin to containers), filter BERTH-FWD-<bridge>.
import fsp from 'node:fs/promises';
import { ip, iptables, run, sysctl, tryRun } from './host-commands';
import { gatewayOf, subnetText, type Subnet } from './subnet';

export interface BridgeChains {
  dnat: string;
  post: string;
  forward: string;
}

export function chainsOf(bridge: string): BridgeChains {
  return { dnat: `BERTH-${bridge}`, post: `BERTH-POST-${bridge}`, forward: `BERTH-FWD-${bridge}` };
}

/** A rule in place once: -C first, then append. */
async function ensureRule(table: string, chain: string, rule: string[], insert = false): Promise<void> {
  if (await tryRun('iptables', ['-w', '-t', table, '-C', chain, ...rule])) return;
  await iptables('-t', table, insert ? '-I' : '-A', chain, ...(insert ? ['1'] : []), ...rule);
}

async function ensureChain(table: string, chain: string): Promise<void> {
  if (!(await tryRun('iptables', ['-w', '-t', table, '-n', '-L', chain]))) await iptables('-t', table, '-N', chain);
}

/** Creates (or completes) the bridge with the gateway address, forwarding and the chains; returns its MTU. */
export async function ensureBridge(bridge: string, subnet: Subnet): Promise<number> {
  if (!(await tryRun('ip', ['link', 'show', 'dev', bridge]))) await ip('link', 'add', 'name', bridge, 'type', 'bridge');
  const gw = `${gatewayOf(subnet)}/${subnet.prefixLen}`;
  const addrs = await ip('-o', '-4', 'addr', 'show', 'dev', bridge);
  if (!addrs.includes(` ${gw} `)) await ip('addr', 'add', gw, 'dev', bridge);
  await ip('link', 'set', 'dev', bridge, 'up');
  await sysctl('net.ipv4.ip_forward', '1');
  // Lets the host's own 127.0.0.1 reach published ports: those packets leave through the bridge.
  await sysctl(`net.ipv4.conf.${bridge}.route_localnet`, '1');
  const c = chainsOf(bridge);
  await ensureChain('nat', c.dnat);
  await ensureChain('nat', c.post);
  await ensureChain('filter', c.forward);
  await ensureRule('nat', 'PREROUTING', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', c.dnat]);
  await ensureRule('nat', 'OUTPUT', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', c.dnat]);
  await ensureRule('nat', 'POSTROUTING', ['-j', c.post]);
  await ensureRule('filter', 'FORWARD', ['-j', c.forward], true);
  const net = subnetText(subnet);
  await ensureRule('nat', c.post, ['-s', net, '!', '-o', bridge, '-j', 'MASQUERADE']);
  await ensureRule('nat', c.post, ['-s', '127.0.0.0/8', '-o', bridge, '-j', 'MASQUERADE']);
  // A container reaching a published port through a host address (its own port too: the hairpin, with the
  // veth's hairpin mode) is answered through the DNAT only if the reply comes back to the host: so the server
  // sees the gateway, as Docker's userland proxy makes it see. Without br_netfilter the reply to another
  // container would go straight across the bridge, from an address the client never called.
  await ensureRule('nat', c.post, ['-s', net, '-d', net, '-o', bridge, '-m', 'conntrack', '--ctstate', 'DNAT', '-j', 'MASQUERADE']);
  await ensureRule('filter', c.forward, ['-i', bridge, '-j', 'ACCEPT']);
  await ensureRule('filter', c.forward, ['-o', bridge, '-j', 'ACCEPT']);
  return Number((await fsp.readFile(`/sys/class/net/${bridge}/mtu`, 'utf8')).trim()) || 1500;
}

/** Removes the bridge and its chains (tests, and an operator's cleanup); what is gone already is skipped. */
export async function removeBridge(bridge: string): Promise<void> {
  const c = chainsOf(bridge);
  const hooks: [string, string, string[]][] = [
    ['nat', 'PREROUTING', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', c.dnat]],
    ['nat', 'OUTPUT', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', c.dnat]],
    ['nat', 'POSTROUTING', ['-j', c.post]],
    ['filter', 'FORWARD', ['-j', c.forward]],
  ];
  for (const [table, chain, rule] of hooks) while (await tryRun('iptables', ['-w', '-t', table, '-D', chain, ...rule]));
  for (const [table, chain] of [['nat', c.dnat], ['nat', c.post], ['filter', c.forward]]) {
    await tryRun('iptables', ['-w', '-t', table, '-F', chain]);
    await tryRun('iptables', ['-w', '-t', table, '-X', chain]);
  }
  await tryRun('ip', ['link', 'del', 'dev', bridge]);
}

/** The rules of one chain as `iptables -S` prints them (without the -N line). */
export async function listRules(table: string, chain: string): Promise<string[]> {
  const out = await run('iptables', ['-w', '-t', table, '-S', chain]).catch(() => '');
  return out.split('\n').filter((l) => l.startsWith('-A '));
}

/** Deletes every rule of the chain whose comment matches; returns the comments it saw. */
export async function deleteTagged(table: string, chain: string, match: (tag: string) => boolean): Promise<void> {
  for (const line of await listRules(table, chain)) {
    const tag = /--comment "?([^"\s]+)"?/.exec(line)?.[1];
    if (!tag || !match(tag)) continue;
    const args = line.replace(/"/g, '').split(/\s+/).slice(1);
    await tryRun('iptables', ['-w', '-t', table, '-D', ...args]);
  }
}
