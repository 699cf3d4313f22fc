/**
 * The listeners of one service (N3, N4, T1): they own every client socket, and drive a protocol
 * session (session.ts) that never touches one.
 *
 * ## Use (main.ts)
 * ```ts
 * const imap = new ListenerSet({ service: 'IMAP', tls: resolver,
 *   sessionFactory: (info) => new ImapSession(info, deps) });
 * const problems = await imap.update(settings.Listeners.IMAP); // opens them; [] when all bound
 * imap.bound();                  // [{ address, port, tls, ... }] - real ports, also for Port 0
 * await imap.update(newConfigs); // settings changed: opens/closes listeners, keeps connections
 * await imap.close();            // stop listening; `{ connections: 'destroy' }` also drops them
 * ```
 *
 * ## Per connection, in this order
 * 1. From a ProxyFrom address, the PROXY header is REQUIRED before anything else (N4), within
 *    PROXY_HEADER_TIMEOUT_MS; a bad or missing header drops the connection. From any other
 *    address it is never parsed: a PROXY line is then just a bad command to the session.
 *    From here on, the carried client address is the connection's address for every rule.
 * 2. Grant/Deny (N3): an empty Grant grants every address; Deny wins over Grant. A refused
 *    connection is destroyed before a single byte is sent. (Sockets start paused, so we do not
 *    even read from a refused client.)
 * 3. The per-IP limit on open connections (IPv6 counted per /64).
 * 4. Implicit TLS: `resolver.accept` (the certificate is chosen by SNI or by the address the
 *    client connected to - the PROXY destination when there is one).
 * 5. The session gets its ConnectionInfo (the same object for its whole life: the listener sets
 *    `secure`, `tls` and `startTlsAvailable` on it at STARTTLS) and is driven: its effects run in
 *    order, writes wait for the socket to drain, and input is not read while it works.
 *
 * STARTTLS (T1): the replies before it are flushed, then every byte already received - in our
 * line buffer and in the socket's - is DISCARDED before the handshake starts, so a command
 * pipelined after STARTTLS ("STARTTLS\r\nEVIL\r\n") never reaches the session; a byte that
 * arrives later is fed to the TLS handshake, which then fails. The session then starts over
 * (`onTlsStarted`). Effects listed after `starttls` in the same batch run after the handshake,
 * before those of `onTlsStarted`.
 *
 * Relay: the preface is written, anything the client pipelined after its login goes to the
 * backend first, then both sockets are piped into each other (back-pressure by `pipe`, no copy
 * per chunk), half-closes are passed on, and an error on either side tears down both.
 *
 * Nothing on a socket can crash the process: every socket has an error handler, and every
 * exception of a session is caught, logged under the service's module tag, and ends only that
 * connection.
 */
