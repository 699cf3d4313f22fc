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
import { Runtime } from './runtime.js';

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
 * Starts Mailward on a data directory, initialising it on first run (the postmaster password is
 * printed then, and only then). Runs the services that exist so far.
 */
export async function startServer(dataDir: string, opts: { mainDomain?: string; print?: (line: string) => void } = {}): Promise<RunningServer> {
  const print = opts.print ?? (() => {});
  const services = await openServices(dataDir, { requireInit: false });
  try {
    if (!(await services.store.get({ kind: 'server' }))) {
      const r = await initWith(services, opts);
      print(`Initialised a new data directory: ${r.dataDir}`);
      print(`Postmaster: postmaster@${r.mainDomain}`);
      print(`Postmaster password (shown once, store it now): ${r.postmasterPassword}`);
    }
    const settings = await services.directory.serverSettings();
    configureLogging({ defaultLevel: settings.values.LogLevel, levels: settings.values.LogLevels });
    const runtime = await Runtime.start(services.directory, services.passwords);
    print(`Mailward started on ${services.dataDir}`);
    print(`Main domain: ${settings.values.MainDomainName}; domains: ${(await services.directory.listDomains()).join(', ')}`);
    print(`Test certificate: CN=${runtime.testCertificate.mainDomain}, issued by Mailward test, valid until ${runtime.testCertificate.validTill.toISOString()}`);
    print('Mail listeners (IMAP, POP3, SMTP) and the WebAdmin are not part of this build yet; manage the directory with `mailward --help`.');
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
