/**
 * A real Mailward web server for tests: a fresh data directory (initialised as `mailward init`
 * does), the real services, engine and TLS resolver with a Test Certificate, and the WebAdmin and
 * WebUser listeners on port 0 of 127.0.0.1 (TLS) plus a clear loopback WebAdmin listener. Also a
 * small HTTPS client with a cookie jar that reads the CSRF token from the last page, as a browser
 * would submit it.
 */
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { initDataDir } from '../../../main.js';
import { openFileStore } from '../../../settings/backends/files/index.js';
import { Directory } from '../../../directory/directory.js';
import { PasswordService } from '../../../auth/password-service.js';
import { InProcessLockout } from '../../../auth/lockout.js';
import { AuthEngine, type EngineDeps } from '../../../auth/engine.js';
import { AdminService } from '../../../admin/service.js';
import { DomainSecurityService } from '../../../admin/domain-security.js';
import { TlsContextResolver, type DomainTlsConfig } from '../../../tls/context.js';
import { makeTestCertificate, type TestCertificate } from '../../../tls/test-certificate.js';
import type { ListenerConfig } from '../../../settings/schema.js';
import { configureLogging } from '../../../core/log.js';
import { LoginHistory } from '../login-history.js';
import { startWebServers, type WebServers } from '../web-server.js';
import type { WebChange } from '../../webadmin/context.js';
import type { SessionStoreOptions } from '../sessions.js';

export const MAIN_DOMAIN = 'example.com';

export interface Harness {
  root: string;
  postmasterPassword: string;
  directory: Directory;
  admin: AdminService;
  engine: AuthEngine;
  passwords: PasswordService;
  resolver: TlsContextResolver;
  test: TestCertificate;
  web: WebServers;
  changes: WebChange[];
  /** https://127.0.0.1:port of the TLS WebAdmin listener. */
  adminUrl: string;
  /** http://127.0.0.1:port of the clear loopback WebAdmin listener. */
  adminClearUrl: string;
  userUrl: string;
  /** The listener configs the harness started with (to extend with `web.apply`). */
  listeners: { HTTPA: ListenerConfig[]; HTTPU: ListenerConfig[] };
  /** Loads every domain's TLS settings into the resolver (what main.ts does on a change). */
  syncTls(): Promise<void>;
  close(): Promise<void>;
}

export const L = (Port: number, TLS: ListenerConfig['TLS'], extra: Partial<ListenerConfig> = {}): ListenerConfig =>
  ({ Address: '127.0.0.1', Port, TLS, Grant: [], Deny: [], ProxyFrom: [], ClearTextLogin: 'tls-only', ...extra });

