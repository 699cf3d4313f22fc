/**
 * The administration service: every operation of the CLI/API, the web admin and the `mailward`
 * command, with access rights enforced here and nowhere else (R5). An interface authenticates its
 * user, builds an `Actor` and calls these methods; it never checks rights itself.
 *
 * R1–R3 in one place:
 *  - Master (Can Modify Access Rights) implies every right; the main domain's postmaster holds it.
 *  - UserAccounts: create/rename/delete domains and accounts everywhere, change their settings.
 *  - ServerSettings: server-wide settings (listeners, login security, TLS, client addresses...).
 *  - Monitor: read server settings and state, never change them.
 *  - DomainAdmin: accounts and (most) settings of the actor's own domain only.
 *  - Only Master changes rights, so nobody grants a right they do not hold (R3).
 * A delegated domain administrator cannot see, list or guess other domains: a domain outside its
 * reach is reported exactly like a domain that does not exist.
 */
import { MailwardError } from '../core/errors.js';
import { logger } from '../core/log.js';
import type { CgDict } from '../settings/format/types.js';
import { dict } from '../settings/format/types.js';
import type { Resolved } from '../settings/effective.js';
import type { AccountSettings, DomainSettings, ServerSettings } from '../settings/schema.js';
import { ACCOUNT_SETTINGS, DOMAIN_SETTINGS, SERVER_SETTINGS } from '../settings/schema.js';
import type { Directory, SettingsChange } from '../directory/directory.js';
import { RIGHTS, type Right } from '../directory/rights.js';
import { parseLogin } from '../directory/names.js';

const log = logger('SYSTEM');

/** Who is asking. `local` is the offline command line, which already has the data directory's
 *  files in hand, so it holds every right. */
export type Actor =
  | { kind: 'local' }
  | { kind: 'account'; domain: string; account: string; rights: ReadonlySet<Right> };

/** Password operations, provided by the authentication layer (hashing per Password Encryption). */
export interface PasswordPort {
  setPassword(domain: string, account: string, password: string): Promise<void>;
  verifyPassword(domain: string, account: string, password: string): Promise<boolean>;
}

/** Lock-out state and unlock (H2), provided by the authentication engine, which owns the counters.
 *  Absent offline: the counters live in the running server's memory (or Redis), not in the data
 *  directory. */
export interface LockoutPort {
  lockoutState(domain: string, account: string): Promise<{ failures: number; lockedUntil: number | null }>;
  unlock(domain: string, account: string): Promise<void>;
}

/** Domain settings a delegated domain administrator may not change: they steer which connections
 *  reach which domain, so changing them would reach into other domains. */
const DOMAIN_ADMIN_LOCKED = new Set(['DomainAliases', 'LocalIPAddresses', 'ConsultExternalAuth']);

const denied = (what: string) => new MailwardError('directory.refused', `not allowed: ${what}`);
const hidden = (domain: string) => new MailwardError('directory.notFound', `unknown domain ${domain}`);

function redactSecrets(data: CgDict, table: Record<string, { secret?: boolean }>): CgDict {
  const out = dict();
  for (const [k, v] of Object.entries(data)) out[k] = table[k]?.secret && v !== '' ? '(set)' : v;
  return out;
}

/** Effective values as interfaces may show them: secrets (passwords, keys) become "(set)". */
function redactResolved<T extends object>(r: Resolved<T>, table: Record<string, { secret?: boolean }>): Resolved<T> {
  const values = { ...r.values } as Record<string, unknown>;
  for (const [k, v] of Object.entries(values)) {
    const empty = v === '' || (Array.isArray(v) && v.length === 0);
    if (table[k]?.secret && !empty) values[k] = '(set)';
  }
  return { values: values as T, sources: r.sources };
}

export class AdminService {
  constructor(readonly directory: Directory, private readonly passwords: PasswordPort, private readonly lockout?: LockoutPort) {}

  // ---- rights helpers --------------------------------------------------------------------------

  private has(actor: Actor, right: Right): boolean {
    return actor.kind === 'local' || actor.rights.has(right);
  }

  private require(actor: Actor, right: Right, what: string): void {
    if (!this.has(actor, right)) throw denied(what);
  }

