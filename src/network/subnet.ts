// IPv4 subnets as numbers: parse "10.88.0.0/16", the gateway, and the addresses containers may take.
import { isIPv4 } from 'node:net';
import { invalidArgument } from '../errors';

export interface Subnet {
  /** The network address as an unsigned 32-bit number. */
  base: number;
  prefixLen: number;
}

export function ipToNumber(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

export function numberToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export function parseSubnet(text: string, field = 'bridge-subnet'): Subnet {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  if (!m || !isIPv4(m[1])) throw invalidArgument(field, text, 'expected an IPv4 CIDR such as 10.88.0.0/16');
  const prefixLen = Number(m[2]);
  if (prefixLen < 8 || prefixLen > 29) throw invalidArgument(field, text, 'the prefix length must be 8 to 29');
  const size = 2 ** (32 - prefixLen);
  const base = ipToNumber(m[1]) - (ipToNumber(m[1]) % size);
  return { base, prefixLen };
}

export function subnetText(s: Subnet): string {
  return `${numberToIp(s.base)}/${s.prefixLen}`;
}

/** The bridge's own address: the first host address, as Docker's docker0. */
export function gatewayOf(s: Subnet): string {
  return numberToIp(s.base + 1);
}

/** Addresses a container may get: all but the network, the gateway and the broadcast. */
export function hostRange(s: Subnet): { first: number; last: number } {
  return { first: s.base + 2, last: s.base + 2 ** (32 - s.prefixLen) - 2 };
}

export function contains(s: Subnet, ip: string): boolean {
  const n = ipToNumber(ip);
  return n >= s.base && n < s.base + 2 ** (32 - s.prefixLen);
}
