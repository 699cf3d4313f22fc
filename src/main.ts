/**
 * The one place where everything is wired together: the store, the directory, the authentication
 * layer and the services that run. The CLI's `start` and `init` and the tests call these.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { MailwardError } from './core/errors.js';
import { configureLogging, logger } from './core/log.js';
import { DOMAIN_NAME } from './settings/codecs.js';
import { dict } from './settings/format/types.js';
import { openFileStore } from './settings/backends/files/index.js';
import type { SettingsStore } from './settings/store.js';
import { Directory } from './directory/directory.js';
import { AdminService } from './admin/service.js';
import { PasswordService } from './auth/password-service.js';
import { ListenerPart, Runtime } from './runtime.js';
import { DefaultBackendConnector } from './backends/default-connector.js';
import { ListenerSet } from './protocols/common/listener.js';
import type { ProtocolDeps } from './protocols/common/deps.js';
import type { ServiceName, SessionFactory } from './protocols/common/session.js';
import { ImapSession } from './protocols/imap/session.js';
import { Pop3Session } from './protocols/pop3/session.js';
import { SmtpSession } from './protocols/smtp/session.js';
import { PwdSession, type PwdDeps } from './protocols/pwd/session.js';
import { DomainSecurityService } from './admin/domain-security.js';
import { startWebServers } from './http/common/web-server.js';
import { LoginHistory } from './http/common/login-history.js';

const log = logger('SYSTEM');

export interface Services {
  dataDir: string;
  store: SettingsStore;
  directory: Directory;
  passwords: PasswordService;
  admin: AdminService;
  close(): Promise<void>;
}

export async function openServices(dataDir: string, opts: { requireInit?: boolean } = {}): Promise<Services> {
  const dir = resolve(dataDir);
  const store = await openFileStore(dir);
  try {
    if ((opts.requireInit ?? true) && !(await store.get({ kind: 'server' }))) {
      throw new MailwardError('directory.notFound', `${dir} is not a Mailward data directory yet: run \`mailward init --data ${dataDir}\` first`);
    }
    const directory = new Directory(store);
    const passwords = new PasswordService(directory);
    const admin = new AdminService(directory, passwords);
    return { dataDir: dir, store, directory, passwords, admin, close: () => store.close() };
  } catch (e) {
    await store.close();
    throw e;
  }
}

/** A default main domain: this host's name when it is a usable domain name, else localhost. */
function defaultMainDomain(): string {
  const h = hostname().toLowerCase();
  return DOMAIN_NAME.test(h) ? h : 'localhost';
}

/** A generated password: 18 random bytes, 24 characters of base64url (144 bits). */
export function randomPassword(): string {
  return randomBytes(18).toString('base64url');
}

export interface InitResult { dataDir: string; mainDomain: string; postmasterPassword: string }

/**
 * Creates the server settings, the main domain and its postmaster with unlimited access (R2) and a
 * random password, which is returned once to be printed and is stored as Password Encryption says.
 */
export async function initDataDir(dataDir: string, opts: { mainDomain?: string } = {}): Promise<InitResult> {
  const s = await openServices(dataDir, { requireInit: false });
  try {
    return await initWith(s, opts);
  } finally {
    await s.close();
  }
}

async function initWith(s: Services, opts: { mainDomain?: string }): Promise<InitResult> {
  if (await s.store.get({ kind: 'server' })) throw new MailwardError('directory.exists', `${s.dataDir} is already initialised`);
  const mainDomain = (opts.mainDomain ?? defaultMainDomain()).toLowerCase();
  if (!DOMAIN_NAME.test(mainDomain)) throw new MailwardError('settings.invalid', `${JSON.stringify(mainDomain)} is not a valid domain name`);
  // The domain and the account first, the server settings last: a data directory counts as
  // initialised only once Main.settings exists, so an interrupted init can simply be run again.
  if (!(await s.store.listDomains()).includes(mainDomain)) await s.store.createDomain(mainDomain);
  if (!(await s.store.listAccounts(mainDomain)).includes('postmaster')) await s.store.createAccount(mainDomain, 'postmaster', dict());
  await s.store.put({ kind: 'access', domain: mainDomain }, dict({ postmaster: ['Master'] }));
  await s.store.put({ kind: 'server', }, dict({ MainDomainName: mainDomain }), null);
  const postmasterPassword = randomPassword();
  await s.passwords.setPassword(mainDomain, 'postmaster', postmasterPassword);
  log.major('system.initialised', { dataDir: s.dataDir, mainDomain });
  return { dataDir: s.dataDir, mainDomain, postmasterPassword };
}

export interface RunningServer {
  services: Services;
  runtime: Runtime;
  stop(): Promise<void>;
}

/**
 * Opens (and locks) a data directory for a server, initialising it on first run: the postmaster
 * password is printed then, and only then. The single-process server and the cluster's primary
 * start with it.
 */
export async function openForStart(dataDir: string, opts: { mainDomain?: string; print?: (line: string) => void } = {}): Promise<Services> {
  const print = opts.print ?? (() => {});
  const services = await openServices(dataDir, { requireInit: false });
  try {
    if (!(await services.store.get({ kind: 'server' }))) {
      const r = await initWith(services, opts);
      print(`Initialised a new data directory: ${r.dataDir}`);
      print(`Postmaster: postmaster@${r.mainDomain}`);
      print(`Postmaster password (shown once, store it now): ${r.postmasterPassword}`);
    }
    return services;
  } catch (e) {
    await services.close();
    throw e;
  }
}

