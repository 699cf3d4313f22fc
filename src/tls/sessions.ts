/**
 * TLS session resumption (T2). The Time To Live of the session cache applies to both ways a
 * client resumes:
 * - session IDs (TLS 1.2): Node keeps no server-side session store of its own (it runs OpenSSL
 *   with SSL_SESS_CACHE_NO_INTERNAL and asks its `server` through 'newSession'/'resumeSession'
 *   events), so this module keeps one: a bounded map whose entries die after the TTL.
 * - tickets (TLS 1.2 and 1.3): the session, encrypted under the ticket key, lives in the client.
 *   OpenSSL stamps each session with the context's session timeout (our TTL) and refuses to
 *   resume one older than that, and announces the TTL as the ticket lifetime hint. OpenSSL keeps
 *   session times in whole seconds, so a ticket may resume up to one second past the TTL.
 *
 * Only connections that may negotiate TLS 1.2 get the store (context.ts decides from the
 * ClientHello's supported_versions): TLS 1.3 resumes by tickets alone (RFC 8446 §2.2; the legacy
 * session ID it carries is for middlebox compatibility), yet Node serialises every TLS 1.3 session
 * it makes and pauses the handshake until the store has taken it, whenever the socket's `server`
 * listens for sessions. That work was about a quarter of a resumed handshake's CPU, and the stored
 * sessions were memory held for a TTL per connection, all for entries never looked up.
 *
 * Resumption across listeners (the STARTTLS port and the implicit-TLS port of a service) works
 * when their connections share three things: this object (the session-ID store and ticket keys)
 * and the session-ID context it names. The resolver (context.ts) puts all three into every secure
 * context it makes, so listeners that share a resolver share resumption.
 *
 * Ticket keys are rotated on a timer (RFC 5077 §5.5: a stolen ticket key decrypts every session
 * it protected, so its life is kept short). Node holds one ticket key per secure context and has
 * no decrypt-only slot, so the resolver keeps the previous key's contexts for one TTL and hands a
 * connection whose ClientHello presents a ticket under the previous key to those contexts
 * (client-hello.ts reads the key name); tickets therefore stay usable for their whole TTL across
 * a rotation, and no key outlives rotation + TTL.
 */
import { randomBytes } from 'node:crypto';
import { Server as NetServer } from 'node:net';
import { logger } from '../core/log.js';

/** OpenSSL's own default, and CommuniGate Pro's order of magnitude: long enough for a mail client
 *  that reconnects every few minutes, short enough that a session secret is not kept for hours. */
export const DEFAULT_SESSION_TTL_SECONDS = 300;

/** Longest TTL we accept: RFC 8446 §4.6.1 caps a TLS 1.3 ticket lifetime at 7 days; a day is
 *  ample for mail clients and bounds how long a session secret can be replayed. */
export const MAX_SESSION_TTL_SECONDS = 86_400;

/** How often ticket keys change. RFC 5077 §5.5 asks for regular rotation; an hour bounds what a
 *  leaked key exposes while costing each client at most one full handshake per hour. Never
 *  shorter than the TTL, or tickets would die before their time. */
export const DEFAULT_TICKET_KEY_ROTATION_SECONDS = 3600;

/** Most sessions kept for session-ID resumption: a client can create a session with every full
 *  handshake, so the store is bounded; at about 1-2 KiB each this caps it near 40 MiB. The
 *  oldest session is dropped first (it is the nearest to expiry anyway). */
export const SESSION_CACHE_MAX_ENTRIES = 20_000;

/** OpenSSL's SSL_MAX_SID_CTX_LENGTH: longer contexts are refused by SSL_CTX_set_session_id_context. */
export const SESSION_ID_CONTEXT_MAX = 32;

/** Node's ticket key: 16 bytes key name, 16 bytes HMAC secret, 16 bytes AES key. */
export const TICKET_KEYS_LENGTH = 48;

export interface TicketKeyGeneration {
  /** Increases by one at each rotation; part of the resolver's context cache key. */
  generation: number;
  keys: Buffer;
  /** First 16 bytes of `keys`: the name OpenSSL writes at the start of every ticket it issues. */
  name: Buffer;
  createdAt: number;
}

