/**
 * Address lists (N1 Client IP Addresses, N3 listener Grant/Deny, N4 PROXY sources): entries are
 * addresses, CIDR ranges or dash ranges, IPv4 and IPv6, compiled once into a matcher. IPv4 clients
 * seen through a dual-stack socket (::ffff:a.b.c.d) match IPv4 entries.
 */
import ipaddr from 'ipaddr.js';

type Range =
  | { kind: 'cidr'; net: ipaddr.IPv4 | ipaddr.IPv6; bits: number }
  | { kind: 'span'; family: 'ipv4' | 'ipv6'; lo: bigint; hi: bigint };

function toBig(a: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  return a.toByteArray().reduce((n, b) => (n << 8n) | BigInt(b), 0n);
}

/** Parses a client address as Node reports it; null for anything that is not an IP address. */
export function parseAddress(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  try {
    const a = ipaddr.parse(ip.trim());
    return a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress() ? (a as ipaddr.IPv6).toIPv4Address() : a;
  } catch {
    return null;
  }
}

export class AddressList {
  private readonly ranges: Range[] = [];

  /** Entries were checked by the settings codec; one that still fails to parse is a bug there. */
  constructor(readonly entries: readonly string[]) {
    for (const e of entries) {
      const v = e.trim();
      if (v.includes('/')) {
        const [net, bits] = ipaddr.parseCIDR(v);
        const n = net.kind() === 'ipv6' && (net as ipaddr.IPv6).isIPv4MappedAddress() ? (net as ipaddr.IPv6).toIPv4Address() : net;
        this.ranges.push({ kind: 'cidr', net: n, bits: n === net ? bits : Math.max(0, bits - 96) });
      } else if (v.includes('-')) {
        const [a, b] = v.split('-').map((x) => parseAddress(x)) as [ipaddr.IPv4 | ipaddr.IPv6, ipaddr.IPv4 | ipaddr.IPv6];
        const [lo, hi] = [toBig(a), toBig(b)].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)) as [bigint, bigint];
        this.ranges.push({ kind: 'span', family: a.kind(), lo, hi });
      } else {
        const a = parseAddress(v);
        if (a) this.ranges.push({ kind: 'cidr', net: a, bits: a.kind() === 'ipv4' ? 32 : 128 });
      }
    }
  }

  get empty(): boolean { return this.ranges.length === 0; }

  matches(ip: string): boolean {
    // Most lists are empty (Deny, ProxyFrom): no address parse per connection for them.
    if (this.ranges.length === 0) return false;
    const a = parseAddress(ip);
    if (!a) return false;
    for (const r of this.ranges) {
      if (r.kind === 'cidr') {
        if (r.net.kind() === a.kind() && (a as ipaddr.IPv4).match(r.net as ipaddr.IPv4, r.bits)) return true;
      } else if (r.family === a.kind()) {
        const n = toBig(a);
        if (n >= r.lo && n <= r.hi) return true;
      }
    }
    return false;
  }
}

/** N2: "the Server computer itself" — loopback addresses always count as client addresses. */
export function isLoopback(ip: string): boolean {
  const a = parseAddress(ip);
  return a !== null && a.range() === 'loopback';
}
