/**
 * The directory service: domains, aliases, accounts, their settings (raw and effective) and the
 * access-rights files. Every interface (CLI, web, API, the auth engine) goes through it; none of
 * them touches a store. It keeps a read cache of parsed objects, invalidated by its own writes:
 * the data directory is locked by one process, so nothing else writes behind its back.
 */
import { MailwardError } from '../core/errors.js';
import { logger } from '../core/log.js';
import { dict, type CgDict, type CgValue } from '../settings/format/types.js';
import type { ObjectRef, SettingsStore, Versioned } from '../settings/store.js';
import { checkSettings, type AccountSettings, type DomainSettings, type Scope, type ServerSettings } from '../settings/schema.js';
import { resolveAccount, resolveDomain, resolveServer, type Resolved } from '../settings/effective.js';
import { expandRights, mayHold, parseRight, type Right } from './rights.js';
import { parseLogin } from './names.js';

const log = logger('DIRECTORY');

/** A settings change: a value sets the key, null removes it (back to the inherited value). */
export type SettingsChange = Record<string, CgValue | null>;

/** How many times a key-level update is retried when another writer got in between: the merge is
 *  recomputed on fresh data each time, so a retry never loses the other writer's keys. */
const UPDATE_RETRIES = 5;

export interface AccountRef { domain: string; account: string }

/** What changed: one settings object, or the set of domains. */
export type DirectoryChange = { kind: 'object'; ref: ObjectRef } | { kind: 'domains' };

export type LoginResolution =
  | { kind: 'account'; domain: string; account: string }
  | { kind: 'unknown-account'; domain: string; account: string }
  | { kind: 'unknown-domain'; domain: string; account: string }
  | { kind: 'malformed' };

/** The cache key of a settings object. Names never hold a NUL (object names are checked), so the
 *  parts cannot run into each other; built by hand, it is not a JSON serialisation per lookup. */
function refKey(r: ObjectRef): string {
  switch (r.kind) {
    case 'server': case 'serverAccountDefaults': return r.kind;
    case 'domain': case 'domainAccountDefaults': case 'access': return `${r.kind}\0${r.domain}`;
    case 'account': return `account\0${r.domain}\0${r.account}`;
  }
}

function where(r: ObjectRef): string {
  switch (r.kind) {
    case 'server': return 'Settings/Main.settings';
    case 'serverAccountDefaults': return 'Settings/AccountDefaults.settings';
    case 'domain': return `Domains/${r.domain}/Settings/Domain.settings`;
    case 'domainAccountDefaults': return `Domains/${r.domain}/Settings/AccountDefaults.settings`;
    case 'access': return `Domains/${r.domain}/Settings/Access.settings`;
    case 'account': return `Domains/${r.domain}/Accounts/${r.account}.macnt/account.settings`;
  }
}

function scopeOf(r: ObjectRef): Scope | null {
  switch (r.kind) {
    case 'server': return 'server';
    case 'domain': return 'domain';
    case 'account': case 'domainAccountDefaults': case 'serverAccountDefaults': return 'account';
    case 'access': return null;
  }
}

export class Directory {
  private readonly cache = new Map<string, Promise<Versioned | null>>();
  /** Account names per domain: every login asks whether its account exists, and listing a
   *  directory per login was a quarter of a login's CPU (docs/benchmarks.md). */
  private readonly accountNames = new Map<string, Promise<Set<string>>>();
  /** Effective account settings by the revisions of their three layers: decoding them per login
   *  was most of the rest. */
  private readonly effective = new Map<string, { revs: string; resolved: Resolved<AccountSettings> }>();
  private readonly resolvedObjects = new Map<string, { revision: string; value: unknown }>();
  private domainIndex: Promise<{ aliases: Map<string, string>; addresses: Map<string, string>; domains: Set<string> }> | null = null;

  private readonly changeListeners = new Set<(change: DirectoryChange) => void>();