export async function startHarness(opts: { sessions?: SessionStoreOptions; quiet?: boolean; userListener?: Partial<ListenerConfig>; external?: EngineDeps['external'] } = {}): Promise<Harness> {
  if (opts.quiet !== false) configureLogging({ defaultLevel: 'failure' });
  const root = await mkdtemp(join(tmpdir(), 'mw-web-'));
  const dataDir = join(root, 'data');
  const init = await initDataDir(dataDir, { mainDomain: MAIN_DOMAIN });
  const store = await openFileStore(dataDir);
  const directory = new Directory(store);
  const passwords = new PasswordService(directory);
  const engine = new AuthEngine({ directory, lockout: new InProcessLockout(), passwords, ...(opts.external ? { external: opts.external } : {}) });
  const admin = new AdminService(directory, passwords, engine);
  const security = new DomainSecurityService(admin, directory);
  const test = await makeTestCertificate(MAIN_DOMAIN);
  const resolver = new TlsContextResolver({ testCertificate: test });
  const syncTls = async () => {
    const configs: DomainTlsConfig[] = [];
    for (const d of await directory.listDomains()) {
      const s = (await directory.domainSettings(d)).values;
      configs.push({
        name: d, aliases: s.DomainAliases, localAddresses: s.LocalIPAddresses,
        mode: s.CertificateMode === 'Custom' ? 'custom' : s.CertificateMode === 'Test' ? 'test' : 'no',
        keyPem: s.PrivateKey, certPem: s.Certificate, chainPem: s.CAChain,
      });
    }
    resolver.setDomains(configs, await directory.mainDomain());
  };
  await syncTls();
  const changes: WebChange[] = [];
  const listeners = {
    HTTPA: [L(0, 'implicit'), L(0, 'clear', { ClearTextLogin: 'always' })],
    HTTPU: [L(0, 'implicit', opts.userListener ?? {})],
  };
  const web = await startWebServers({
    admin, security, directory, engine, passwords, resolver, history: new LoginHistory(), testCertificate: () => test,
    onChange: async (ch) => { changes.push(ch); await syncTls(); },
    ...(opts.sessions ? { sessions: opts.sessions } : {}),
  }, listeners);
  const [a, ac] = web.addresses('HTTPA');
  const [u] = web.addresses('HTTPU');
  return {
    root, listeners, postmasterPassword: init.postmasterPassword, directory, admin, engine, passwords, resolver, test, web, changes, syncTls,
    adminUrl: `https://127.0.0.1:${a?.port}`, adminClearUrl: `http://127.0.0.1:${ac?.port}`, userUrl: `https://127.0.0.1:${u?.port}`,
    async close() {
      await web.close();
      resolver.close();
      await store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export interface Response { status: number; headers: Record<string, string | string[] | undefined>; body: string; location?: string }

/** A client that keeps cookies (by name, as a browser on one host does) and the last CSRF token. */
export class WebClient {
  readonly cookies = new Map<string, string>();
  csrf = '';
  loginToken = '';
  last: Response | null = null;

  constructor(readonly base: string, private readonly opts: { host?: string; localAddress?: string; createConnection?: CreateConnection } = {}) {}

  async get(path: string): Promise<Response> {
    return this.send('GET', path);
  }

  /** POSTs a form. `_csrf` is added from the last page unless the form sets it (or sets null). */
  async post(path: string, fields: Record<string, string | string[] | null>): Promise<Response> {
    const p = new URLSearchParams();
    const f = { _csrf: this.csrf, ...fields };
    for (const [k, v] of Object.entries(f)) {
      if (v === null) continue;
      for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
    }
    return this.send('POST', path, p.toString());
  }

  async login(path: string, login: string, password: string): Promise<Response> {
    await this.follow(await this.get('/login'));
    return this.post(path, { _csrf: null, _login: this.loginToken, login, password });
  }

  send(method: string, path: string, body?: string, extraHeaders: Record<string, string> = {}): Promise<Response> {
    const url = new URL(path, this.base);
    const headers: Record<string, string> = { ...extraHeaders };
    if (this.opts.host) headers.host = this.opts.host;
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (body !== undefined) { headers['content-type'] = 'application/x-www-form-urlencoded'; headers['content-length'] = String(Buffer.byteLength(body)); }
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)({
      method, hostname: url.hostname, port: url.port, path: url.pathname + url.search, headers, rejectUnauthorized: false,
      // With an agent (even agent: false, which makes a fresh one) Node ignores createConnection.
      ...(this.opts.createConnection ? {} : { agent: false }),
      ...(this.opts.localAddress ? { localAddress: this.opts.localAddress } : {}),
      // Node calls createConnection(options, callback) and waits for the callback when it returns
      // nothing; its type declares only the synchronous form.
      ...(this.opts.createConnection ? { createConnection: this.opts.createConnection as unknown as RequestOptions['createConnection'] } : {}),
    });
    return new Promise((resolve, reject) => {
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const sc = res.headers['set-cookie'] ?? [];
          for (const c of sc) {
            const [pair = '', ...attrs] = c.split(';');
            const eq = pair.indexOf('=');
            const name = pair.slice(0, eq).trim();
            const value = pair.slice(eq + 1).trim();
            if (attrs.some((a) => /max-age=0/i.test(a.trim())) || value === '') this.cookies.delete(name); else this.cookies.set(name, value);
          }
          const text = Buffer.concat(chunks).toString('utf8');
          const m = /name="_csrf" value="([^"]+)"/.exec(text);
          if (m?.[1]) this.csrf = m[1];
          const l = /name="_login" value="([^"]+)"/.exec(text);
          if (l?.[1]) this.loginToken = l[1];
          const r: Response = { status: res.statusCode ?? 0, headers: res.headers, body: text, ...(typeof res.headers.location === 'string' ? { location: res.headers.location } : {}) };
          this.last = r;
          resolve(r);
        });
      });
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  /** Follows a 303 the way a browser does. */
  async follow(r: Response): Promise<Response> {
    return r.status === 303 && r.location ? this.get(r.location) : r;
  }
}

/** A TLS connection that starts with a PROXY v1 header claiming `client` (N4), for WebClient's
 *  createConnection: what a load balancer in front of Mailward sends. */
export function proxiedTls(port: number, client: string): CreateConnection {
  return (_opts, done) => {
    // TLS starts only once the header is on its way: a TLS socket wrapping a socket that is still
    // connecting writes its ClientHello to the handle directly, ahead of queued writes.
    const raw = netConnect(port, '127.0.0.1', () => {
      raw.write(`PROXY TCP4 ${client} 127.0.0.1 40000 ${port}\r\n`, () => done(null, tlsConnect({ socket: raw, rejectUnauthorized: false })));
    });
    raw.on('error', (e) => done(e));
    return undefined;
  };
}

export type CreateConnection = (opts: unknown, done: (err: Error | null, socket?: Socket) => void) => Socket | undefined;
