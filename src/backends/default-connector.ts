/**
 * The BackendConnector used by the server (B1, B2): reads the domain's backend settings, guards
 * against relay loops, connects with the configured TLS mode, logs in (IMAP, POP3) or prepares
 * the submission session (SMTP), and returns the socket. Every failure is a value; every wait has
 * a named time-out; a socket that did not reach the logged-in state is always destroyed.
 */
import { logger, type Logger } from '../core/log.js';
import type { Directory } from '../directory/directory.js';
import type { DomainSettings, ServerSettings } from '../settings/schema.js';
import type { BackendConnector, BackendRequest, BackendResult } from './connector.js';
import { imapLogin, type StepOutcome } from './imap.js';
import { backendUser, planLogin, type LoginPlan } from './login-plan.js';
import { bannerToken, literalBackend, pointsAtListener, resolveBackend, type ListenAddress } from './loop.js';
import { pop3Login } from './pop3.js';
import { smtpPrepare } from './smtp.js';
import { LineChannel, openConnection, type TlsOptions } from './wire.js';

/** TCP connect plus (implicit) TLS handshake: a backend host that is down or firewalled must
 *  give the client a quick temporary error; 5 s covers a loaded LAN server. */
export const BACKEND_CONNECT_TIMEOUT_MS = 5000;

/** Greeting to logged in (including STARTTLS and the login itself): Dovecot answers in
 *  milliseconds, but a failed login may be delayed by its auth penalty (up to 15 s by default);
 *  20 s keeps the client's own time-outs (usually 30-60 s) from firing first. */
export const BACKEND_LOGIN_TIMEOUT_MS = 20_000;

export interface ConnectorOptions {
  /** Domain settings (BackendHost, ...) by domain name. */
  directory: Pick<Directory, 'domainSettings' | 'serverSettings'>;
  /** Our own listeners, for the loop guard; default: every listener of the server settings. */
  listeners?: () => Promise<ListenAddress[]>;
  /** Our name in the EHLO we send before XCLIENT; default: the main domain name. */
  hostname?: () => Promise<string>;
  /** The token our greetings carry (loop guard); default: this process's token. */
  token?: string;
  connectTimeoutMs?: number;
  loginTimeoutMs?: number;
  /** Extra trusted CA certificates for backends (tests). */
  ca?: string | Buffer | Array<string | Buffer>;
}

const log = logger('BACKEND');

/** Our listeners by the server settings object they come from: the directory hands out one
 *  decoded object per settings revision, so a login reuses the list (and its normalised
 *  addresses) instead of flattening the Listeners dictionary each time. */
const listenersOf = new WeakMap<ServerSettings, ListenAddress[]>();

function listenerList(s: ServerSettings): ListenAddress[] {
  let l = listenersOf.get(s);
  if (!l) {
    l = Object.values(s.Listeners).flat().map((x) => ({ address: x.Address, port: x.Port }));
    listenersOf.set(s, l);
  }
  return l;
}

export class DefaultBackendConnector implements BackendConnector {
  readonly #o: ConnectorOptions;

  constructor(options: ConnectorOptions) {
    this.#o = options;
  }