  constructor(readonly store: SettingsStore) {}

  /** Called after every successful write, so running services (TLS contexts, listeners, the
   *  helper program) follow the settings without a restart. */
  onChange(fn: (change: DirectoryChange) => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  private changed(change: DirectoryChange): void {
    for (const fn of this.changeListeners) {
      try { fn(change); } catch (e) { log.failure('directory.listener.failed', { error: e }); }
    }
  }

  // ---- raw objects ----------------------------------------------------------------------------

  get(ref: ObjectRef): Promise<Versioned | null> {
    const k = refKey(ref);
    let p = this.cache.get(k);
    if (!p) {
      p = this.store.get(ref);
      this.cache.set(k, p);
      // A failed read (corrupt file) is not cached: the admin may fix the file and retry.
      p.catch(() => this.cache.delete(k));
    }
    return p;
  }

  private invalidate(ref?: ObjectRef): void {
    if (ref) this.cache.delete(refKey(ref)); else this.cache.clear();
    if (!ref || ref.kind === 'domain' || ref.kind === 'server') this.domainIndex = null;
    if (!ref) this.accountNames.clear();
    else if (ref.kind === 'account') this.accountNames.delete(ref.domain);
    this.effective.clear();
    this.resolvedObjects.clear();
  }

  /**
   * Forgets what is known about a domain's accounts, so the next lookup reads the store: for
   * accounts created behind the directory's back (E3: the External Authentication program made
   * one, and "the server looks the name up again").
   */
  forgetAccounts(domain: string): void {
    this.accountNames.delete(domain);
  }

  /**
   * Merges `change` into the object, checks the result against the schema and writes it. With
   * `expectedRevision`, fails with store.conflict if the object changed since it was read (the web
   * admin's forms carry the revision they showed, so two admins never overwrite each other).
   */
  async update(ref: ObjectRef, change: SettingsChange, expectedRevision?: string): Promise<string> {
    const scope = scopeOf(ref);
    for (let attempt = 0; ; attempt++) {
      this.invalidate(ref);
      const cur = await this.get(ref);
      if (expectedRevision !== undefined && (cur?.revision ?? null) !== expectedRevision) {
        throw new MailwardError('store.conflict', `${where(ref)} changed since it was read`);
      }
      const next = dict(cur ? Object.entries(cur.data) : []);
      for (const [k, v] of Object.entries(change)) {
        if (v === null) delete next[k]; else next[k] = v;
      }
      if (scope) {
        const problems = checkSettings(scope, next);
        if (problems.length) throw new MailwardError('settings.invalid', problems.map((p) => p.message).join('; '));
      }
      try {
        const rev = await this.store.put(ref, next, cur ? cur.revision : null);
        this.invalidate(ref);
        this.changed({ kind: 'object', ref });
        return rev;
      } catch (e) {
        this.invalidate(ref);
        if (!(e instanceof MailwardError && e.code === 'store.conflict') || expectedRevision !== undefined || attempt >= UPDATE_RETRIES) throw e;
      }
    }
  }

  /** Replaces the whole object (CLI Set* commands), after checking it. */
  async replace(ref: ObjectRef, data: CgDict, expectedRevision?: string): Promise<string> {
    const scope = scopeOf(ref);
    if (scope) {
      const problems = checkSettings(scope, data);
      if (problems.length) throw new MailwardError('settings.invalid', problems.map((p) => p.message).join('; '));
    }
    this.invalidate(ref);
    try {
      const rev = await this.store.put(ref, data, expectedRevision);
      this.changed({ kind: 'object', ref });
      return rev;
    } finally {
      this.invalidate(ref);
    }
  }

  // ---- server ---------------------------------------------------------------------------------

  async serverSettings(): Promise<Resolved<ServerSettings>> {
    const v = await this.get({ kind: 'server' });
    return this.resolvedBy(`server`, v?.revision ?? '', () => resolveServer(v?.data ?? null));
  }

  /** Decoded settings by object and revision: a login asks for the server's and its domain's
   *  settings several times, and decoding them (Listeners included) each time was hot-path work. */
  private resolvedBy<T>(key: string, revision: string, make: () => T): T {
    const hit = this.resolvedObjects.get(key);
    if (hit && hit.revision === revision) return hit.value as T;
    const value = make();
    this.resolvedObjects.set(key, { revision, value });
    return value;
  }

  async mainDomain(): Promise<string> {
    return (await this.serverSettings()).values.MainDomainName;
  }

  // ---- domains --------------------------------------------------------------------------------

  async listDomains(): Promise<string[]> {
    return this.store.listDomains();
  }

  private index() {
    this.domainIndex ??= (async () => {
      const domains = new Set(await this.store.listDomains());
      const aliases = new Map<string, string>();
      const addresses = new Map<string, string>();
      for (const d of domains) {
        const s = await this.domainSettings(d);
        for (const a of s.values.DomainAliases) aliases.set(a, d);
        for (const ip of s.values.LocalIPAddresses) addresses.set(ip, d);
      }
      return { aliases, addresses, domains };
    })();
    const p = this.domainIndex;
    p.catch(() => { if (this.domainIndex === p) this.domainIndex = null; });
    return p;
  }

  /** The canonical domain for a name or one of its aliases, or null. */
  async findDomain(nameOrAlias: string): Promise<string | null> {
    const n = nameOrAlias.toLowerCase();
    const ix = await this.index();
    if (ix.domains.has(n)) return n;
    return ix.aliases.get(n) ?? null;
  }

  /** The domain a local IP address is assigned to (T8, bare-name resolution), or null. */
  async domainForLocalAddress(ip: string): Promise<string | null> {
    const ix = await this.index();
    return ix.addresses.get(normalizeIp(ip)) ?? null;
  }

  async requireDomain(nameOrAlias: string): Promise<string> {
    const d = await this.findDomain(nameOrAlias);
    if (!d) throw new MailwardError('directory.notFound', `unknown domain ${nameOrAlias}`);
    return d;
  }

  async createDomain(name: string, settings: CgDict = dict()): Promise<void> {
    const n = name.toLowerCase();
    if (await this.findDomain(n)) throw new MailwardError('directory.exists', `domain ${n} already exists (as a domain or an alias)`);
    const problems = checkSettings('domain', settings);
    if (problems.length) throw new MailwardError('settings.invalid', problems.map((p) => p.message).join('; '));
    await this.store.createDomain(n);
    if (Object.keys(settings).length) await this.store.put({ kind: 'domain', domain: n }, settings, null);
    this.invalidate();
    log.major('domain.created', { domain: n });
    this.changed({ kind: 'domains' });
  }

  async renameDomain(from: string, to: string): Promise<void> {
    const f = await this.requireDomain(from);
    const t = to.toLowerCase();
    if (f === (await this.mainDomain())) throw new MailwardError('directory.refused', 'the main domain cannot be renamed: change MainDomainName after creating the new one');
    if (await this.findDomain(t)) throw new MailwardError('directory.exists', `domain ${t} already exists (as a domain or an alias)`);
    await this.store.renameDomain(f, t);
    this.invalidate();
    log.major('domain.renamed', { from: f, to: t });
    this.changed({ kind: 'domains' });
  }

  async deleteDomain(name: string): Promise<void> {
    const d = await this.requireDomain(name);
    if (d === (await this.mainDomain())) throw new MailwardError('directory.refused', 'the main domain cannot be deleted');
    await this.store.deleteDomain(d);
    this.invalidate();
    log.major('domain.deleted', { domain: d });
    this.changed({ kind: 'domains' });
  }

  async domainSettings(domain: string): Promise<Resolved<DomainSettings>> {
    const v = await this.get({ kind: 'domain', domain });
    return this.resolvedBy(`domain:${domain}`, v?.revision ?? '', () => resolveDomain(v?.data ?? null, where({ kind: 'domain', domain })));
  }

  async setDomainAliases(domain: string, aliases: string[]): Promise<void> {
    const d = await this.requireDomain(domain);
    const ix = await this.index();
    for (const a of aliases.map((x) => x.toLowerCase())) {
      const owner = ix.domains.has(a) ? a : ix.aliases.get(a);
      if (owner && owner !== d) throw new MailwardError('directory.exists', `${a} is already ${owner === a ? 'a domain' : `an alias of ${owner}`}`);
    }
    await this.update({ kind: 'domain', domain: d }, { DomainAliases: aliases.map((x) => x.toLowerCase()) });
  }

  // ---- accounts -------------------------------------------------------------------------------

  async listAccounts(domain: string): Promise<string[]> {
    return this.store.listAccounts(await this.requireDomain(domain));
  }

  async accountExists(domain: string, account: string): Promise<boolean> {
    let names = this.accountNames.get(domain);
    if (!names) {
      const p = this.store.listAccounts(domain).then((l) => new Set(l));
      names = p;
      this.accountNames.set(domain, p);
      p.catch(() => { if (this.accountNames.get(domain) === p) this.accountNames.delete(domain); });
    }
    return (await names).has(account.toLowerCase());
  }

  async requireAccount(domain: string, account: string): Promise<AccountRef> {
    const d = await this.requireDomain(domain);
    const a = account.toLowerCase();
    if (!(await this.accountExists(d, a))) throw new MailwardError('directory.notFound', `unknown account ${a}@${d}`);
    return { domain: d, account: a };
  }

  async createAccount(domain: string, account: string, settings: CgDict = dict()): Promise<AccountRef> {
    const d = await this.requireDomain(domain);
    const a = account.toLowerCase();
    const problems = checkSettings('account', settings);
    if (problems.length) throw new MailwardError('settings.invalid', problems.map((p) => p.message).join('; '));
    if (await this.accountExists(d, a)) throw new MailwardError('directory.exists', `account ${a}@${d} already exists`);
    await this.store.createAccount(d, a, settings);
    this.invalidate({ kind: 'account', domain: d, account: a });
    log.major('account.created', { account: `${a}@${d}` });
    return { domain: d, account: a };
  }

  async renameAccount(domain: string, from: string, to: string): Promise<void> {
    const r = await this.requireAccount(domain, from);
    const t = to.toLowerCase();
    if (await this.accountExists(r.domain, t)) throw new MailwardError('directory.exists', `account ${t}@${r.domain} already exists`);
    await this.store.renameAccount(r.domain, r.account, t);
    await this.moveRights(r.domain, r.account, t);
    this.invalidate();
    log.major('account.renamed', { from: `${r.account}@${r.domain}`, to: `${t}@${r.domain}` });
  }

  async deleteAccount(domain: string, account: string): Promise<void> {
    const r = await this.requireAccount(domain, account);
    if (r.account === 'postmaster' && r.domain === (await this.mainDomain())) {
      throw new MailwardError('directory.refused', 'the main domain\'s postmaster cannot be deleted (it holds unlimited access, R2)');
    }
    await this.store.deleteAccount(r.domain, r.account);
    await this.moveRights(r.domain, r.account, null);
    this.invalidate();
    log.major('account.deleted', { account: `${r.account}@${r.domain}` });
  }

  async accountSettings(domain: string, account: string): Promise<Versioned> {
    const r = await this.requireAccount(domain, account);
    return (await this.get({ kind: 'account', ...r })) ?? { data: dict(), revision: '' };
  }

  async effectiveAccountSettings(domain: string, account: string): Promise<Resolved<AccountSettings>> {
    const r = await this.requireAccount(domain, account);
    const [acc, dd, sd] = await Promise.all([
      this.get({ kind: 'account', ...r }),
      this.get({ kind: 'domainAccountDefaults', domain: r.domain }),
      this.get({ kind: 'serverAccountDefaults' }),
    ]);
    const key = `${r.account}@${r.domain}`;
    const revs = `${acc?.revision ?? ''}/${dd?.revision ?? ''}/${sd?.revision ?? ''}`;
    const hit = this.effective.get(key);
    if (hit && hit.revs === revs) return hit.resolved;
    const resolved = resolveAccount({
      account: acc?.data ?? null, accountWhere: where({ kind: 'account', ...r }),
      domainDefaults: dd?.data ?? null, domainWhere: where({ kind: 'domainAccountDefaults', domain: r.domain }),
      serverDefaults: sd?.data ?? null,
    });
    this.effective.set(key, { revs, resolved });
    return resolved;
  }

  /**
   * Name resolution (issue 3 step 1): `name@domain` or `name@alias`; a bare name goes to the domain
   * assigned to the local address the client connected to, else the main domain.
   */
  async resolveLogin(login: string, localAddress?: string): Promise<LoginResolution> {
    const p = parseLogin(login);
    if (!p) return { kind: 'malformed' };
    let domain: string | null;
    if (p.domain !== null) {
      domain = await this.findDomain(p.domain);
      if (!domain) return { kind: 'unknown-domain', domain: p.domain, account: p.name };
    } else {
      domain = (localAddress ? await this.domainForLocalAddress(localAddress) : null) ?? (await this.mainDomain());
      if (!(await this.findDomain(domain))) return { kind: 'unknown-domain', domain, account: p.name };
    }
    return (await this.accountExists(domain, p.name))
      ? { kind: 'account', domain, account: p.name }
      : { kind: 'unknown-account', domain, account: p.name };
  }

  // ---- access rights (R1–R4) -----------------------------------------------------------------

  async accessFile(domain: string): Promise<CgDict> {
    return (await this.get({ kind: 'access', domain }))?.data ?? dict();
  }

  /** The rights stored for an account (not expanded). R2: the main domain's postmaster always
   *  holds Master, whatever the file says, so the server can never lose its administrator. */
  async storedRights(domain: string, account: string): Promise<Right[]> {
    const main = await this.mainDomain();
    if (domain === main && account === 'postmaster') return ['Master'];
    const raw = (await this.accessFile(domain))[account];
    const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : [];
    const out: Right[] = [];
    for (const x of list) {
      const r = typeof x === 'string' ? parseRight(x) : null;
      // R1: a server-wide right written by hand into another domain's file is not honoured.
      if (r && mayHold(r, domain === main)) out.push(r);
    }
    return out;
  }

  async effectiveRights(domain: string, account: string): Promise<Set<Right>> {
    return expandRights(await this.storedRights(domain, account));
  }

  /** Writes an account's rights. The caller (the access service) has checked R3. */
  async writeRights(domain: string, account: string, rights: Right[]): Promise<void> {
    const main = await this.mainDomain();
    for (const r of rights) {
      if (!mayHold(r, domain === main)) throw new MailwardError('directory.refused', `${r} can be granted only to accounts of the main domain (R1)`);
    }
    await this.update({ kind: 'access', domain }, { [account]: rights.length ? [...new Set(rights)] : null });
    log.major('rights.changed', { account: `${account}@${domain}`, rights });
  }

  private async moveRights(domain: string, from: string, to: string | null): Promise<void> {
    const file = await this.accessFile(domain);
    const cur = file[from];
    if (cur === undefined) return;
    const change: SettingsChange = { [from]: null };
    if (to !== null) change[to] = cur;
    await this.update({ kind: 'access', domain }, change);
  }
}

function normalizeIp(ip: string): string {
  // Node reports IPv4 clients of a dual-stack socket as ::ffff:a.b.c.d.
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