  /** May the actor manage accounts of this (canonical) domain? Throws "unknown domain" when the
   *  actor may not even know the domain exists. */
  private async domainScope(actor: Actor, nameOrAlias: string): Promise<string> {
    const d = await this.directory.findDomain(nameOrAlias);
    if (this.has(actor, 'UserAccounts')) {
      if (!d) throw hidden(nameOrAlias);
      return d;
    }
    if (actor.kind === 'account' && d === actor.domain && actor.rights.has('DomainAdmin')) return d;
    if (actor.kind === 'account' && (this.has(actor, 'Monitor') || this.has(actor, 'ServerSettings'))) {
      if (!d) throw hidden(nameOrAlias);
      throw denied(`changing domain ${d}`);
    }
    throw hidden(nameOrAlias);
  }

  private async domainReadScope(actor: Actor, nameOrAlias: string): Promise<string> {
    const d = await this.directory.findDomain(nameOrAlias);
    if (d && (this.has(actor, 'Monitor') || this.has(actor, 'ServerSettings'))) return d;
    return this.domainScope(actor, nameOrAlias);
  }

  private async accountTarget(actor: Actor, address: string, forRead = false): Promise<{ domain: string; account: string }> {
    const p = parseLogin(address);
    if (!p) throw new MailwardError('name.invalid', `not an account name: ${JSON.stringify(address)}`);
    const domainName = p.domain ?? (await this.directory.mainDomain());
    const domain = forRead ? await this.domainReadScope(actor, domainName) : await this.domainScope(actor, domainName);
    return this.directory.requireAccount(domain, p.name);
  }

  // ---- server ----------------------------------------------------------------------------------

  async mainDomainName(_actor: Actor): Promise<string> {
    return this.directory.mainDomain();
  }

  async getServerSettings(actor: Actor): Promise<CgDict> {
    if (!this.has(actor, 'ServerSettings') && !this.has(actor, 'Monitor')) throw denied('reading server settings');
    return redactSecrets((await this.directory.get({ kind: 'server' }))?.data ?? dict(), SERVER_SETTINGS);
  }

  async getServerEffectiveSettings(actor: Actor): Promise<Resolved<ServerSettings>> {
    if (!this.has(actor, 'ServerSettings') && !this.has(actor, 'Monitor')) throw denied('reading server settings');
    return redactResolved(await this.directory.serverSettings(), SERVER_SETTINGS);
  }

  async updateServerSettings(actor: Actor, change: SettingsChange, expectedRevision?: string): Promise<void> {
    this.require(actor, 'ServerSettings', 'changing server settings');
    await this.directory.update({ kind: 'server' }, change, expectedRevision);
    log.major('admin.server.updated', { by: actorName(actor), keys: Object.keys(change) });
  }

  async getServerAccountDefaults(actor: Actor): Promise<CgDict> {
    if (!this.has(actor, 'UserAccounts') && !this.has(actor, 'Monitor')) throw denied('reading server account defaults');
    return redactSecrets((await this.directory.get({ kind: 'serverAccountDefaults' }))?.data ?? dict(), ACCOUNT_SETTINGS);
  }

  async updateServerAccountDefaults(actor: Actor, change: SettingsChange): Promise<void> {
    this.require(actor, 'UserAccounts', 'changing server account defaults');
    await this.directory.update({ kind: 'serverAccountDefaults' }, change);
  }

  async setServerAccountDefaults(actor: Actor, data: CgDict): Promise<void> {
    this.require(actor, 'UserAccounts', 'changing server account defaults');
    await this.directory.replace({ kind: 'serverAccountDefaults' }, data);
  }

  // ---- domains ---------------------------------------------------------------------------------

  async listDomains(actor: Actor): Promise<string[]> {
    if (this.has(actor, 'UserAccounts') || this.has(actor, 'Monitor') || this.has(actor, 'ServerSettings')) return this.directory.listDomains();
    if (actor.kind === 'account' && actor.rights.has('DomainAdmin')) return [actor.domain];
    throw denied('listing domains');
  }

  async createDomain(actor: Actor, name: string, settings: CgDict = dict()): Promise<void> {
    this.require(actor, 'UserAccounts', 'creating domains');
    await this.directory.createDomain(name, settings);
  }

  async renameDomain(actor: Actor, from: string, to: string): Promise<void> {
    this.require(actor, 'UserAccounts', 'renaming domains');
    await this.directory.renameDomain(from, to);
  }

  async deleteDomain(actor: Actor, name: string): Promise<void> {
    this.require(actor, 'UserAccounts', 'deleting domains');
    await this.directory.deleteDomain(name);
  }