import { randomBytes } from 'node:crypto';
import { createServer, isIPv4, type AddressInfo, type Server, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import ipaddr from 'ipaddr.js';
import { logger, type Logger, type LogModule } from '../../core/log.js';
import { AddressList } from '../../access/addresses.js';
import { readPortOf, type ReadPort } from '../../backends/wire.js';
import type { ListenerConfig } from '../../settings/schema.js';
import { normalizeAddress, type TlsContextResolver } from '../../tls/context.js';
import { INPUT_LIMITS, LineReader, type InputLimits, type ReaderItem } from './line-reader.js';
import { PROXY_HEADER_TIMEOUT_MS, readProxyHeader, type ProxyHeader } from './proxy-protocol.js';
import type { ConnectionInfo, Effect, ProtocolSession, ServiceName, SessionFactory } from './session.js';
import { tlsInfo } from './tls-info.js';

/** Pre-authentication idle time-out: a client that sends no complete command for this long is
 *  told so and dropped. Long enough for a person in a telnet session or a client waiting on a
 *  password dialog; short enough that idle unauthenticated sockets (slowloris) do not pile up.
 *  (RFC 9051 §5.4's 30 minutes applies to authenticated sessions, which are relayed.) */
export const PRE_AUTH_IDLE_TIMEOUT_MS = 120_000;

/** Open connections per client address and service. Mail clients open several per account
 *  (Thunderbird up to 5 for IMAP, plus IDLE), people have several devices, and offices share one
 *  NAT address; 50 allows all of that and stops one address from taking every slot. */
export const MAX_CONNECTIONS_PER_IP = 50;

/** IPv6 clients are counted per /64: one host is normally given a whole /64 and can pick a new
 *  address in it for every connection. */
export const PER_IP_IPV6_PREFIX_BITS = 64;

/** After we close (FIN sent), how long a client may take to close its side before the socket is
 *  destroyed: enough for the last reply to be read, and bounded so a peer that never closes
 *  does not hold the socket. */
export const CLOSE_LINGER_MS = 5_000;

/** TCP keep-alive on client sockets: finds clients that vanished without a FIN (a laptop that
 *  went to sleep), which would otherwise hold relayed connections - with no idle time-out after
 *  login - for ever. */
export const TCP_KEEPALIVE_MS = 60_000;

/** Length of the random session id in bytes (base64url: 8 characters). Unique enough to tell
 *  connections apart in the logs; not a secret. */
const SESSION_ID_BYTES = 6;

/** Session ids are cut from a pool of random bytes refilled this many ids at a time: one
 *  randomBytes call per connection showed in the accept path's profile (bench/worklog.md), and
 *  the ids are not secrets. */
const SESSION_ID_POOL = 1024;
let idPool: Buffer = Buffer.alloc(0);
let idAt = 0;

function sessionId(): string {
  if (idAt + SESSION_ID_BYTES > idPool.length) {
    idPool = randomBytes(SESSION_ID_BYTES * SESSION_ID_POOL);
    idAt = 0;
  }
  const id = idPool.toString('base64url', idAt, idAt + SESSION_ID_BYTES);
  idAt += SESSION_ID_BYTES;
  return id;
}

/** The kernel reports IPv4 peers as canonical dotted quads, which is what normalizeAddress would
 *  return for them: only other forms (IPv6, IPv4-mapped) need parsing. Every accept does this
 *  twice, and ipaddr.js parsing showed in the profile (bench/worklog.md). */
function socketAddress(a: string): string | null {
  return isIPv4(a) ? a : normalizeAddress(a);
}

export interface ListenerLimits extends InputLimits {
  idleTimeoutMs: number;
  perIpLimit: number;
  proxyHeaderTimeoutMs: number;
  closeLingerMs: number;
  /** Passed to resolver.accept; undefined: the resolver's own (TLS_HANDSHAKE_TIMEOUT_MS). */
  tlsHandshakeTimeoutMs?: number;
}

export interface ListenerSetOptions {
  service: ServiceName;
  sessionFactory: SessionFactory;
  tls: TlsContextResolver;
  limits?: Partial<ListenerLimits>;
}

export interface BoundListener {
  /** The configured address and port (Port 0: any free port). */
  config: ListenerConfig;
  address: string;
  /** The port actually bound. */
  port: number;
}

export interface ListenerProblem {
  address: string;
  port: number;
  message: string;
  code?: string;
}

function limitsFor(service: ServiceName, over: Partial<ListenerLimits> = {}): ListenerLimits {
  return {
    ...INPUT_LIMITS[service],
    idleTimeoutMs: PRE_AUTH_IDLE_TIMEOUT_MS,
    perIpLimit: MAX_CONNECTIONS_PER_IP,
    proxyHeaderTimeoutMs: PROXY_HEADER_TIMEOUT_MS,
    closeLingerMs: CLOSE_LINGER_MS,
    ...over,
  };
}

/** The compiled form of a ListenerConfig's address lists. */
interface Policy {
  config: ListenerConfig;
  grant: AddressList;
  deny: AddressList;
  proxyFrom: AddressList;
}

function compile(config: ListenerConfig): Policy {
  return { config, grant: new AddressList(config.Grant), deny: new AddressList(config.Deny), proxyFrom: new AddressList(config.ProxyFrom) };
}

/** N3: Deny wins; an empty Grant list grants everyone. */
export function grantDecision(policy: { grant: AddressList; deny: AddressList }, address: string): 'granted' | 'not-granted' | 'denied' {
  if (policy.deny.matches(address)) return 'denied';
  if (!policy.grant.empty && !policy.grant.matches(address)) return 'not-granted';
  return 'granted';
}

/** The key the per-IP limit counts under. */
export function perIpKey(address: string): string {
  if (isIPv4(address)) return address;
  try {
    const a = ipaddr.parse(address);
    if (a.kind() === 'ipv6') {
      const bytes = (a as ipaddr.IPv6).toByteArray();
      const keep = PER_IP_IPV6_PREFIX_BITS / 8;
      for (let i = keep; i < 16; i++) bytes[i] = 0;
      return `${ipaddr.fromByteArray(bytes).toString()}/${PER_IP_IPV6_PREFIX_BITS}`;
    }
    return a.toString();
  } catch {
    return address;
  }
}

/** One listening socket: an address and port with its current policy. */
export class ProtocolListener {
  #policy: Policy;
  readonly server: Server;

  constructor(config: ListenerConfig, onConnection: (raw: Socket, listener: ProtocolListener) => void) {
    this.#policy = compile(config);
    // allowHalfOpen: a client's FIN must not end our side by itself (a pipelined LOGOUT still gets
    // its answer; a relayed half-close is passed on). pauseOnConnect: nothing is read from a
    // socket until the Grant/Deny check has passed.
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (raw) => onConnection(raw, this));
  }

  get policy(): Policy { return this.#policy; }
  get config(): ListenerConfig { return this.#policy.config; }

  /** New settings for new connections; open ones keep what they started with. */
  reconfigure(config: ListenerConfig): void { this.#policy = compile(config); }

  listen(): Promise<{ status: 'ok'; port: number } | { status: 'failed'; message: string; code?: string }> {
    return new Promise((resolve) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        this.server.off('listening', onListening);
        resolve({ status: 'failed', message: err.message, ...(err.code ? { code: err.code } : {}) });
      };
      const onListening = (): void => {
        this.server.off('error', onError);
        // Errors after listening (EMFILE on accept) are logged, never thrown.
        this.server.on('error', (err) => logger('LISTENER').problem('listener.error', { address: this.config.Address, port: this.port, error: err }));
        resolve({ status: 'ok', port: this.port });
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      // Not exclusive: in the multi-core mode (src/cluster.ts) every worker's listener for an
      // address and port shares one listening socket, which the kernel's accept() spreads over
      // the workers. Outside a cluster worker the flag changes nothing.
      this.server.listen({ host: this.config.Address, port: this.config.Port, exclusive: false });
    });
  }

  get port(): number {
    const a = this.server.address();
    return a !== null && typeof a === 'object' ? (a as AddressInfo).port : 0;
  }

  /** Stops accepting; open connections are not touched. */
  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) { resolve(); return; }
      // server.close's callback waits for every connection to end; we only wait for the socket.
      this.server.close();
      setImmediate(resolve);
    });
  }
}