  async #listeners(): Promise<ListenAddress[]> {
    if (this.#o.listeners) return this.#o.listeners();
    return listenerList((await this.#o.directory.serverSettings()).values);
  }

  async connect(req: BackendRequest): Promise<BackendResult> {
    const domain = req.login.authzDomain ?? req.login.domain;
    // Records of one login carry its session, service, client and account: a child logger made
    // only when a record is written (most logins write none at the usual levels).
    const l = new LazyLogger(req);
    let settings: DomainSettings;
    try {
      settings = (await this.#o.directory.domainSettings(domain)).values;
    } catch (e) {
      l.failure('backend.settings-error', { domain, error: e });
      return { status: 'unavailable', reason: 'domain settings unavailable' };
    }
    if (settings.BackendHost === '') {
      l.problem('backend.none', { domain });
      return { status: 'no-backend' };
    }
    const port = req.service === 'IMAP' ? settings.BackendIMAPPort : req.service === 'POP' ? settings.BackendPOPPort : settings.BackendSMTPPort;
    if (port === 0) {
      l.problem('backend.none', { domain, reason: `no ${req.service} port` });
      return { status: 'no-backend' };
    }
    const result = await this.#attempt(req, settings, port, l);
    if (result.status === 'ok') l.info('backend.ready', { host: settings.BackendHost, port });
    else if (result.status === 'refused') l.problem('backend.refused', { host: settings.BackendHost, port, reason: result.reason });
    else if (result.status === 'unavailable') l.problem('backend.unavailable', { host: settings.BackendHost, port, reason: result.reason });
    return result;
  }

  async #attempt(req: BackendRequest, s: DomainSettings, port: number, l: LazyLogger): Promise<BackendResult> {
    // The plan first: a configuration that cannot log in needs no connection.
    let plan: LoginPlan | undefined;
    if (!(req.service === 'SMTP' && s.BackendSMTPMode === 'xclient')) {
      const p = planLogin(req, s);
      if (!p.ok) return { status: 'refused', reason: p.reason };
      plan = p.plan;
    }

    const ip = literalBackend(s.BackendHost);
    const resolved = ip !== null ? { ok: true as const, addresses: [ip] } : await resolveBackend(s.BackendHost);
    if (!resolved.ok) return { status: 'unavailable', reason: resolved.reason };
    let listeners: ListenAddress[];
    try {
      listeners = await this.#listeners();
    } catch (e) {
      l.failure('backend.settings-error', { error: e });
      return { status: 'unavailable', reason: 'server settings unavailable' };
    }
    const address = resolved.addresses[0] ?? '';
    // Every address the name resolves to is checked, not just the one we use: round-robin DNS
    // could otherwise send the next login to ourselves.
    if (resolved.addresses.some((a) => pointsAtListener(a, port, listeners))) {
      return { status: 'unavailable', reason: `relay loop: ${s.BackendHost}:${port} is one of our own listeners` };
    }

    const tls: TlsOptions = { verify: s.BackendVerifyCertificate, servername: s.BackendHost, ca: this.#o.ca };
    const connectTimeout = this.#o.connectTimeoutMs ?? BACKEND_CONNECT_TIMEOUT_MS;
    // IMAP and POP3 sessions end in a relay, which reads a clear backend into the connection's
    // own buffers (wire.ts, ReadPort); SMTP keeps its backend client, and TLS is read by TLS.
    const ownBuffers = req.service !== 'SMTP' && s.BackendTLS === 'none';
    const c = await openConnection({ address, port, timeoutMs: connectTimeout, tls: s.BackendTLS === 'implicit' ? tls : undefined, ownBuffers });
    if (!c.ok) return { status: 'unavailable', reason: c.reason };
    l.low('backend.connected', { address, port, tls: s.BackendTLS });

    const ch = new LineChannel(c.socket);
    const startTls = s.BackendTLS === 'starttls' ? tls : undefined;
    const deadline = Date.now() + (this.#o.loginTimeoutMs ?? BACKEND_LOGIN_TIMEOUT_MS);
    const token = this.#o.token ?? bannerToken();
    let outcome: StepOutcome;
    try {
      if (req.service === 'IMAP' && plan) outcome = await imapLogin(ch, { plan, client: req.client, startTls, deadline, handshakeTimeoutMs: connectTimeout, token });
      else if (req.service === 'POP' && plan) outcome = await pop3Login(ch, { plan, client: req.client, startTls, deadline, handshakeTimeoutMs: connectTimeout, token });
      else {
        const ourName = this.#o.hostname ? await this.#o.hostname() : (await this.#o.directory.serverSettings()).values.MainDomainName;
        outcome = await smtpPrepare(ch, { client: req.client, startTls, deadline, handshakeTimeoutMs: connectTimeout, token, user: backendUser(req.login), plan, mode: s.BackendSMTPMode, helo: req.helo, ourName });
      }
    } catch (e) {
      // Only a bug or a broken socket gets here: never leave the client waiting for it.
      l.failure('backend.error', { error: e });
      outcome = { status: 'unavailable', reason: 'internal error' };
    }
    if (outcome.status !== 'ok') {
      ch.destroy();
      return outcome;
    }
    const { socket, pending } = ch.detach();
    const r: BackendResult = { status: 'ok', socket };
    if (outcome.capabilities) r.capabilities = outcome.capabilities;
    if (pending.length > 0) r.pending = pending;
    return r;
  }
}

/** The login's child logger, made when a record at an enabled level is first written. */
class LazyLogger {
  #made: Logger | undefined;
  readonly #req: BackendRequest;
  constructor(req: BackendRequest) { this.#req = req; }
  get #l(): Logger {
    const r = this.#req;
    return (this.#made ??= log.child({ session: r.client.id, service: r.service, remote: r.client.remoteAddress, account: backendUser(r.login) }));
  }
  failure(event: string, fields?: Record<string, unknown>): void { if (log.enabled('failure')) this.#l.failure(event, fields); }
  problem(event: string, fields?: Record<string, unknown>): void { if (log.enabled('problem')) this.#l.problem(event, fields); }
  info(event: string, fields?: Record<string, unknown>): void { if (log.enabled('info')) this.#l.info(event, fields); }
  low(event: string, fields?: Record<string, unknown>): void { if (log.enabled('low')) this.#l.low(event, fields); }
}
