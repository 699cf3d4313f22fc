/**
 * The secure-context lookup every listener uses (T4, T8, T2). Issue 5's listeners call this.
 *
 * ## Interface
 *
 * ```ts
 * const sessions = new TlsSessions({ ttlSeconds });           // sessions.ts; shared = resumable
 * const resolver = new TlsContextResolver({ sessions, policy, testCertificate });
 * resolver.setDomains(domains, mainDomain);                    // any time; returns problems
 * resolver.setTestCertificate(await makeTestCertificate(main)); // at start (T3)
 * resolver.setPolicy({ minVersion, ciphers });                 // returns problems, keeps old on error
 *
 * // implicit TLS port, or after "OK, begin TLS" on STARTTLS (discard pipelined input first, T1):
 * const r = await resolver.accept(rawSocket, { log });          // handshake done or failed
 * if (r.status === 'ok') use(r.socket);  // tls.TLSSocket; r.domain, r.protocol, r.resumed...
 * else ...;                              // socket already destroyed; r.reason says why
 *
 * resolver.startTlsAvailable(rawSocket.localAddress)  // advertise/accept STARTTLS? (mode No -> false)
 * resolver.select(servername, localAddress)           // the decision itself, for logs and tests
 * resolver.contextFor(servername, localAddress)       // tls.SecureContext | null, same decision
 * resolver.close()                                    // stops the ticket-key timer
 * ```
 *
 * Before `accept` on a STARTTLS upgrade, remove the session's own 'data' listeners and drop what
 * it had buffered (T1): `accept` reads the ClientHello from the socket and must be its only reader.
 *
 * `accept` wraps the accepted socket itself (`new tls.TLSSocket(socket, { isServer, secureContext,
 * SNICallback, server })`) because only per connection do we know the local address the client
 * connected to: that is what picks the domain for a client that sends no SNI. (A `tls.Server`
 * cannot do this - its default context is fixed when it is made, for every address - which is why
 * there is no `serverOptions()`: the web admin's HTTPS server calls `accept` too and hands the
 * secure socket to its `http.Server` with `server.emit('connection', r.socket)`.) `accept` also
 * reads the ClientHello first (client-hello.ts) so that a ticket issued under the previous ticket
 * key meets the contexts that hold it, and bounds the handshake with a timeout.
 *
 * ## Selection (T8)
 * With SNI, in this order: 1. a domain whose name or alias is the name asked for; 2. a domain in
 * mode Custom whose certificate names it exactly (SAN dNSName); 3. one whose certificate names it
 * by a wildcard (`*.example.com` covers `foo.example.com`, one label, RFC 6125 §6.4.3).
 * Wildcards live on the certificate side only: domain names and aliases are literal names, as in
 * the directory; a wildcard certificate is how an administrator says "this domain answers for all
 * of these". 4. Otherwise, and without SNI: the domain the local address is assigned to; failing
 * that, the main domain. A name nobody serves thus gets the address's certificate, as clients
 * without SNI do (they will warn about the name; refusing would help no one).
 * The chosen domain's mode decides: Test -> the Test Certificate; Custom -> its key, certificate and
 * CA chain (sent with it, T7); No -> refused: the handshake fails with a TLS alert (we hand OpenSSL
 * a context without a certificate, so the client gets handshake_failure, not a silent close),
 * and `startTlsAvailable` is false for an address whose domain is in mode No. A Custom domain
 * without a usable key and certificate is refused too, never silently given the Test
 * Certificate: a client should not learn to accept a test certificate for a real domain.
 * The main domain, when it is not in the list (nothing configured yet), uses the Test Certificate.
 *
 * ## Caching and changes
 * Secure contexts are built on first use and cached by their material (key, certificate, chain)
 * and ticket-key generation, so domains with the same certificate share one. `setDomains`,
 * `setTestCertificate` and `setPolicy` take effect for the next connection, without a restart;
 * a connection already open keeps the context it started with, untouched.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import { createSecureContext, DEFAULT_MAX_VERSION, TLSSocket, type SecureContext, type TLSSocketOptions } from 'node:tls';
import ipaddr from 'ipaddr.js';
import { logger, type Logger } from '../core/log.js';
import { checkPolicy, type PolicyResult, type TlsPolicy } from './policy.js';
import { TlsSessions, type TicketKeyGeneration } from './sessions.js';
import { certificateNameCovers, normalizeHostname } from './names.js';
import { certificateDnsNames, parseCertificates } from './certificates.js';
import { CLIENT_HELLO_MAX_BYTES, readClientHello } from './client-hello.js';
import type { TestCertificate } from './test-certificate.js';

export type TlsMode = 'no' | 'test' | 'custom';

/** What the resolver needs of a domain: plain values, read from the store by the caller. */
export interface DomainTlsConfig {
  name: string;
  aliases?: readonly string[];
  /** Local IP addresses assigned to the domain (IPv4 or IPv6 text). */
  localAddresses?: readonly string[];
  /** "SSL/TLS Certificate To Use" (T4). */
  mode: TlsMode;
  /** PKCS#8 PEM, as keys.ts stores it. */
  keyPem?: string;
  certPem?: string;
  /** The CA chain, issuer of the certificate first, root last (T7). */
  chainPem?: string;
}

