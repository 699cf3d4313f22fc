/**
 * The whole thing, for interop tests (issue 5 and 6 proofs): a real Dovecot (IMAP, POP3, a master
 * user, its auth service on TCP), optionally a real Postfix using it (XCLIENT), and Mailward
 * itself started with `startServer` on a fresh data directory whose listeners bind free ports.
 * Each test file starts one stack in `before` and stops it in `after`, so a file costs one
 * Dovecot/Postfix/Mailward start (about a second), not one per test.
 *
 * Debian packages: dovecot-core, dovecot-imapd, dovecot-pop3d, postfix, openssl (the fixtures in
 * src/backends/test/ fail with the package's name when one is missing).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initDataDir, openServices, startServer, type RunningServer } from '../../src/main.js';
import type { Actor } from '../../src/admin/service.js';
import type { CgDict, CgValue } from '../../src/settings/format/types.js';
import type { ListenerConfig } from '../../src/settings/schema.js';
import type { ServiceName } from '../../src/protocols/common/session.js';
import { startDovecot, type DovecotInstance } from '../../src/backends/test/dovecot.js';
import { startPostfix, type PostfixInstance } from '../../src/backends/test/postfix.js';
import { DomainSecurityService } from '../../src/admin/domain-security.js';
import { makeTestPki, type TestPki } from '../../src/tls/test/pki.js';

export const DOMAIN = 'example.com';
export const MASTER = { name: 'mwmaster', password: 'master-pass-1' };
export const LOCAL: Actor = { kind: 'local' };

/** A Mailward account and the Dovecot user behind it (same name, its own backend password:
 *  Mailward logs in there as the master user, so the two passwords need not match). */
export interface AccountSpec {
  name: string;
  password: string;
  /** Account settings (PasswordEncryption, RequireSecureMethod...). */
  settings?: Record<string, CgValue>;
  /** Also a Dovecot user (default true; only for the main domain). */
  backend?: boolean;
  /** The account's domain (default the main domain, example.com). */
  domain?: string;
}

/** A listener of the stack: `id` names it for `port(id)`. */
export interface ListenerSpec extends Partial<ListenerConfig> {
  id: string;
  TLS: ListenerConfig['TLS'];
}

export interface StackOptions {
  listeners: Partial<Record<ServiceName, ListenerSpec[]>>;
  accounts: AccountSpec[];
  /** Server settings written before the start (beside MainDomainName and Listeners). */
  server?: Record<string, CgValue>;
  /** Main domain settings beside the backend ones. */
  domain?: Record<string, CgValue>;
  /** Other domains (name -> settings). */
  domains?: Record<string, Record<string, CgValue>>;
  /** Other domains with the main domain's backend settings, then these changes. */
  backendDomains?: Record<string, Record<string, CgValue>>;
  postfix?: boolean;
  /** Give the main domain a Custom certificate from an OpenSSL test PKI (root, intermediate),
   *  with the extra names `localhost` (gsasl and Python verify the name they connect to, and
   *  gsasl sends no way to choose another) - set through DomainSecurityService, as an
   *  administrator would. Clients then verify against `pki.rootFile`. */
  certificate?: boolean;
}

export interface Stack {
  dv: DovecotInstance;
  pf?: PostfixInstance;
  /** The test PKI when `certificate` was asked for. */
  pki?: TestPki;
  server: RunningServer;
  security: DomainSecurityService;
  dataDir: string;
  /** The backend settings of the main domain, to give other domains the same backend. */
  backendSettings: Record<string, CgValue>;
  /** The bound port of listener `id` (the real one: the settings say 0). */
  port(id: string): number;
  /** The bound address of listener `id`. */
  address(id: string): string;
  /** Writes server settings through the AdminService and waits until the runtime applied them. */
  updateServer(change: Record<string, CgValue | null>): Promise<void>;
  updateDomain(domain: string, change: Record<string, CgValue | null>): Promise<void>;
  stop(): Promise<void>;
}