/**
 * Starts Mailward on a data directory, initialising it on first run (the postmaster password is
 * printed then, and only then). Runs the services that exist so far.
 */
export async function startServer(dataDir: string, opts: { mainDomain?: string; print?: (line: string) => void } = {}): Promise<RunningServer> {
  const print = opts.print ?? (() => {});
  const services = await openForStart(dataDir, opts);
  try {
    const settings = await services.directory.serverSettings();
    configureLogging({ defaultLevel: settings.values.LogLevel, levels: settings.values.LogLevels });
    const runtime = await Runtime.start(services.directory, services.passwords);
    try {
      await startMailServices(services, runtime);
    } catch (e) {
      await runtime.stop();
      throw e;
    }
    print(`Mailward started on ${services.dataDir}`);
    print(`Main domain: ${settings.values.MainDomainName}; domains: ${(await services.directory.listDomains()).join(', ')}`);
    print(`Test certificate: CN=${runtime.testCertificate.mainDomain}, issued by Mailward test, valid until ${runtime.testCertificate.validTill.toISOString()}`);
    for (const line of listenerSummary(runtime)) print(line);
    print(START_HINT);
    log.major('system.started', { dataDir: services.dataDir });
    return {
      services,
      runtime,
      async stop() {
        log.major('system.stopping', {});
        await runtime.stop();
        await services.close();
      },
    };
  } catch (e) {
    await services.close();
    throw e;
  }
}

/** The last line of the start banner. */
export const START_HINT = 'Log in to the WebAdmin as postmaster; scripts can use the PWD/CLI port or the JSON API (docs/api.md).';

/**
 * Listeners for the given protocol services (issue 5; W3's PWD port), following `Listeners`.
 * `admin` serves PWD's CLI commands. Shared by the single-process server and the cluster mode.
 */
export async function addProtocolListeners(runtime: Runtime, s: { directory: Directory; admin: AdminService }, which: readonly ServiceName[]): Promise<void> {
  const { directory } = s;
  const deps: ProtocolDeps = {
    engine: runtime.engine,
    serverSettings: async () => (await directory.serverSettings()).values,
    backends: new DefaultBackendConnector({ directory }),
    hostname: () => directory.mainDomain(),
  };
  const pwdDeps: PwdDeps = { engine: runtime.engine, admin: s.admin, serverSettings: deps.serverSettings, hostname: deps.hostname };
  const factories: Record<ServiceName, SessionFactory> = {
    IMAP: (info) => new ImapSession(info, deps),
    POP: (info) => new Pop3Session(info, deps),
    SMTP: (info) => new SmtpSession(info, deps),
    PWD: (info) => new PwdSession(info, pwdDeps),
  };
  for (const service of which) {
    await runtime.add(new ListenerPart(service, new ListenerSet({ service, tls: runtime.tls, sessionFactory: factories[service] })));
  }
}

/** Everything the single-process server runs besides the runtime: protocol and web listeners. */
async function startMailServices(services: Services, runtime: Runtime): Promise<void> {
  const { directory } = services;
  // The running server's admin service also reads and clears lock-outs (the offline one cannot:
  // lock-out counters live in the server process).
  const admin = new AdminService(directory, services.passwords, runtime.engine);
  await addProtocolListeners(runtime, { directory, admin }, ['IMAP', 'POP', 'SMTP', 'PWD']);
  await addWebListeners(services, runtime, admin);
}

/** WebAdmin (with the CLI/JSON API) and WebUser, on the HTTPA and HTTPU listeners. Shared by the
 *  single-process server and the cluster's primary (they write settings and hold web sessions). */
export async function addWebListeners(services: Services, runtime: Runtime, admin: AdminService): Promise<void> {
  const { directory } = services;
  const settings = (await directory.serverSettings()).values;
  const web = await startWebServers({
    admin, security: new DomainSecurityService(admin, directory), directory, engine: runtime.engine,
    passwords: services.passwords, resolver: runtime.tls, history: new LoginHistory(),
    testCertificate: () => runtime.testCertificate,
  }, settings.Listeners);
  await runtime.add({
    name: 'web',
    async reconfigure(s) {
      for (const p of await web.apply(s.Listeners)) log.failure('listener.bind.failed', { service: 'HTTP', problem: p });
    },
    stop: () => web.close(),
  });
  runtime.webAddresses = (service) => web.addresses(service);
}

/** The banner's lines for the bound listeners; `web: false` leaves out the web listeners (a
 *  cluster worker runs none). */
export function listenerSummary(runtime: Runtime, opts: { web?: boolean } = {}): string[] {
  const lines = runtime.listeners().map(({ service, bound }) =>
    `${service}: ${bound.length ? bound.map((b) => `${b.address}:${b.port} (${b.config.TLS === 'implicit' ? 'TLS' : b.config.TLS === 'starttls' ? 'STARTTLS' : 'clear'})`).join(', ') : 'no listener bound'}`);
  if (opts.web === false) return lines;
  for (const [service, label] of [['HTTPA', 'WebAdmin'], ['HTTPU', 'WebUser']] as const) {
    const urls = runtime.webAddresses(service).map((a) => `${a.tls === 'clear' ? 'http' : 'https'}://${urlHost(a.address)}:${a.port}/`);
    lines.push(`${label}: ${urls.length ? urls.join(', ') : 'no listener bound'}`);
  }
  return lines;
}

/** A host for a URL: the wildcard address means "this machine", shown as localhost. */
function urlHost(address: string): string {
  if (address === '0.0.0.0' || address === '::') return 'localhost';
  return address.includes(':') ? `[${address}]` : address;
}