export type SelectionVia = 'sni-name' | 'sni-alias' | 'sni-certificate' | 'sni-wildcard' | 'local-address' | 'main-domain';

export type Selection =
  | { status: 'ok'; domain: string; via: SelectionVia; certificate: 'test' | 'custom'; context: SecureContext }
  | { status: 'refused'; domain: string; via: SelectionVia; reason: 'mode-no' | 'no-certificate' | 'unusable-certificate' | 'no-test-certificate' };

export interface ResolverProblem { domain: string; message: string }

/** A client that connects and never finishes the handshake holds a socket and an OpenSSL object:
 *  30 s is far beyond any real handshake (a few round trips) and bounds that slowloris cost. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 30_000;

export interface TlsResolverOptions {
  policy?: Partial<TlsPolicy>;
  sessions?: TlsSessions;
  testCertificate?: TestCertificate;
  handshakeTimeoutMs?: number;
}

export type AcceptResult =
  | {
      status: 'ok';
      socket: TLSSocket;
      domain: string;
      via: SelectionVia;
      certificate: 'test' | 'custom';
      servername?: string;
      protocol: string;
      cipher: string;
      resumed: boolean;
      /** DER of the certificate the connection's context serves (the same Buffer for every
       *  connection of that context), for tls-server-end-point (RFC 5929 §4.1) without asking
       *  OpenSSL for the certificate again per connection. */
      certificateDer?: Buffer;
    }
  | { status: 'failed'; reason: 'refused' | 'handshake' | 'timeout' | 'closed'; message: string; domain?: string; servername?: string };

interface DomainEntry {
  config: DomainTlsConfig;
  name: string;
  /** Material key for the cache, or why the domain cannot have a context. */
  material: { key: string; keyPem: string; certPem: string; chainPem?: string } | { problem: Exclude<Extract<Selection, { status: 'refused' }>['reason'], 'mode-no' | 'no-test-certificate'> } | null;
}

const TEST_DOMAIN_MARK = '\u0000test';

export class TlsContextResolver {
  readonly sessions: TlsSessions;
  readonly #ownsSessions: boolean;
  #policy: TlsPolicy;
  /** Whether the policy's contexts can negotiate TLS 1.3 (tls13Possible), kept with it: every
   *  connection asks. */
  #tls13 = false;
  #handshakeTimeoutMs: number;
  #test: TestCertificate | undefined;
  #mainDomain = '';
  #byName = new Map<string, { entry: DomainEntry; alias: boolean }>();
  #byAddress = new Map<string, DomainEntry>();
  #certNames: Array<{ name: string; entry: DomainEntry }> = [];
  #entries = new Map<string, DomainEntry>();
  /** Contexts by ticket-key generation and material key. */
  #cache = new Map<string, SecureContext>();
  /** The leaf certificate (DER) of each context, read once when the context is built. */
  readonly #leafDer = new WeakMap<SecureContext, Buffer>();
  /** A context without certificate: handing it to OpenSSL makes the handshake fail with an alert. */
  #refusing: SecureContext | undefined;
  readonly #unsubscribe: () => void;
  readonly #log: Logger = logger('TLS');