function listenerDict(l: ListenerSpec): CgDict {
  return {
    Address: l.Address ?? '127.0.0.1',
    Port: String(l.Port ?? 0),
    TLS: l.TLS,
    Grant: l.Grant ?? [],
    Deny: l.Deny ?? [],
    ProxyFrom: l.ProxyFrom ?? [],
    ClearTextLogin: l.ClearTextLogin ?? 'tls-only',
  };
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const dv = await startDovecot({
    users: opts.accounts.filter((a) => a.backend !== false && (a.domain ?? DOMAIN) === DOMAIN).map((a) => ({ name: `${a.name}@${DOMAIN}`, password: `backend-${a.password}` })),
    master: MASTER,
    authInet: opts.postfix === true,
  });
  let pf: PostfixInstance | undefined;
  let dataDir = '';
  let pki: TestPki | undefined;
  try {
    if (opts.postfix) pf = await startPostfix({ domain: DOMAIN, dovecotAuthPort: dv.authPort ?? 0 });
    dataDir = await mkdtemp(join(tmpdir(), 'mw-interop-'));
    await initDataDir(dataDir, { mainDomain: DOMAIN });
    const backendSettings: Record<string, CgValue> = {
      BackendHost: '127.0.0.1',
      BackendIMAPPort: String(dv.imapPort),
      BackendPOPPort: String(dv.pop3Port),
      BackendSMTPPort: String(pf?.port ?? 0),
      BackendTLS: 'none',
      BackendLogin: 'master',
      BackendMasterUser: MASTER.name,
      BackendMasterPassword: MASTER.password,
      BackendMasterStyle: 'authzid',
      BackendSMTPMode: 'xclient',
    };
    // The directory is locked while open: settings first, through the same AdminService the
    // CLI and web admin use, then close it and start the server on it.
    const s = await openServices(dataDir);
    try {
      const listeners: Record<string, CgValue> = {};
      for (const service of ['IMAP', 'POP', 'SMTP', 'PWD'] as const) {
        listeners[service] = (opts.listeners[service] ?? []).map(listenerDict);
      }
      // HTTPA/HTTPU are other parts: none bound here.
      listeners.HTTPA = [];
      listeners.HTTPU = [];
      await s.admin.updateServerSettings(LOCAL, {
        Listeners: listeners,
        // Interop runs log little: failures only, so a test's output stays readable.
        LogLevel: 'failure',
        // Wrong-password cells answer at once; policy.test.ts checks the delay itself.
        LoginFailureDelay: '0s',
        ...opts.server,
      });
      await s.admin.updateDomainSettings(LOCAL, DOMAIN, { ...backendSettings, ...opts.domain });
      for (const [name, settings] of Object.entries(opts.domains ?? {})) {
        await s.admin.createDomain(LOCAL, name);
        await s.admin.updateDomainSettings(LOCAL, name, settings);
      }
      for (const [name, settings] of Object.entries(opts.backendDomains ?? {})) {
        await s.admin.createDomain(LOCAL, name);
        await s.admin.updateDomainSettings(LOCAL, name, { ...backendSettings, ...settings });
      }
      for (const a of opts.accounts) {
        // PasswordEncryption is set before the password, so the password is stored that way.
        const address = `${a.name}@${a.domain ?? DOMAIN}`;
        await s.admin.createAccount(LOCAL, address, { ...a.settings });
        await s.admin.setAccountPassword(LOCAL, address, a.password);
      }
      if (opts.certificate) {
        pki = await makeTestPki();
        const issued = await pki.issue({ name: DOMAIN, aliases: [] }, { commonName: DOMAIN, email: `postmaster@${DOMAIN}` }, { extraSan: ['localhost'] });
        await installCertificate(new DomainSecurityService(s.admin, s.directory), DOMAIN, issued.keyPem, issued.certPem, pki.intermediatePem);
      }
    } finally {
      await s.close();
    }
    const server = await startServer(dataDir);
    const find = (id: string): { address: string; port: number } => {
      for (const [service, specs] of Object.entries(opts.listeners) as [ServiceName, ListenerSpec[]][]) {
        const i = specs.findIndex((l) => l.id === id);
        if (i < 0) continue;
        const bound = server.runtime.listeners().find((b) => b.service === service)?.bound ?? [];
        const b = bound[i];
        if (!b || b.port === 0) throw new Error(`listener ${id} (${service} #${i}) is not bound: ${JSON.stringify(bound)}`);
        return { address: b.address, port: b.port };
      }
      throw new Error(`no listener ${id}`);
    };
    for (const specs of Object.values(opts.listeners)) for (const l of specs) find(l.id);
    const security = new DomainSecurityService(server.services.admin, server.services.directory);
    return {
      dv, pf, pki, server, security, dataDir, backendSettings,
      port: (id) => find(id).port,
      address: (id) => find(id).address,
      async updateServer(change) {
        await server.services.admin.updateServerSettings(LOCAL, change);
        await server.runtime.settled();
      },
      async updateDomain(domain, change) {
        await server.services.admin.updateDomainSettings(LOCAL, domain, change);
        await server.runtime.settled();
      },
      async stop() {
        await server.stop();
        await pf?.stop();
        await dv.stop();
        pki?.remove();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await pf?.stop();
    await dv.stop();
    pki?.remove();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
}

/** Key, certificate, chain, then mode Custom: the Domain Security page's order (T5-T7, T4). */
export async function installCertificate(security: DomainSecurityService, domain: string, keyPem: string, certPem: string, chainPem?: string): Promise<void> {
  const check = (what: string, r: { status: 'ok' } | { status: 'refused'; message: string }): void => {
    if (r.status !== 'ok') throw new Error(`${domain}: ${what} refused: ${r.message}`);
  };
  check('key', await security.importKey(LOCAL, domain, keyPem));
  check('certificate', await security.setCertificate(LOCAL, domain, certPem));
  if (chainPem) check('chain', await security.setChain(LOCAL, domain, chainPem));
  check('mode', await security.setMode(LOCAL, domain, 'Custom'));
}
