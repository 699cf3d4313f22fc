/**
 * The HTTP listeners of one service (HTTPA for WebAdmin, HTTPU for WebUser): plain TCP servers,
 * one per ListenerConfig, that apply Grant/Deny (N3) before any byte is sent, take the client
 * address from a PROXY header only from the configured ProxyFrom addresses (N4), run the TLS
 * handshake through the shared resolver (T4, T8: the certificate is picked per connection by SNI
 * and local address), and hand the connection to the service's `http.Server` with
 * `server.emit('connection', socket)`. The http server itself never listens.
 *
 * Changes to the listener list apply without a restart: `apply()` opens the new listeners, closes
 * the ones no longer configured, and leaves unchanged ones (and their open connections) alone.
 */
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { AddressList } from '../../access/addresses.js';
import { logger } from '../../core/log.js';
import { grantDecision } from '../../protocols/common/listener.js';
import { PROXY_HEADER_TIMEOUT_MS, readProxyHeader } from '../../protocols/common/proxy-protocol.js';
import type { ListenerConfig } from '../../settings/schema.js';
import type { TlsContextResolver } from '../../tls/context.js';
import { normalizeAddress } from '../../tls/context.js';

const log = logger('HTTP');

export type WebService = 'HTTPA' | 'HTTPU';

/** What a page knows about its connection: the client address every rule uses (after PROXY),
 *  the local address it reached, and whether the link is TLS. */
export interface ConnInfo {
  service: WebService;
  client: string;
  local: string;
  secure: boolean;
  /** The listener's ClearTextLogin: 'tls-only' refuses a password typed into a page over a clear
   *  link from anywhere but the server itself (A8 for the web). */
  clearTextLogin: ListenerConfig['ClearTextLogin'];
  /** The domain whose certificate the TLS handshake chose (T8), for the WebUser login page. */
  tlsDomain?: string;
}

const infos = new WeakMap<object, ConnInfo>();

/** The connection facts of a request, or null when it did not arrive through a listener here
 *  (which never happens outside tests; pages refuse to work without them). */
export function connectionOf(req: IncomingMessage): ConnInfo | null {
  return infos.get(req.socket) ?? null;
}

/** Open connections per listener: each costs a socket and, for TLS, an OpenSSL object; an
 *  administrator's browser uses a handful, so 1024 leaves room for many without letting a flood
 *  of idle connections exhaust file descriptors. */
export const HTTP_MAX_CONNECTIONS = 1024;

export interface ListenerAddress { address: string; port: number; tls: ListenerConfig['TLS'] }

interface Running { key: string; config: ListenerConfig; server: NetServer; grant: AddressList; deny: AddressList; proxyFrom: AddressList }

export class WebListeners {
  private running: Running[] = [];
  private readonly sockets = new Set<Socket>();

  constructor(private readonly opts: {
    service: WebService;
    http: HttpServer;
    resolver: TlsContextResolver;
  }) {}

  /** The addresses actually bound (with the real port when 0 was configured), in config order. */
  addresses(): ListenerAddress[] {
    return this.running.map((r) => {
      const a = r.server.address() as AddressInfo | null;
      return { address: a?.address ?? r.config.Address, port: a?.port ?? r.config.Port, tls: r.config.TLS };
    });
  }

  /**
   * Makes the running listeners match `configs`. Returns one problem per listener that could not
   * be opened (port in use, address not local); the others run. A listener whose config did not
   * change keeps running.
   */
  async apply(configs: readonly ListenerConfig[]): Promise<string[]> {
    const problems: string[] = [];
    const wanted = configs.map((c) => ({ key: JSON.stringify(c), config: c }));
    const keep: Running[] = [];
    for (const r of this.running) {
      const i = wanted.findIndex((w) => w.key === r.key);
      if (i >= 0) { keep.push(r); wanted.splice(i, 1); } else await closeServer(r.server);
    }
    for (const w of wanted) {
      const tls = w.config.TLS;
      if (tls === 'starttls') {
        // HTTP has no upgrade command: a web listener is TLS from the first byte or clear.
        log.problem('http.listener.starttls', { service: this.opts.service, port: w.config.Port, note: 'served as implicit TLS' });
      }
      const r: Running = {
        key: w.key, config: w.config,
        server: createServer({ pauseOnConnect: true }),
        grant: new AddressList(w.config.Grant), deny: new AddressList(w.config.Deny), proxyFrom: new AddressList(w.config.ProxyFrom),
      };
      r.server.maxConnections = HTTP_MAX_CONNECTIONS;
      r.server.on('connection', (s: Socket) => { void this.onConnection(r, s); });
      try {
        await new Promise<void>((resolve, reject) => {
          r.server.once('error', reject);
          r.server.listen(w.config.Port, w.config.Address, () => { r.server.off('error', reject); resolve(); });
        });
        r.server.on('error', (e) => log.problem('http.listener.error', { service: this.opts.service, error: e }));
        keep.push(r);
        const a = r.server.address() as AddressInfo;
        log.major('http.listening', { service: this.opts.service, address: a.address, port: a.port, tls });
      } catch (e) {
        problems.push(`${this.opts.service} ${w.config.Address}:${w.config.Port}: ${(e as Error).message}`);
        log.failure('http.listener.failed', { service: this.opts.service, address: w.config.Address, port: w.config.Port, error: e });
      }
    }
    // Keep config order, so addresses() lines up with the configuration the caller gave.
    this.running = configs.map((c) => keep.find((r) => r.key === JSON.stringify(c))).filter((r): r is Running => r !== undefined);
    return problems;
  }

  private async onConnection(r: Running, socket: Socket): Promise<void> {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const peer = normalizeAddress(socket.remoteAddress ?? '') ?? '';
    let client = peer;
    let local = normalizeAddress(socket.localAddress ?? '') ?? '';
    if (!r.proxyFrom.empty && r.proxyFrom.matches(peer)) {
      const h = await readProxyHeader(socket, PROXY_HEADER_TIMEOUT_MS);
      if (h.status !== 'ok') {
        log.info('http.proxy.failed', { service: this.opts.service, via: peer, error: h.status === 'error' ? h.error : h.status });
        socket.destroy();
        return;
      }
      // A LOCAL header (a health check) keeps the real endpoints: the proxy's own.
      if (h.header.command === 'proxy') {
        client = normalizeAddress(h.header.source.address) ?? client;
        local = normalizeAddress(h.header.destination.address) ?? local;
      }
    }
    // N3: before any byte is sent.
    if (grantDecision(r, client) !== 'granted') {
      log.info('http.refused', { service: this.opts.service, remote: client, reason: 'grant/deny' });
      socket.destroy();
      return;
    }
    const base = { service: this.opts.service, client, local, clearTextLogin: r.config.ClearTextLogin };
    if (r.config.TLS === 'clear') {
      infos.set(socket, { ...base, secure: false });
      socket.resume();
      this.opts.http.emit('connection', socket);
      return;
    }
    const res = await this.opts.resolver.accept(socket, { localAddress: local });
    if (res.status !== 'ok') return; // the resolver logged it and destroyed the socket
    infos.set(res.socket, { ...base, secure: true, tlsDomain: res.domain });
    this.sockets.add(res.socket);
    res.socket.once('close', () => this.sockets.delete(res.socket));
    this.opts.http.emit('connection', res.socket);
  }

  async close(): Promise<void> {
    const servers = this.running.map((r) => r.server);
    this.running = [];
    for (const s of this.sockets) s.destroy();
    await Promise.all(servers.map(closeServer));
  }
}

function closeServer(s: NetServer): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}