  constructor(opts: TlsResolverOptions = {}) {
    const p = checkPolicy(opts.policy);
    if (p.status !== 'ok') throw new RangeError(`invalid TLS policy: ${p.problems.join('; ')}`);
    this.#policy = p.policy;
    this.#tls13 = tls13Possible(p.policy);
    this.#ownsSessions = opts.sessions === undefined;
    this.sessions = opts.sessions ?? new TlsSessions();
    this.#test = opts.testCertificate;
    this.#handshakeTimeoutMs = opts.handshakeTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS;
    this.#unsubscribe = this.sessions.onChange((change) => {
      if (change === 'ttl') this.#cache.clear();
      else this.#dropOldGenerations();
    });
    this.sessions.start();
  }

  /** Replaces the policy for new connections. An invalid policy is refused and the old one kept. */
  setPolicy(policy: Partial<TlsPolicy>): PolicyResult {
    const p = checkPolicy(policy);
    if (p.status === 'ok') {
      this.#policy = p.policy;
      this.#tls13 = tls13Possible(p.policy);
      this.#cache.clear();
      this.#refusing = undefined;
      this.#log.info('tls.policy', { minVersion: p.policy.minVersion });
    }
    return p;
  }

  get policy(): Readonly<TlsPolicy> { return this.#policy; }

  setTestCertificate(test: TestCertificate): void {
    this.#test = test;
    for (const k of [...this.#cache.keys()]) if (k.endsWith(TEST_DOMAIN_MARK)) this.#cache.delete(k);
  }

  /**
   * Replaces the domain list (T8: takes effect at once). Returns what is wrong with it - names or
   * addresses claimed twice, Custom domains without usable material - without refusing it: the
   * rest of the list still works, and the affected domains are refused at handshake time.
   */
  setDomains(domains: readonly DomainTlsConfig[], mainDomain: string): ResolverProblem[] {
    const problems: ResolverProblem[] = [];
    const byName = new Map<string, { entry: DomainEntry; alias: boolean }>();
    const byAddress = new Map<string, DomainEntry>();
    const entries = new Map<string, DomainEntry>();
    const certNames: Array<{ name: string; entry: DomainEntry }> = [];
    for (const config of domains) {
      const name = normalizeHostname(config.name) ?? config.name.toLowerCase();
      const entry: DomainEntry = { config, name, material: null };
      if (entries.has(name)) { problems.push({ domain: config.name, message: 'listed twice; the first entry is used' }); continue; }
      entries.set(name, entry);
      if (config.mode === 'custom') {
        entry.material = this.#material(config, problems);
        if (entry.material && 'key' in entry.material) {
          const parsed = parseCertificates(entry.material.certPem);
          if (parsed.status === 'ok' && parsed.certificates[0]) {
            for (const n of certificateDnsNames(parsed.certificates[0])) certNames.push({ name: n, entry });
          }
        }
      }
      const claim = (n: string, alias: boolean): void => {
        const norm = normalizeHostname(n);
        if (norm === null) { problems.push({ domain: config.name, message: `"${n}" is not a host name; SNI cannot select it` }); return; }
        const had = byName.get(norm);
        if (had && had.entry !== entry) { problems.push({ domain: config.name, message: `${norm} is also a name of ${had.entry.config.name}; ${had.entry.config.name} keeps it` }); return; }
        if (!had) byName.set(norm, { entry, alias });
      };
      claim(config.name, false);
      for (const a of config.aliases ?? []) claim(a, true);
      for (const a of config.localAddresses ?? []) {
        const ip = normalizeAddress(a);
        if (ip === null) { problems.push({ domain: config.name, message: `"${a}" is not an IP address` }); continue; }
        const had = byAddress.get(ip);
        if (had && had !== entry) { problems.push({ domain: config.name, message: `address ${ip} is also assigned to ${had.config.name}; ${had.config.name} keeps it` }); continue; }
        byAddress.set(ip, entry);
      }
    }
    this.#byName = byName;
    this.#byAddress = byAddress;
    this.#entries = entries;
    this.#certNames = certNames;
    this.#mainDomain = normalizeHostname(mainDomain) ?? mainDomain.toLowerCase();
    // Contexts of material no domain uses any more are dropped; the others stay (and with them
    // the sessions made under them).
    const used = new Set<string>([TEST_DOMAIN_MARK]);
    for (const e of entries.values()) if (e.material && 'key' in e.material) used.add(e.material.key);
    for (const k of [...this.#cache.keys()]) if (!used.has(k.slice(k.indexOf(':') + 1))) this.#cache.delete(k);
    for (const p of problems) this.#log.problem('tls.domains.problem', { domain: p.domain, message: p.message });
    this.#log.info('tls.domains', { domains: entries.size, addresses: byAddress.size, mainDomain: this.#mainDomain });
    return problems;
  }

  #material(config: DomainTlsConfig, problems: ResolverProblem[]): DomainEntry['material'] {
    if (!config.keyPem || !config.certPem) {
      problems.push({ domain: config.name, message: 'mode Custom without a private key and certificate: secure connections are refused' });
      return { problem: 'no-certificate' };
    }
    const key = createHash('sha256').update(config.keyPem).update('\u0000').update(config.certPem).update('\u0000').update(config.chainPem ?? '').digest('hex');
    return { key, keyPem: config.keyPem, certPem: config.certPem, ...(config.chainPem ? { chainPem: config.chainPem } : {}) };
  }

  /** The domain and context for a connection: the SNI name it asked for (if any) and the local
   *  address it arrived on. Uses the current ticket-key generation. */
  select(servername: string | undefined, localAddress: string | undefined): Selection {
    return this.#select(servername, localAddress, this.sessions.current);
  }

  /** The same decision as `select`, as a context or null (refused). */
  contextFor(servername: string | undefined, localAddress: string | undefined): SecureContext | null {
    const s = this.select(servername, localAddress);
    return s.status === 'ok' ? s.context : null;
  }

  /** Whether STARTTLS should be offered on a connection to this local address: false when the
   *  address's domain (or the main domain) is in mode No or has no usable certificate. */
  startTlsAvailable(localAddress: string | undefined): boolean {
    return this.select(undefined, localAddress).status === 'ok';
  }

  #select(servername: string | undefined, localAddress: string | undefined, gen: TicketKeyGeneration): Selection {
    const host = servername ? normalizeHostname(servername) : null;
    if (host !== null) {
      const hit = this.#byName.get(host);
      if (hit) return this.#decide(hit.entry, hit.alias ? 'sni-alias' : 'sni-name', gen);
      let wildcard: DomainEntry | undefined;
      for (const c of this.#certNames) {
        if (c.name === host) return this.#decide(c.entry, 'sni-certificate', gen);
        if (!wildcard && certificateNameCovers(c.name, host)) wildcard = c.entry;
      }
      if (wildcard) return this.#decide(wildcard, 'sni-wildcard', gen);
    }
    const ip = localAddress ? normalizeAddress(localAddress) : null;
    const byAddr = ip ? this.#byAddress.get(ip) : undefined;
    if (byAddr) return this.#decide(byAddr, 'local-address', gen);
    const main = this.#entries.get(this.#mainDomain);
    if (main) return this.#decide(main, 'main-domain', gen);
    return this.#testSelection(this.#mainDomain, 'main-domain', gen);
  }

  #decide(entry: DomainEntry, via: SelectionVia, gen: TicketKeyGeneration): Selection {
    const domain = entry.config.name;
    switch (entry.config.mode) {
      case 'no': return { status: 'refused', domain, via, reason: 'mode-no' };
      case 'test': return this.#testSelection(domain, via, gen);
      case 'custom': {
        const m = entry.material;
        if (!m) return { status: 'refused', domain, via, reason: 'no-certificate' };
        if ('problem' in m) return { status: 'refused', domain, via, reason: m.problem };
        const ctx = this.#context(`${gen.generation}:${m.key}`, gen, m.keyPem, m.certPem, m.chainPem, domain);
        if (ctx === null) {
          entry.material = { problem: 'unusable-certificate' };
          return { status: 'refused', domain, via, reason: 'unusable-certificate' };
        }
        return { status: 'ok', domain, via, certificate: 'custom', context: ctx };
      }
      default: return { status: 'refused', domain, via, reason: 'mode-no' };
    }
  }

  #testSelection(domain: string, via: SelectionVia, gen: TicketKeyGeneration): Selection {
    const t = this.#test;
    if (!t) return { status: 'refused', domain, via, reason: 'no-test-certificate' };
    const ctx = this.#context(`${gen.generation}:${TEST_DOMAIN_MARK}`, gen, t.keyPem, t.certPem, t.chainPem, domain);
    if (ctx === null) return { status: 'refused', domain, via, reason: 'no-test-certificate' };
    return { status: 'ok', domain, via, certificate: 'test', context: ctx };
  }

  #context(cacheKey: string, gen: TicketKeyGeneration, key: string, cert: string, chain: string | undefined, domain: string): SecureContext | null {
    const hit = this.#cache.get(cacheKey);
    if (hit) return hit;
    try {
      // The chain follows the certificate in `cert`: OpenSSL sends them in this order (T7).
      const ctx = createSecureContext({ ...this.#baseOptions(gen), key, cert: chain ? `${cert.trimEnd()}\n${chain}` : cert });
      this.#cache.set(cacheKey, ctx);
      try { this.#leafDer.set(ctx, new X509Certificate(cert).raw); } catch { /* OpenSSL took it; the binding is then not offered */ }
      this.#log.low('tls.context.built', { domain, generation: gen.generation });
      return ctx;
    } catch (e) {
      this.#log.problem('tls.context.error', { domain, message: e instanceof Error ? e.message : String(e) });
      return null;
    }
  }

  #baseOptions(gen: TicketKeyGeneration): Parameters<typeof createSecureContext>[0] {
    return {
      minVersion: this.#policy.minVersion,
      ciphers: this.#policy.ciphers,
      ecdhCurve: this.#policy.ecdhCurve,
      honorCipherOrder: true,
      sessionTimeout: this.sessions.ttlSeconds,
      sessionIdContext: this.sessions.sessionIdContext,
      ticketKeys: gen.keys,
    };
  }

  #refusingContext(): SecureContext {
    this.#refusing ??= createSecureContext({ minVersion: this.#policy.minVersion, ciphers: this.#policy.ciphers, ecdhCurve: this.#policy.ecdhCurve });
    return this.#refusing;
  }

  #dropOldGenerations(): void {
    const keep = new Set([this.sessions.current.generation, this.sessions.previous?.generation]);
    for (const k of [...this.#cache.keys()]) if (!keep.has(Number(k.slice(0, k.indexOf(':'))))) this.#cache.delete(k);
  }

  /**
   * Options for `new tls.TLSSocket(socket, options)` for a connection on `localAddress`, for
   * callers that wrap sockets themselves; `accept` is this plus the ClientHello read, the timeout
   * and logging. `onSelect` learns the SNI decision.
   */
  socketOptions(localAddress: string | undefined, opts: {
    generation?: TicketKeyGeneration; servername?: string; onSelect?: (s: Selection, servername: string) => void;
    /** The ClientHello was read (client-hello.ts status ok): its SNI name is `servername`. */
    helloRead?: boolean;
    /** The ClientHello offers TLS 1.3. */
    offersTls13?: boolean;
    /** `select(servername, localAddress)` under `generation`, when the caller has made it. */
    initial?: Selection;
  } = {}): TLSSocketOptions {
    const gen = opts.generation ?? this.sessions.current;
    // Start from the context of the name the ClientHello asked for, when we read it: OpenSSL picks
    // the certificate type (RSA or ECDSA) before SNICallback can switch contexts, so a domain with
    // an RSA key reached from an ECDSA default would otherwise be served the default's certificate.
    const initial = opts.initial ?? this.#select(opts.servername, localAddress, gen);
    const base: TLSSocketOptions = {
      isServer: true,
      secureContext: initial.status === 'ok' ? initial.context : this.#refusingContext(),
      requestCert: false,
      rejectUnauthorized: false,
    };
    // A connection that will speak TLS 1.3 resumes by tickets only: giving it the session-ID
    // store would make Node pause the handshake to serialise and store every session it makes
    // (about a quarter of a resumed handshake's CPU) for nothing (sessions.ts).
    if (!(opts.offersTls13 === true && this.#tls13)) base.server = this.sessions.host;
    // When we read the ClientHello, `initial` already is the decision for its SNI name: OpenSSL
    // sees the same name, so asking again from the certificate callback (a pause of the handshake
    // and a round trip through JavaScript per connection) would change nothing. A refused name
    // keeps the callback, which fails the handshake with a clear error.
    if (opts.helloRead === true && initial.status === 'ok') return base;
    return {
      ...base,
      SNICallback: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => {
        const s = this.#select(servername, localAddress, gen);
        opts.onSelect?.(s, servername);
        // A context without a certificate does not stop Node here (it keeps the first context's
        // certificate), so a refused name fails the handshake by error.
        if (s.status === 'ok') cb(null, s.context);
        else cb(new Error(`secure connections to ${s.domain} are refused (${s.reason})`));
      },
    };
  }

  /**
   * Runs the server side of a TLS handshake on an accepted (or just upgraded) socket. Resolves
   * when the handshake is done or has failed; never rejects. On failure the socket is destroyed.
   * On success the caller owns `socket` and must handle its 'error' and 'close' events.
   */
  async accept(socket: Socket, opts: { localAddress?: string; log?: Logger; handshakeTimeoutMs?: number } = {}): Promise<AcceptResult> {
    const log = opts.log ?? this.#log;
    const timeoutMs = opts.handshakeTimeoutMs ?? this.#handshakeTimeoutMs;
    const started = Date.now();
    const localAddress = opts.localAddress ?? socket.localAddress;
    const hello = await peekClientHello(socket, timeoutMs);
    if (hello.status === 'closed' || hello.status === 'timeout') {
      socket.destroy();
      log.info('tls.failed', { reason: hello.status, local: localAddress, remote: socket.remoteAddress });
      return { status: 'failed', reason: hello.status, message: hello.status === 'timeout' ? 'no ClientHello in time' : 'closed before the ClientHello' };
    }
    const prev = this.sessions.previous;
    const usePrevious = hello.info.status === 'ok' && hello.info.ticketKeyName !== undefined && prev !== undefined && hello.info.ticketKeyName.equals(prev.name);
    const gen = usePrevious && prev ? prev : this.sessions.current;
    const helloName = hello.info.status === 'ok' ? hello.info.serverName : undefined;
    let decision = this.#select(helloName, localAddress, gen);
    let servername: string | undefined;
    const tlsSocket = new TLSSocket(socket, this.socketOptions(localAddress, {
      generation: gen, ...(helloName ? { servername: helloName } : {}), onSelect: (s, name) => { decision = s; servername = name; },
      helloRead: hello.info.status === 'ok', offersTls13: hello.info.status === 'ok' && hello.info.offersTls13 === true, initial: decision,
    }));
    return new Promise<AcceptResult>((resolve) => {
      let settled = false;
      const finish = (r: AcceptResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        tlsSocket.off('secure', onSecure);
        tlsSocket.off('error', onError);
        tlsSocket.off('close', onClose);
        tlsSocket.off('end', onEnd);
        if (r.status !== 'ok') {
          // Keep a listener so a late error from the dying socket cannot crash the process.
          tlsSocket.on('error', () => undefined);
          tlsSocket.destroy();
        }
        resolve(r);
      };
      const where = (): Record<string, unknown> => ({ local: localAddress, remote: socket.remoteAddress, servername, domain: decision.domain });
      const failed = (reason: 'refused' | 'handshake' | 'timeout' | 'closed', message: string): AcceptResult =>
        ({ status: 'failed', reason, message, domain: decision.domain, ...(servername !== undefined ? { servername } : {}) });
      const onSecure = (): void => {
        // A resumed handshake skips the certificate callback, so SNI was not looked at yet; the
        // decision must still be made, or a session would outlive its domain's switch to mode No.
        // OpenSSL does not report the SNI of a resumed TLS 1.2 session; the ClientHello has it.
        const sni = typeof tlsSocket.servername === 'string' && tlsSocket.servername !== '' ? tlsSocket.servername : helloName;
        if (servername === undefined && sni !== undefined && sni !== '') {
          servername = sni;
          // `decision` was made for the ClientHello's name; OpenSSL's can differ only when the
          // hello we read is not the one OpenSSL finished with.
          if (sni !== helloName) decision = this.#select(sni, localAddress, gen);
        }
        if (decision.status !== 'ok') { // cannot happen: OpenSSL has no certificate to finish with
          log.problem('tls.refused', { ...where(), reason: decision.reason });
          finish(failed('refused', decision.reason));
          return;
        }
        const cipher = tlsSocket.getCipher();
        const der = this.#leafDer.get(decision.context);
        const r: AcceptResult = {
          status: 'ok', socket: tlsSocket, domain: decision.domain, via: decision.via, certificate: decision.certificate,
          ...(servername !== undefined ? { servername } : {}), ...(der ? { certificateDer: der } : {}),
          protocol: tlsSocket.getProtocol() ?? 'unknown', cipher: cipher.name, resumed: tlsSocket.isSessionReused(),
        };
        if (log.enabled('info')) log.info('tls.handshake', { ...where(), via: r.via, certificate: r.certificate, protocol: r.protocol, cipher: r.cipher, resumed: r.resumed, ms: Date.now() - started });
        finish(r);
      };
      const onError = (err: Error): void => {
        if (decision.status === 'refused') {
          log.info('tls.refused', { ...where(), reason: decision.reason });
          finish(failed('refused', `secure connections to ${decision.domain} are refused (${decision.reason})`));
          return;
        }
        log.problem('tls.error', { ...where(), message: err.message, code: (err as { code?: unknown }).code });
        finish(failed('handshake', err.message));
      };
      const onClose = (): void => {
        log.info('tls.failed', { ...where(), reason: 'closed' });
        finish(failed(decision.status === 'refused' ? 'refused' : 'closed', 'the client closed the connection during the handshake'));
      };
      // The listening sockets allow half-open connections, so a client's FIN does not close the
      // socket by itself: without this, a client that leaves during the handshake (or once its
      // side of it is done, before the server read its Finished) would hold its connection, its
      // per-address slot and its memory until the handshake time-out.
      const onEnd = (): void => {
        log.info('tls.failed', { ...where(), reason: 'closed' });
        finish(failed(decision.status === 'refused' ? 'refused' : 'closed', 'the client closed its side during the handshake'));
      };
      const timer = setTimeout(() => {
        log.info('tls.failed', { ...where(), reason: 'timeout' });
        finish(failed('timeout', `no handshake within ${timeoutMs} ms`));
      }, Math.max(1, timeoutMs - (Date.now() - started)));
      tlsSocket.on('secure', onSecure);
      tlsSocket.on('error', onError);
      tlsSocket.on('close', onClose);
      tlsSocket.on('end', onEnd);
    });
  }

  /** Stops the ticket-key timer (when the resolver made its own TlsSessions) and drops contexts. */
  close(): void {
    this.#unsubscribe();
    if (this.#ownsSessions) this.sessions.stop();
    this.#cache.clear();
  }
}

/** Canonical text of an IP address: IPv4-mapped IPv6 (`::ffff:127.0.0.2`, what a dual-stack
 *  listener reports) becomes IPv4; IPv6 becomes its RFC 5952 form. Null if not an address. */
export function normalizeAddress(text: string): string | null {
  const t = text.trim().replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  if (!ipaddr.isValid(t)) return null;
  try {
    let a = ipaddr.parse(t);
    if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
    // ipaddr.js accepts "1", "0x7f.1" and other inet_aton forms as IPv4: only dotted quads count.
    if (a.kind() === 'ipv4' && !ipaddr.IPv4.isValidFourPartDecimal(t) && !t.includes(':')) return null;
    return a.toString();
  } catch {
    return null;
  }
}

type PeekResult = { status: 'ok'; info: ReturnType<typeof readClientHello> } | { status: 'closed' } | { status: 'timeout' };

/** Reads the first TLS record without consuming it: the bytes are put back with `unshift`, and
 *  TLSSocket feeds a socket's buffered bytes to OpenSSL before reading more. */
function peekClientHello(socket: Socket, timeoutMs: number): Promise<PeekResult> {
  return new Promise((resolve) => {
    // Almost every ClientHello arrives in one read: that chunk is read and put back as it is,
    // without copies; a hello split over reads is joined.
    let data: Buffer | undefined;
    const done = (r: PeekResult): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('end', onClose);
      socket.off('error', onClose);
      socket.pause();
      if (data !== undefined && data.length > 0) socket.unshift(data);
      resolve(r);
    };
    const onData = (chunk: Buffer): void => {
      data = data === undefined ? chunk : Buffer.concat([data, chunk]);
      const info = readClientHello(data);
      if (info.status !== 'incomplete' || data.length >= CLIENT_HELLO_MAX_BYTES) done({ status: 'ok', info });
    };
    const onClose = (): void => done({ status: 'closed' });
    const timer = setTimeout(() => done({ status: 'timeout' }), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('end', onClose);
    socket.once('error', onClose);
    socket.resume();
  });
}

/** Whether contexts of this policy can negotiate TLS 1.3: Node caps them at TLS 1.2 when the
 *  cipher list has no TLS 1.3 suite, or when it runs with --tls-max-v1.2. */
function tls13Possible(policy: TlsPolicy): boolean {
  return DEFAULT_MAX_VERSION === 'TLSv1.3' && policy.ciphers.split(':').some((c) => c.startsWith('TLS_'));
}