  async getDomainSettings(actor: Actor, domain: string): Promise<CgDict> {
    const d = await this.domainReadScope(actor, domain);
    return redactSecrets((await this.directory.get({ kind: 'domain', domain: d }))?.data ?? dict(), DOMAIN_SETTINGS);
  }

  async getDomainEffectiveSettings(actor: Actor, domain: string): Promise<Resolved<DomainSettings>> {
    return redactResolved(await this.directory.domainSettings(await this.domainReadScope(actor, domain)), DOMAIN_SETTINGS);
  }

  /** The rights check of a domain settings change, for services that change a domain's settings
   *  in their own way (Domain Security). Returns the canonical domain name. */
  async authorizeDomainChange(actor: Actor, domain: string, keys: readonly string[]): Promise<string> {
    const d = await this.domainScope(actor, domain);
    if (!this.has(actor, 'UserAccounts')) {
      const locked = keys.filter((k) => DOMAIN_ADMIN_LOCKED.has(k));
      if (locked.length) throw denied(`changing ${locked.join(', ')}`);
    }
    return d;
  }

  /** The rights check of reading a domain's settings. Returns the canonical domain name. */
  async authorizeDomainRead(actor: Actor, domain: string): Promise<string> {
    return this.domainReadScope(actor, domain);
  }

  async updateDomainSettings(actor: Actor, domain: string, change: SettingsChange, expectedRevision?: string): Promise<void> {
    const d = await this.authorizeDomainChange(actor, domain, Object.keys(change));
    await this.directory.update({ kind: 'domain', domain: d }, change, expectedRevision);
  }

  async getDomainAliases(actor: Actor, domain: string): Promise<string[]> {
    return (await this.directory.domainSettings(await this.domainReadScope(actor, domain))).values.DomainAliases;
  }

  async setDomainAliases(actor: Actor, domain: string, aliases: string[]): Promise<void> {
    this.require(actor, 'UserAccounts', 'changing domain aliases');
    await this.directory.setDomainAliases(await this.domainScope(actor, domain), aliases);
  }

  async getAccountDefaults(actor: Actor, domain: string): Promise<CgDict> {
    const d = await this.domainReadScope(actor, domain);
    return redactSecrets((await this.directory.get({ kind: 'domainAccountDefaults', domain: d }))?.data ?? dict(), ACCOUNT_SETTINGS);
  }

  async updateAccountDefaults(actor: Actor, domain: string, change: SettingsChange): Promise<void> {
    const d = await this.domainScope(actor, domain);
    await this.directory.update({ kind: 'domainAccountDefaults', domain: d }, change);
  }

  async setAccountDefaults(actor: Actor, domain: string, data: CgDict): Promise<void> {
    const d = await this.domainScope(actor, domain);
    await this.directory.replace({ kind: 'domainAccountDefaults', domain: d }, data);
  }

  // ---- accounts --------------------------------------------------------------------------------

  async listAccounts(actor: Actor, domain?: string): Promise<string[]> {
    const d = await this.domainReadScope(actor, domain ?? (await this.directory.mainDomain()));
    return this.directory.listAccounts(d);
  }

  async createAccount(actor: Actor, address: string, settings: CgDict = dict(), password?: string): Promise<void> {
    const p = parseLogin(address);
    if (!p) throw new MailwardError('name.invalid', `not an account name: ${JSON.stringify(address)}`);
    const d = await this.domainScope(actor, p.domain ?? (await this.directory.mainDomain()));
    if ('Password' in settings) throw new MailwardError('settings.invalid', 'give the password separately, so it is stored as Password Encryption says');
    await this.directory.createAccount(d, p.name, settings);
    if (password !== undefined) await this.passwords.setPassword(d, p.name, password);
  }

  async renameAccount(actor: Actor, address: string, newName: string): Promise<void> {
    const t = await this.accountTarget(actor, address);
    const n = parseLogin(newName);
    if (!n || (n.domain !== null && (await this.directory.findDomain(n.domain)) !== t.domain)) {
      throw new MailwardError('directory.refused', 'an account is renamed within its own domain');
    }
    await this.directory.renameAccount(t.domain, t.account, n.name);
  }

  async deleteAccount(actor: Actor, address: string): Promise<void> {
    const t = await this.accountTarget(actor, address);
    await this.directory.deleteAccount(t.domain, t.account);
  }

