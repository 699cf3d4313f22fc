/**
 * Relay-loop guard (B1). A domain whose backend points back at Mailward itself (a typo, a DNS
 * name that now resolves to this host, a load balancer in front of both) would make every login
 * open another connection to ourselves, each of which logs in again: a fork bomb of sockets.
 * Two independent checks stop it:
 *   1. before connecting, the backend's resolved address and port are compared with our own
 *      listeners (a wildcard listener matches every local interface address);
 *   2. after connecting, the backend's greeting is searched for our banner token (catches loops
 *      through NAT, port forwards or another host name that check 1 cannot see).
 */
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import ipaddr from 'ipaddr.js';

/** A DNS answer slower than this is treated as the backend being unavailable: resolution is
 *  part of the connect budget, and a stuck resolver must not hold a client. */
export const BACKEND_DNS_TIMEOUT_MS = 5000;

/** Token every Mailward greeting of this process carries (IMAP, POP3 and SMTP): random per
 *  process, so it says nothing about the installation, and short enough to fit any greeting. */
const TOKEN = `mw-${randomBytes(6).toString('hex')}`;
export function bannerToken(): string {
  return TOKEN;
}

export interface ListenAddress { address: string; port: number }

function normalize(a: string): string {
  try {
    const p = ipaddr.parse(a);
    // An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is the IPv4 address.
    if (p.kind() === 'ipv6' && (p as ipaddr.IPv6).isIPv4MappedAddress()) return (p as ipaddr.IPv6).toIPv4Address().toString();
    return p.toNormalizedString();
  } catch {
    return a.toLowerCase();
  }
}

function isUnspecified(a: string): boolean {
  const n = normalize(a);
  return n === '0.0.0.0' || n === '0:0:0:0:0:0:0:0';
}

/** Every address of this host: loopback ranges and the interfaces' addresses. */
function isLocalAddress(a: string): boolean {
  const n = normalize(a);
  try {
    const p = ipaddr.parse(n);
    if (p.range() === 'loopback' || p.range() === 'unspecified') return true;
  } catch {
    return false;
  }
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) if (normalize(i.address) === n) return true;
  }
  return false;
}

/** True when connecting to `address:port` would reach one of our own listeners. */
export function pointsAtListener(address: string, port: number, listeners: readonly ListenAddress[]): boolean {
  for (const l of listeners) {
    if (l.port !== port) continue;
    if (isUnspecified(l.address) ? isLocalAddress(address) : normalize(l.address) === normalize(address)) return true;
  }
  return false;
}

/** The greeting carries our own token: we are talking to ourselves. */
export function greetingIsOurs(greeting: string, token = bannerToken()): boolean {
  return greeting.includes(token);
}

export type Resolution = { ok: true; addresses: string[] } | { ok: false; reason: string };

/** The configured host when it is an IP literal (bare, or an IPv6 one in brackets): no DNS. */
export function literalBackend(host: string): string | null {
  const literal = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIP(literal) ? literal : null;
}

/** Resolves the configured host (an IP literal is used as it is), within the DNS time-out. */
export async function resolveBackend(host: string, timeoutMs = BACKEND_DNS_TIMEOUT_MS): Promise<Resolution> {
  const ip = literalBackend(host);
  if (ip !== null) return { ok: true, addresses: [ip] };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Resolution>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: `dns: time-out resolving ${host}` }), timeoutMs);
  });
  const answer = lookup(host, { all: true, verbatim: true }).then(
    (list): Resolution => (list.length > 0 ? { ok: true, addresses: list.map((x) => x.address) } : { ok: false, reason: `dns: no address for ${host}` }),
    (e: unknown): Resolution => ({ ok: false, reason: `dns: ${e instanceof Error ? e.message : String(e)}` }),
  );
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