/** The listeners of one service, their shared per-IP counts and open connections. */
export class ListenerSet {
  readonly service: ServiceName;
  readonly #factory: SessionFactory;
  readonly #tls: TlsContextResolver;
  #limits: ListenerLimits;
  readonly #log: Logger;
  readonly #listenerLog = logger('LISTENER');
  /** Listeners by `address|port|n` (n tells apart several Port 0 entries on one address). */
  #listeners = new Map<string, ProtocolListener>();
  readonly #perIp = new Map<string, number>();
  readonly #connections = new Set<Connection>();
  #closed = false;
  #updating: Promise<void> = Promise.resolve();

  constructor(opts: ListenerSetOptions) {
    this.service = opts.service;
    this.#factory = opts.sessionFactory;
    this.#tls = opts.tls;
    this.#limits = limitsFor(opts.service, opts.limits);
    this.#log = logger(opts.service as LogModule);
  }

  get limits(): Readonly<ListenerLimits> { return this.#limits; }

  /** Changes limits for new connections (and idle time-outs armed from now on). */
  setLimits(limits: Partial<ListenerLimits>): void { this.#limits = { ...this.#limits, ...limits }; }

  /** Open connections (sessions and relays). */
  get connectionCount(): number { return this.#connections.size; }

  bound(): BoundListener[] {
    return [...this.#listeners.values()].map((l) => ({ config: l.config, address: l.config.Address, port: l.port }));
  }

  /**
   * Makes the listening sockets match `configs`: opens new ones, stops the ones no longer listed,
   * and gives changed settings (TLS mode, lists, ClearTextLogin) to the ones that stay. Open
   * connections are never dropped. Returns what could not be opened (address in use, no
   * permission); those are retried at the next update.
   */
  update(configs: readonly ListenerConfig[]): Promise<ListenerProblem[]> {
    // One update at a time: two overlapping ones would both open the same new listener.
    const next = this.#updating.then(() => this.#update(configs));
    this.#updating = next.then(() => undefined, () => undefined);
    return next;
  }

  async #update(configs: readonly ListenerConfig[]): Promise<ListenerProblem[]> {
    if (this.#closed) throw new Error('ListenerSet.update after close');
    const wanted = new Map<string, ListenerConfig>();
    const seen = new Map<string, number>();
    for (const c of configs) {
      const base = `${normalizeAddress(c.Address) ?? c.Address}|${c.Port}`;
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      wanted.set(`${base}|${n}`, c);
    }
    const stops: Promise<void>[] = [];
    for (const [key, l] of this.#listeners) {
      if (wanted.has(key)) continue;
      this.#listeners.delete(key);
      this.#listenerLog.info('listener.stop', { service: this.service, address: l.config.Address, port: l.port });
      stops.push(l.stop());
    }
    await Promise.all(stops);
    const problems: ListenerProblem[] = [];
    for (const [key, config] of wanted) {
      const have = this.#listeners.get(key);
      if (have) { have.reconfigure(config); continue; }
      const l = new ProtocolListener(config, (raw, listener) => this.#accept(raw, listener));
      const r = await l.listen();
      if (r.status === 'ok') {
        this.#listeners.set(key, l);
        this.#listenerLog.info('listener.start', { service: this.service, address: config.Address, port: r.port, tls: config.TLS });
      } else {
        problems.push({ address: config.Address, port: config.Port, message: r.message, ...(r.code ? { code: r.code } : {}) });
        this.#listenerLog.problem('listener.failed', { service: this.service, address: config.Address, port: config.Port, message: r.message, code: r.code });
      }
    }
    return problems;
  }

  /** Stops listening. With `connections: 'destroy'` also drops every open connection. */
  async close(opts: { connections?: 'keep' | 'destroy' } = {}): Promise<void> {
    this.#closed = true;
    const stops = [...this.#listeners.values()].map((l) => l.stop());
    this.#listeners.clear();
    await Promise.all(stops);
    if (opts.connections === 'destroy') for (const c of [...this.#connections]) c.destroy('server shutdown');
  }

  #accept(raw: Socket, listener: ProtocolListener): void {
    const policy = listener.policy;
    raw.on('error', (err) => this.#log.info('connection.error', { remote: raw.remoteAddress, error: err }));
    const peer = socketAddress(raw.remoteAddress ?? '');
    const local = socketAddress(raw.localAddress ?? '');
    if (peer === null || local === null) { raw.destroy(); return; } // already gone
    const conn = new Connection({
      raw, policy, service: this.service, factory: this.#factory, tls: this.#tls, limits: this.#limits, log: this.#log,
      peer: { address: peer, port: raw.remotePort ?? 0 }, local: { address: local, port: raw.localPort ?? 0 },
      acquire: (addr) => this.#acquire(addr), release: (key) => this.#release(key),
      onEnd: (c) => this.#connections.delete(c),
    });
    this.#connections.add(conn);
    conn.begin();
  }

  #acquire(address: string): string | null {
    const key = perIpKey(address);
    const n = this.#perIp.get(key) ?? 0;
    if (n >= this.#limits.perIpLimit) return null;
    this.#perIp.set(key, n + 1);
    return key;
  }

  #release(key: string): void {
    const n = (this.#perIp.get(key) ?? 1) - 1;
    if (n <= 0) this.#perIp.delete(key);
    else this.#perIp.set(key, n);
  }
}

interface Endpoint { address: string; port: number }

interface ConnectionDeps {
  raw: Socket;
  policy: Policy;
  service: ServiceName;
  factory: SessionFactory;
  tls: TlsContextResolver;
  limits: ListenerLimits;
  log: Logger;
  peer: Endpoint;
  local: Endpoint;
  acquire(address: string): string | null;
  release(key: string): void;
  onEnd(c: Connection): void;
}

type State = 'opening' | 'session' | 'upgrading' | 'closing' | 'relay' | 'closed';

const noop = (): void => undefined;

/** One client connection, from accept to close. */
class Connection {
  readonly #d: ConnectionDeps;
  readonly #id = sessionId();
  readonly #started = Date.now();
  #log: Logger;
  #state: State = 'opening';
  #socket: Socket | TLSSocket;
  #info: ConnectionInfo | undefined;
  #session: ProtocolSession | undefined;
  #reader: LineReader;
  #perIpKey: string | null = null;
  #busy = false;
  #inputEnded = false;
  #idleTimer: NodeJS.Timeout | undefined;
  #lingerTimer: NodeJS.Timeout | undefined;
  /** Writes handed to the socket and not yet flushed to the kernel, and who waits for them
   *  (STARTTLS: the "begin TLS" reply must be out before the handshake takes the socket). */
  #unflushed = 0;
  #onFlushed: (() => void) | null = null;
  #greeted = false;
  #backend: Socket | TLSSocket | undefined;
  #finished = false;

  constructor(d: ConnectionDeps) {
    this.#d = d;
    this.#socket = d.raw;
    this.#reader = new LineReader(d.limits);
    this.#log = d.log.child({ session: this.#id, remote: d.peer.address });
  }

  begin(): void {
    const raw = this.#d.raw;
    raw.once('close', this.#onSocketClose);
    const proxied = this.#d.policy.proxyFrom.matches(this.#d.peer.address);
    if (!proxied) { this.#guard(this.#admit(this.#d.peer, this.#d.local, undefined)); return; }
    this.#guard(readProxyHeader(raw, this.#d.limits.proxyHeaderTimeoutMs).then((r) => {
      if (this.#state !== 'opening') return;
      if (r.status !== 'ok') {
        this.#log.info('proxy.failed', { via: this.#d.peer.address, error: r.status === 'error' ? r.error : r.status, message: r.status === 'error' ? r.message : undefined });
        this.destroy('bad PROXY header');
        return;
      }
      const h = r.header;
      if (h.command === 'proxy') {
        this.#log = this.#d.log.child({ session: this.#id, remote: h.source.address, via: this.#d.peer.address });
        this.#guard(this.#admit(h.source, h.destination, h));
      } else {
        this.#log = this.#d.log.child({ session: this.#id, remote: this.#d.peer.address, via: this.#d.peer.address });
        this.#log.info('proxy.local', { reason: h.reason, version: h.version });
        this.#guard(this.#admit(this.#d.peer, this.#d.local, h));
      }
    }));
  }

  /** Runs a step of this connection without letting a bug in it become an unhandled rejection
   *  (which would end the process): it is logged and only this connection is dropped. */
  #guard(p: Promise<unknown>): void {
    p.catch((err: unknown) => {
      this.#log.failure('connection.bug', { error: err });
      this.destroy('internal error');
    });
  }

  async #admit(remote: Endpoint, local: Endpoint, proxy: ProxyHeader | undefined): Promise<void> {
    const { policy, limits } = this.#d;
    const decision = grantDecision(policy, remote.address);
    if (decision !== 'granted') {
      this.#log.info('connection.refused', { reason: decision, local: local.address, port: local.port });
      this.destroy(decision);
      return;
    }
    this.#perIpKey = this.#d.acquire(remote.address);
    if (this.#perIpKey === null) {
      this.#log.info('connection.refused', { reason: 'per-ip-limit', limit: limits.perIpLimit });
      this.destroy('per-ip-limit');
      return;
    }
    const raw = this.#d.raw;
    raw.setNoDelay(true);
    raw.setKeepAlive(true, TCP_KEEPALIVE_MS);
    const config = policy.config;
    if (this.#log.enabled('info')) this.#log.info('connection.accepted', { local: local.address, port: local.port, tls: config.TLS, ...(proxy ? { proxy: proxy.version } : {}) });
    const info: ConnectionInfo = {
      id: this.#id,
      service: this.#d.service,
      remoteAddress: remote.address,
      remotePort: remote.port,
      localAddress: local.address,
      localPort: local.port,
      secure: false,
      clearTextLogin: config.ClearTextLogin,
      startTlsAvailable: config.TLS === 'starttls' && this.#d.tls.startTlsAvailable(local.address),
    };
    this.#info = info;
    if (config.TLS === 'implicit') {
      const r = await this.#d.tls.accept(raw, {
        localAddress: local.address, log: this.#tlsLog(),
        ...(limits.tlsHandshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: limits.tlsHandshakeTimeoutMs } : {}),
      });
      if (r.status !== 'ok') { this.#finish(); return; }
      if (this.#finished) { r.socket.destroy(); return; } // dropped (shutdown) during the handshake
      this.#adoptTls(r.socket, r);
      // OpenSSL sends the TLS 1.3 session tickets just after the handshake completes, in the next
      // turn of the event loop. A greeting written now would go before them, and some clients
      // (Cyrus imtest) read the greeting, then wait for ticket records that never come first: the
      // server speaks after its tickets, as Dovecot does.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (this.#finished) return; // the client left during the handshake
    try {
      this.#session = this.#d.factory(info);
    } catch (err) {
      this.#log.problem('session.error', { during: 'create', error: err });
      this.destroy('session error');
      return;
    }
    this.#state = 'session';
    // Read while the greeting is being made, so that a client that talks first is seen (early
    // talkers, RFC 5321 §4.3.1 / issue 5: `info.earlyInput`); its bytes wait in the reader.
    this.#busy = true;
    this.#attach(this.#socket);
    // A TLS client may have closed its side between the end of the handshake and now: its 'end'
    // was emitted before our listener was there.
    if (this.#socket.readableEnded) this.#inputEnded = true;
    this.#socket.resume();
    const effects = await this.#call(() => this.#session!.start(), 'start');
    if (effects === null) return;
    const more = await this.#apply(effects);
    this.#greeted = true;
    this.#busy = false;
    if (more) this.#guard(this.#pump());
  }

  /** Handshake records go under the TLS module tag, whose level the TLS Sessions log setting
   *  (T2) controls, with this connection's session id and service. */
  #tlsLog(): Logger {
    return logger('TLS', { session: this.#id, service: this.#d.service, remote: this.#info?.remoteAddress ?? this.#d.peer.address });
  }

  #adoptTls(socket: TLSSocket, r: { protocol: string; cipher: string; servername?: string; domain: string; resumed: boolean; certificateDer?: Buffer }): void {
    this.#socket = socket;
    socket.on('error', (err) => this.#log.info('connection.error', { error: err }));
    this.#d.raw.off('close', this.#onSocketClose);
    socket.once('close', this.#onSocketClose);
    const info = this.#info!;
    info.secure = true;
    info.tls = tlsInfo(socket, r);
    info.startTlsAvailable = false;
  }

  #attach(s: Socket | TLSSocket): void {
    s.on('data', this.#onData);
    s.on('end', this.#onEnd);
  }

  #detach(s: Socket | TLSSocket): void {
    s.off('data', this.#onData);
    s.off('end', this.#onEnd);
  }

  readonly #onData = (chunk: Buffer): void => {
    if (!this.#greeted && this.#info) this.#info.earlyInput = true;
    this.#reader.push(chunk);
    if (this.#busy) { this.#socket.pause(); return; }
    this.#guard(this.#pump());
  };

  readonly #onEnd = (): void => {
    this.#inputEnded = true;
    if (!this.#busy) this.#guard(this.#pump());
  };

  readonly #onSocketClose = (): void => {
    if (this.#state === 'relay') { this.#relayClosed('client'); return; }
    if (this.#state === 'upgrading') return; // the handshake's outcome decides
    this.#finish();
  };

  /** Feeds complete items to the session, one at a time; reading pauses while it works. */
  async #pump(): Promise<void> {
    if (this.#busy || this.#state !== 'session') return;
    this.#busy = true;
    this.#stopIdle();
    let more = true;
    try {
      for (;;) {
        const item = this.#reader.next();
        if (item === null) break;
        this.#socket.pause();
        const effects = await this.#call(() => this.#deliver(item), item.kind);
        if (effects === null) { more = false; break; }
        more = await this.#apply(effects);
        if (!more || this.#state !== 'session') { more = false; break; }
      }
    } finally {
      this.#busy = false;
    }
    if (more) this.#afterWork();
  }

  /** Every complete item was handled: wait for more input, or close if the client has finished
   *  sending. (Bytes that arrived while the session worked were pushed to the reader, and the
   *  pump's loop took every item they completed before coming here.) */
  #afterWork(): void {
    if (this.#state !== 'session') return;
    if (this.#inputEnded) { this.#guard(this.#closeGracefully('client closed its side')); return; }
    this.#armIdle();
    this.#socket.resume();
  }

  #deliver(item: ReaderItem): Promise<Effect[]> {
    const s = this.#session!;
    switch (item.kind) {
      case 'line': return s.onLine(item.line);
      case 'literal': return s.onLiteral(item.data);
      case 'too-long':
        this.#log.info('input.line-too-long', { limit: this.#reader.limits.maxLineBytes });
        return s.onLineTooLong();
    }
  }

  /** Runs a session method; an exception is logged and closes the connection (null). */
  async #call(fn: () => Promise<Effect[]> | Effect[], during: string): Promise<Effect[] | null> {
    try {
      const effects = await fn();
      if (!Array.isArray(effects)) throw new TypeError(`the session's ${during} did not return an effect list`);
      return effects;
    } catch (err) {
      this.#log.problem('session.error', { during, error: err });
      this.destroy('session error');
      return null;
    }
  }

  /** Carries out effects in order. False when the session part of the connection is over. */
  async #apply(effects: readonly Effect[]): Promise<boolean> {
    for (let i = 0; i < effects.length; i++) {
      if (this.#state !== 'session') return false;
      const e = effects[i] as Effect;
      switch (e.type) {
        case 'write':
          await this.#write(e.data);
          break;
        case 'read': {
          const r = this.#reader.setMode(e.mode);
          if (r.status !== 'ok') {
            this.#log.problem('session.error', { during: 'read', error: r.status === 'too-large' ? `literal over the limit of ${r.limit} bytes` : 'invalid read mode' });
            this.destroy('session error');
            return false;
          }
          break;
        }
        case 'starttls':
          return this.#startTls(effects.slice(i + 1));
        case 'relay':
          await this.#relay(e);
          return false;
        case 'close':
          await this.#closeGracefully(e.reason);
          return false;
        default:
          this.#log.problem('session.error', { during: 'effect', error: `unknown effect ${(e as { type?: unknown }).type}` });
          this.destroy('session error');
          return false;
      }
    }
    return true;
  }

  /** Writes and waits while the socket's buffer is over its high-water mark (back-pressure). */
  async #write(data: string | Buffer): Promise<void> {
    const s = this.#socket;
    if (s.destroyed || !s.writable) return;
    this.#unflushed++;
    const ok = s.write(data, this.#flushed);
    if (!ok) await waitDrain(s);
  }

  /** One write's callback (one function for every write: no closure or promise per write). */
  readonly #flushed = (): void => {
    if (--this.#unflushed === 0 && this.#onFlushed) {
      const f = this.#onFlushed;
      this.#onFlushed = null;
      f();
    }
  };

  /** Resolves when every write so far has been flushed (or failed with the socket). */
  #allFlushed(): Promise<void> {
    if (this.#unflushed === 0) return Promise.resolve();
    return new Promise<void>((resolve) => { this.#onFlushed = resolve; });
  }

  async #startTls(after: Effect[]): Promise<boolean> {
    const info = this.#info!;
    if (info.secure || this.#d.policy.config.TLS !== 'starttls') {
      this.#log.problem('session.error', { during: 'starttls', error: 'STARTTLS on a connection that is secure or has no STARTTLS' });
      this.destroy('session error');
      return false;
    }
    const raw = this.#socket as Socket;
    await Promise.race([this.#allFlushed(), closed(raw)]);
    if (raw.destroyed) return false;
    this.#state = 'upgrading';
    this.#stopIdle();
    this.#detach(raw);
    raw.pause();
    // T1: nothing received before the handshake may reach the session.
    let dropped = this.#reader.discard();
    for (let c: unknown = raw.read(); c !== null; c = raw.read()) dropped += (c as Buffer).length;
    if (dropped > 0) this.#log.info('starttls.discarded', { bytes: dropped });
    raw.off('close', this.#onSocketClose);
    const limits = this.#d.limits;
    const r = await this.#d.tls.accept(raw, {
      localAddress: info.localAddress, log: this.#tlsLog(),
      ...(limits.tlsHandshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: limits.tlsHandshakeTimeoutMs } : {}),
    });
    if (r.status !== 'ok') { this.#state = 'closed'; this.#finish(); return false; }
    if (this.#finished) { r.socket.destroy(); return false; }
    this.#adoptTls(r.socket, r);
    this.#reader = new LineReader(limits);
    this.#inputEnded = false;
    this.#state = 'session';
    this.#attach(this.#socket);
    if (this.#socket.readableEnded) this.#inputEnded = true; // closed before we listened
    if (!(await this.#apply(after))) return false;
    const effects = await this.#call(() => this.#session!.onTlsStarted(), 'onTlsStarted');
    if (effects === null) return false;
    return this.#apply(effects);
  }

  async #relay(e: Extract<Effect, { type: 'relay' }>): Promise<void> {
    const client = this.#socket;
    const backend = e.backend;
    this.#backend = backend;
    backend.on('error', (err) => this.#log.info('relay.error', { side: 'backend', error: err }));
    if (e.preface !== undefined) await this.#write(e.preface);
    if (client.destroyed) { backend.destroy(); return; }
    if (backend.destroyed) { this.#log.info('relay.failed', { reason: 'backend closed before the relay' }); this.destroy('backend closed'); return; }
    this.#state = 'relay';
    this.#stopIdle();
    this.#detach(client);
    // Commands the client pipelined after its login are the backend's to answer.
    const pipelined = this.#reader.takeRemaining();
    if (pipelined.length > 0) backend.write(pipelined);
    // remoteAddress is a getpeername system call: made only when the record is written.
    if (this.#log.enabled('info')) this.#log.info('relay.start', { account: e.account, backend: `${backend.remoteAddress ?? '?'}:${backend.remotePort ?? '?'}` });
    backend.once('close', () => this.#relayClosed('backend'));
    client.on('error', () => { backend.destroy(); client.destroy(); });
    backend.on('error', () => { client.destroy(); backend.destroy(); });
    // pipe: reads pause while the other side's buffer is full, and `end` is passed on.
    client.pipe(backend);
    const port = readPortOf(backend);
    if (port) forwardOwnBuffers(backend, port, client);
    else backend.pipe(client);
    client.resume();
  }

  /** One side of a relay closed: let the other finish sending (its end was passed on by pipe),
   *  and destroy it if it does not close in time. */
  #relayClosed(side: 'client' | 'backend'): void {
    const other = side === 'client' ? this.#backend : this.#socket;
    if (side === 'client') this.#finish();
    if (other && !other.destroyed) {
      other.end();
      const t = setTimeout(() => other.destroy(), this.#d.limits.closeLingerMs);
      t.unref();
      other.once('close', () => clearTimeout(t));
    }
  }

  async #closeGracefully(reason: string): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#state = 'closing';
    this.#stopIdle();
    this.#log.info('connection.close', { reason });
    const s = this.#socket;
    this.#detach(s);
    // Keep reading (and dropping) so unread input does not make the kernel answer with a reset,
    // which could destroy our last reply before the client reads it.
    s.on('data', noop);
    s.resume();
    s.end();
    this.#lingerTimer = setTimeout(() => s.destroy(), this.#d.limits.closeLingerMs);
    this.#lingerTimer.unref();
  }

  #armIdle(): void {
    this.#stopIdle();
    const ms = this.#d.limits.idleTimeoutMs;
    if (ms <= 0) return;
    this.#idleTimer = setTimeout(() => this.#guard(this.#onIdle()), ms);
    this.#idleTimer.unref();
  }

  #stopIdle(): void {
    if (this.#idleTimer) { clearTimeout(this.#idleTimer); this.#idleTimer = undefined; }
  }

  async #onIdle(): Promise<void> {
    this.#idleTimer = undefined;
    if (this.#busy || this.#state !== 'session') return;
    this.#busy = true;
    this.#log.info('connection.idle', { ms: this.#d.limits.idleTimeoutMs });
    const effects = await this.#call(() => this.#session!.onIdleTimeout(), 'onIdleTimeout');
    if (effects !== null && (await this.#apply(effects))) await this.#closeGracefully('idle time-out');
    this.#busy = false;
  }

  /** Drops the connection at once (refusals, errors, shutdown). */
  destroy(reason: string): void {
    if (this.#state === 'closed') return;
    if (this.#state !== 'opening') this.#log.info('connection.close', { reason });
    this.#state = 'closed';
    this.#stopIdle();
    this.#socket.destroy();
    if (this.#socket !== this.#d.raw) this.#d.raw.destroy();
    this.#backend?.destroy();
    this.#finish();
  }

  /** Releases everything, once. */
  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#state = 'closed';
    this.#stopIdle();
    if (this.#lingerTimer) clearTimeout(this.#lingerTimer);
    if (!this.#socket.destroyed) this.#socket.destroy();
    if (!this.#d.raw.destroyed) this.#d.raw.destroy();
    if (this.#perIpKey !== null) this.#d.release(this.#perIpKey);
    this.#d.onEnd(this);
    if (this.#session) {
      try { this.#session.onClose(); } catch (err) { this.#log.problem('session.error', { during: 'onClose', error: err }); }
      if (this.#log.enabled('info')) this.#log.info('connection.closed', { ms: Date.now() - this.#started, in: this.#socket.bytesRead, out: this.#socket.bytesWritten });
    }
  }
}

/**
 * Backend to client for a backend that reads into its own buffers (src/backends/wire.ts,
 * ReadPort): each read is written to the client at once; when the write did not complete at once
 * (the client's socket buffer is full), the bytes are still referenced by it, so reading pauses
 * until that write is done, and the next read goes to a new buffer. The backend's end is passed
 * on like pipe() does.
 */
function forwardOwnBuffers(backend: Socket | TLSSocket, port: ReadPort, client: Socket | TLSSocket): void {
  let waiting = false;
  const written = (): void => {
    if (!waiting) return;
    waiting = false;
    if (!backend.destroyed) backend.resume();
  };
  port.sink = (chunk) => {
    if (client.destroyed) return 'done';
    client.write(chunk, written);
    if (client.writableLength === 0) return 'done';
    waiting = true;
    return 'held';
  };
  backend.once('end', () => { if (!client.destroyed) client.end(); });
  backend.resume();
}

function waitDrain(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => { s.off('drain', done); s.off('close', done); resolve(); };
    s.on('drain', done);
    s.on('close', done);
  });
}

function closed(s: Socket): Promise<void> {
  return new Promise((resolve) => { if (s.destroyed) resolve(); else s.once('close', () => resolve()); });
}
