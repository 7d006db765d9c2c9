// The per-container /etc/hostname, /etc/hosts and /etc/resolv.conf, with Docker's contents.

export function hostnameFile(hostname: string): string {
  return `${hostname}\n`;
}

/** Docker's /etc/hosts for a container with no network but loopback. */
export function hostsFile(hostname: string, domainname: string): string {
  const fqdn = domainname ? `${hostname}.${domainname} ${hostname}` : hostname;
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    // With loopback only, the container's own name points at loopback so it resolves itself.
    `127.0.1.1\t${fqdn}`,
    '',
  ].join('\n');
}

const DEFAULT_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

/**
 * The host's resolv.conf without loopback nameservers (they mean nothing in another network
 * namespace); Google's public servers when none remain, as Docker does.
 */
export function resolvConfFile(hostText: string): string {
  const lines = hostText.split('\n');
  const kept = lines.filter((l) => !/^\s*nameserver\s+(127\.|::1\s*$|::1$)/.test(l));
  const hasServer = kept.some((l) => /^\s*nameserver\s+/.test(l));
  const body = kept.join('\n').trim();
  const servers = hasServer ? '' : DEFAULT_NAMESERVERS.map((s) => `nameserver ${s}`).join('\n');
  return `${[body, servers].filter(Boolean).join('\n')}\n`;
}