export type SessionsChange = 'ttl' | 'ticket-keys';

/** Ticket keys as one process hands them to another. */
export interface SharedTicketKeys {
  current: { keys: Buffer; createdAt: number };
  previous?: { keys: Buffer; createdAt: number };
}

export interface TlsSessionsOptions {
  ttlSeconds?: number;
  ticketKeyRotationSeconds?: number;
  /** Names the security context sessions belong to; a session is resumed only under the same
   *  one. Default `mailward`: every Mailward listener applies the same TLS policy and asks for no
   *  client certificate, so one context for all services is safe. */
  sessionIdContext?: string;
  maxEntries?: number;
  /** For tests: the clock, in milliseconds. */
  now?: () => number;
}

const log = logger('TLS');

export class TlsSessions {
  #ttlSeconds: number;
  readonly rotationSeconds: number;
  readonly sessionIdContext: string;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #store = new Map<string, { der: Buffer; expires: number }>();
  #current: TicketKeyGeneration;
  #previous: TicketKeyGeneration | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #listeners = new Set<(c: SessionsChange) => void>();
  /**
   * The object passed as the `server` option of a server-side TLSSocket that may speak TLS 1.2
   * (never of a TLS 1.3 one, see above): Node asks it, by
   * 'newSession' and 'resumeSession' events, to store and find sessions by ID. It is never
   * listening; it only carries the two listeners.
   */
  readonly host: NetServer;

