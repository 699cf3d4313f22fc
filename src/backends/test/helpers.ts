/**
 * Test helpers for the backend relays: a directory double that answers domain and server
 * settings from plain dictionaries (through the real schema resolution), connection facts, and
 * a tiny line client for talking through a returned backend socket.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { resolveDomain, resolveServer } from '../../settings/effective.js';
import type { CgValue } from '../../settings/format/types.js';
import type { ConnectionInfo } from '../../protocols/common/session.js';
import type { BackendRequest } from '../connector.js';
import type { ConnectorOptions } from '../default-connector.js';
import { LineChannel } from '../wire.js';

export function fakeDirectory(domains: Record<string, Record<string, CgValue>>, server: Record<string, CgValue> = {}): ConnectorOptions['directory'] {
  return {
    domainSettings: async (d: string) => resolveDomain(domains[d] ?? null, `Domains/${d}`),
    serverSettings: async () => resolveServer(server),
  };
}

let sessions = 0;
export function clientInfo(remoteAddress = '192.0.2.10', extra: Partial<ConnectionInfo> = {}): ConnectionInfo {
  sessions += 1;
  return {
    id: `test${sessions}`, service: 'IMAP', remoteAddress, remotePort: 40000 + sessions,
    localAddress: '127.0.0.1', localPort: 1143, secure: true, clearTextLogin: 'always', startTlsAvailable: false, ...extra,
  };
}

export function request(service: BackendRequest['service'], user = 'alice', opts: { password?: string; remote?: string; helo?: string } = {}): BackendRequest {
  const r: BackendRequest = {
    service,
    login: { status: 'ok', account: user, domain: 'example.com', source: 'own' },
    client: clientInfo(opts.remote, { service }),
  };
  if (opts.password !== undefined) r.password = Buffer.from(opts.password);
  if (opts.helo !== undefined) r.helo = opts.helo;
  return r;
}

/** Talks line by line through a socket the connector returned (its pending bytes first). */
export class LineClient {
  readonly ch: LineChannel;
  constructor(socket: Socket | TLSSocket, pending?: Buffer) {
    this.ch = new LineChannel(socket, pending);
    socket.resume();
  }

  async line(timeoutMs = 5000): Promise<string> {
    const r = await this.ch.readLine(Date.now() + timeoutMs);
    if (!r.ok) throw new Error(`read: ${r.reason}`);
    return r.line;
  }

  /** Sends an IMAP command; returns every line up to and including the tagged one. */
  async imap(tag: string, command: string): Promise<string[]> {
    await this.ch.write(`${tag} ${command}\r\n`);
    const out: string[] = [];
    for (;;) {
      const l = await this.line();
      out.push(l);
      if (l.startsWith(`${tag} `)) return out;
    }
  }

  /** Sends a POP3 command; returns the status line, and for multi-line answers the lines up to ".". */
  async pop3(command: string, multi = false): Promise<string[]> {
    await this.ch.write(`${command}\r\n`);
    const first = await this.line();
    if (!multi || !first.startsWith('+OK')) return [first];
    const out = [first];
    for (;;) {
      const l = await this.line();
      if (l === '.') return out;
      out.push(l);
    }
  }

  close(): void {
    this.ch.destroy();
  }
}
