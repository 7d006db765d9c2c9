// The per-container /etc/hostname, /etc/hosts and /etc/resolv.conf, with Docker's contents.

export function hostnameFile(hostname: string): string {
  return `${hostname}\n`;
}

/** What a container on a network adds: its own address, then links and --add-host entries ([ip, names]). */
export interface HostsExtras {
  ip?: string;
  entries?: [string, string][];
}

/** Docker's /etc/hosts: with an IP the container's name points at it, else (loopback only) at 127.0.1.1. */
export function hostsFile(hostname: string, domainname: string, extras: HostsExtras = {}): string {
  const fqdn = domainname ? `${hostname}.${domainname} ${hostname}` : hostname;
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    // With loopback only, the container's own name points at loopback so it resolves itself.
    `${extras.ip ?? '127.0.1.1'}\t${fqdn}`,
    ...(extras.entries ?? []).map(([addr, names]) => `${addr}\t${names}`),
    '',
  ].join('\n');
}

const DEFAULT_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

/**
 * The host's resolv.conf without loopback nameservers (they mean nothing in another network
 * namespace); Google's public servers when none remain, as Docker does.
 */
export function resolvConfFile(hostText: string, dns: string[] = []): string {
  const lines = hostText.split('\n');
  // --dns replaces the host's nameservers; its search and options lines stay (as Docker).
  const dropped = dns.length ? /^\s*nameserver\s/ : /^\s*nameserver\s+(127\.|::1\s*$|::1$)/;
  const kept = [lines.filter((l) => !dropped.test(l)).join('\n').trim(), ...dns.map((d) => `nameserver ${d}`)].filter(Boolean);
  const hasServer = kept.some((l) => /^\s*nameserver\s+/m.test(l));
  const body = kept.join('\n');
  const servers = hasServer ? '' : DEFAULT_NAMESERVERS.map((s) => `nameserver ${s}`).join('\n');
  return `${[body, servers].filter(Boolean).join('\n')}\n`;
}