  constructor(opts: TlsSessionsOptions = {}) {
    this.#ttlSeconds = checkTtl(opts.ttlSeconds ?? DEFAULT_SESSION_TTL_SECONDS);
    this.rotationSeconds = Math.max(opts.ticketKeyRotationSeconds ?? DEFAULT_TICKET_KEY_ROTATION_SECONDS, 1);
    const ctx = opts.sessionIdContext ?? 'mailward';
    if (ctx.length === 0 || Buffer.byteLength(ctx) > SESSION_ID_CONTEXT_MAX) throw new RangeError(`sessionIdContext must be 1..${SESSION_ID_CONTEXT_MAX} bytes`);
    this.sessionIdContext = ctx;
    this.#maxEntries = opts.maxEntries ?? SESSION_CACHE_MAX_ENTRIES;
    this.#now = opts.now ?? Date.now;
    this.#current = this.#newGeneration(1);
    this.host = new NetServer();
    this.host.on('newSession', (id: Buffer, der: Buffer, done: () => void) => { this.#put(id, der); done(); });
    this.host.on('resumeSession', (id: Buffer, cb: (err: Error | null, der: Buffer | null) => void) => { cb(null, this.#get(id)); });
  }

  get ttlSeconds(): number { return this.#ttlSeconds; }

  /** Changes the TTL for sessions made from now on (contexts are rebuilt; see `onChange`). */
  setTtl(seconds: number): void {
    const ttl = checkTtl(seconds);
    if (ttl === this.#ttlSeconds) return;
    this.#ttlSeconds = ttl;
    // Stored sessions keep the expiry they were made with: shortening the TTL must not keep
    // them longer than the new one, so cap them.
    const cap = this.#now() + ttl * 1000;
    for (const e of this.#store.values()) if (e.expires > cap) e.expires = cap;
    log.info('tls.sessions.ttl', { ttlSeconds: ttl });
    this.#emit('ttl');
  }

  /** The key new tickets are issued under. */
  get current(): TicketKeyGeneration { return this.#current; }

  /** The key before the last rotation, while tickets issued under it may still be within their
   *  TTL; undefined otherwise. */
  get previous(): TicketKeyGeneration | undefined {
    const p = this.#previous;
    if (p && this.#now() - this.#current.createdAt >= this.#ttlSeconds * 1000) this.#previous = undefined;
    return this.#previous;
  }

  rotateTicketKeys(): void {
    this.#previous = this.#current;
    this.#current = this.#newGeneration(this.#current.generation + 1);
    log.low('tls.ticketKeys.rotated', { generation: this.#current.generation });
    this.#emit('ticket-keys');
  }

  /** The ticket keys in use, for another process to share them (the multi-core mode: the
   *  primary rotates, its workers adopt, so a ticket resumes on whichever worker the client's
   *  next connection lands on). Secret: never logged, only sent over the cluster's IPC channel. */
  exportTicketKeys(): SharedTicketKeys {
    const p = this.previous;
    const one = (g: TicketKeyGeneration) => ({ keys: Buffer.from(g.keys), createdAt: g.createdAt });
    return { current: one(this.#current), ...(p ? { previous: one(p) } : {}) };
  }

  /**
   * Uses another process's ticket keys (see exportTicketKeys) instead of this object's own: a
   * process that adopts keys should `stop()` its own rotation. Keys already held keep their
   * generation (and with it the resolver's contexts); new ones get new generation numbers, so no
   * context made under other keys is ever reused for them.
   */
  adoptTicketKeys(shared: SharedTicketKeys): void {
    for (const k of [shared.current, shared.previous]) {
      if (k && (k.keys.length !== TICKET_KEYS_LENGTH || !Number.isFinite(k.createdAt))) throw new RangeError(`ticket keys must be ${TICKET_KEYS_LENGTH} bytes with a creation time`);
    }
    const held = [this.#current, this.#previous].filter((g): g is TicketKeyGeneration => g !== undefined);
    let next = Math.max(...held.map((g) => g.generation)) + 1;
    const reuse = (k: { keys: Buffer; createdAt: number }): TicketKeyGeneration => {
      const same = held.find((g) => g.keys.equals(k.keys));
      if (same) return same;
      const keys = Buffer.from(k.keys);
      return { generation: next++, keys, name: keys.subarray(0, 16), createdAt: k.createdAt };
    };
    const previous = shared.previous ? reuse(shared.previous) : undefined;
    const current = reuse(shared.current);
    if (current === this.#current && previous === this.#previous) return;
    this.#previous = previous;
    this.#current = current;
    log.low('tls.ticketKeys.adopted', { generation: current.generation });
    this.#emit('ticket-keys');
  }

  /** Starts the rotation timer (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => { this.rotateTicketKeys(); this.#purge(); }, this.rotationSeconds * 1000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  onChange(listener: (c: SessionsChange) => void): () => void {
    this.#listeners.add(listener);
    return () => { this.#listeners.delete(listener); };
  }

  /** Number of sessions held for session-ID resumption. */
  get size(): number { this.#purge(); return this.#store.size; }

  #emit(c: SessionsChange): void { for (const l of this.#listeners) l(c); }

  #newGeneration(generation: number): TicketKeyGeneration {
    const keys = randomBytes(TICKET_KEYS_LENGTH);
    return { generation, keys, name: keys.subarray(0, 16), createdAt: this.#now() };
  }

  #put(id: Buffer, der: Buffer): void {
    this.#purge();
    while (this.#store.size >= this.#maxEntries) {
      const oldest = this.#store.keys().next();
      if (oldest.done) break;
      this.#store.delete(oldest.value);
    }
    this.#store.set(id.toString('hex'), { der: Buffer.from(der), expires: this.#now() + this.#ttlSeconds * 1000 });
    if (log.enabled('all')) log.log('all', 'tls.session.stored', { sessions: this.#store.size });
  }

  #get(id: Buffer): Buffer | null {
    const key = id.toString('hex');
    const e = this.#store.get(key);
    if (!e) return null;
    if (e.expires <= this.#now()) { this.#store.delete(key); return null; }
    return e.der;
  }

  /** Drops expired sessions, oldest first (insertion order is expiry order for one TTL). */
  #purge(): void {
    const now = this.#now();
    for (const [k, e] of this.#store) {
      if (e.expires > now) continue;
      this.#store.delete(k);
    }
  }
}

function checkTtl(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_SESSION_TTL_SECONDS) {
    throw new RangeError(`the session Time To Live must be a whole number of seconds from 1 to ${MAX_SESSION_TTL_SECONDS}`);
  }
  return seconds;
}
