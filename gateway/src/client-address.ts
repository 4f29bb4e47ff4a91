import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';

/**
 * The address a rate limit counts a client by. X-Forwarded-For is believed only as far as `trustedProxyHops`
 * proxies of ours appended to it: any client can send the header, so by default (0) the socket's peer is the client.
 */
export function clientAddressOf(request: IncomingMessage, trustedProxyHops: number): string {
  const peer = request.socket.remoteAddress ?? 'unknown';
  if (trustedProxyHops === 0) return addressKey(peer);
  const header = request.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((entry) => entry.trim()).filter(Boolean);
  // Each trusted proxy appended the address it saw; the one the outermost appended is the client. A shorter list
  // means a proxy was bypassed or sent nothing: its first entry is then as far as anyone vouches for.
  const client = forwarded.length >= trustedProxyHops ? forwarded[forwarded.length - trustedProxyHops] : forwarded[0];
  return addressKey(client ?? peer);
}

/**
 * IPv4 as it is (also when Node reports it IPv4-mapped, `::ffff:1.2.3.4`); IPv6 by its /64, since one subscriber is
 * usually handed a whole /64 and could otherwise take a fresh address for every request.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (!isIPv6(address)) return address;
  return `${expandIPv6(address).slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('%')[0]!.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  return [...headGroups, ...Array.from({ length: missing }, () => '0'), ...tailGroups].map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''));
}