  async getAccountSettings(actor: Actor, address: string): Promise<CgDict> {
    const t = await this.accountTarget(actor, address, true);
    return redactSecrets((await this.directory.accountSettings(t.domain, t.account)).data, ACCOUNT_SETTINGS);
  }

  async getAccountEffectiveSettings(actor: Actor, address: string): Promise<Resolved<AccountSettings>> {
    const t = await this.accountTarget(actor, address, true);
    return redactResolved(await this.directory.effectiveAccountSettings(t.domain, t.account), ACCOUNT_SETTINGS);
  }

  async updateAccountSettings(actor: Actor, address: string, change: SettingsChange, expectedRevision?: string): Promise<void> {
    const t = await this.accountTarget(actor, address);
    if ('Password' in change || 'ScramKeys' in change) throw new MailwardError('settings.invalid', 'use SetAccountPassword to change a password');
    await this.directory.update({ kind: 'account', ...t }, change, expectedRevision);
  }

  async setAccountSettings(actor: Actor, address: string, data: CgDict): Promise<void> {
    const t = await this.accountTarget(actor, address);
    if ('Password' in data || 'ScramKeys' in data) throw new MailwardError('settings.invalid', 'use SetAccountPassword to change a password');
    // Set replaces every setting but keeps the stored password: scripts that Set settings must not
    // wipe credentials by accident.
    const cur = (await this.directory.accountSettings(t.domain, t.account)).data;
    const next = dict(Object.entries(data));
    for (const k of ['Password', 'ScramKeys']) if (cur[k] !== undefined) next[k] = cur[k] as CgDict[string];
    await this.directory.replace({ kind: 'account', ...t }, next);
  }

  async setAccountPassword(actor: Actor, address: string, password: string): Promise<void> {
    const t = await this.accountTarget(actor, address);
    await this.passwords.setPassword(t.domain, t.account, password);
    log.major('admin.password.set', { by: actorName(actor), account: `${t.account}@${t.domain}` });
  }

  async verifyAccountPassword(actor: Actor, address: string, password: string): Promise<boolean> {
    const t = await this.accountTarget(actor, address);
    return this.passwords.verifyPassword(t.domain, t.account, password);
  }

  // ---- lock-out (H2) -----------------------------------------------------------------------------

  /** Who may read an account's settings may read its lock-out state (Monitor included). */
  async getAccountLockout(actor: Actor, address: string): Promise<{ failures: number; lockedUntil: number | null }> {
    const t = await this.accountTarget(actor, address, true);
    if (!this.lockout) throw new MailwardError('directory.refused', 'lock-out state is kept by the running server: ask it (mailward --server)');
    return this.lockout.lockoutState(t.domain, t.account);
  }

  /** Who may change an account may unlock it. */
  async unlockAccount(actor: Actor, address: string): Promise<void> {
    const t = await this.accountTarget(actor, address);
    if (!this.lockout) throw new MailwardError('directory.refused', 'lock-out state is kept by the running server: ask it (mailward --server)');
    await this.lockout.unlock(t.domain, t.account);
    log.major('admin.account.unlocked', { by: actorName(actor), account: `${t.account}@${t.domain}` });
  }

  // ---- rights ----------------------------------------------------------------------------------

  async getAccountRights(actor: Actor, address: string): Promise<Right[]> {
    const t = await this.accountTarget(actor, address, true);
    return this.directory.storedRights(t.domain, t.account);
  }

  /** R3: only holders of Master change rights, and (trivially, since Master implies all) nobody
   *  grants a right they do not hold. R1 is checked by the directory. */
  async setAccountRights(actor: Actor, address: string, rights: Right[]): Promise<void> {
    this.require(actor, 'Master', 'changing access rights');
    const t = await this.accountTarget(actor, address);
    for (const r of rights) if (!RIGHTS.includes(r)) throw new MailwardError('settings.invalid', `unknown right ${r}`);
    if (t.account === 'postmaster' && t.domain === (await this.directory.mainDomain())) {
      throw new MailwardError('directory.refused', 'the main domain\'s postmaster always has unlimited access (R2)');
    }
    await this.directory.writeRights(t.domain, t.account, rights);
  }
}

export function actorName(a: Actor): string {
  return a.kind === 'local' ? 'local' : `${a.account}@${a.domain}`;
}
