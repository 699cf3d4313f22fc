/**
 * The one command table of the CLI/API (W3). Each entry has CommuniGate Pro's command name and
 * argument grammar, named parameters, what it answers, the rights it needs (for the reference;
 * the AdminService enforces them, R5) and the call it makes. Everything else is generated from
 * this table: the PWD/CLI interpreter, the HTTP CLI and JSON API, the OpenAPI document, the
 * command reference in docs/api.md and the `mailward --server` client's calls.
 *
 * Mailward has no mailboxes (the backend holds them), so CommuniGate's account-type and storage
 * keywords are accepted and ignored: scripts that pass them keep working.
 */
import { MailwardError } from '../../core/errors.js';
import type { SettingsChange } from '../../directory/directory.js';
import type { Right } from '../../directory/rights.js';
import type { Resolved } from '../../settings/effective.js';
import { dict, isDict, type CgDict, type CgValue } from '../../settings/format/types.js';
import {
  ACCOUNT_SETTINGS, DEFAULT_LISTENERS, DOMAIN_SETTINGS, SERVER_SETTINGS, type SchemaTable,
} from '../../settings/schema.js';
import type { Actor, AdminService } from '../service.js';
import type { Json } from './json.js';
import { MODULES, findModule, rightFromName, rightToCgp, type ModuleDef } from './names.js';

// ---- shapes -------------------------------------------------------------------------------------

/** name: a domain or account name; secret: never logged, never echoed (passwords). */
export type ParamType = 'name' | 'string' | 'secret' | 'dictionary' | 'array' | 'value' | 'flag';

export interface ParamDef {
  name: string;
  type: ParamType;
  required: boolean;
  doc: string;
}

/** The CLI grammar of a command, slot by slot. */
export type Slot =
  /** A positional value for a parameter; an optional one is taken only when the argument has the
   *  parameter's type (so `UpdateDomainSettings { ... }` skips the optional domain name). */
  | { kind: 'param'; param: string; optional?: true }
  /** A keyword that must be there (`into`); `words` are its accepted spellings. */
  | { kind: 'keyword'; words: readonly string[] }
  /** An optional keyword that sets a flag parameter (`force`). */
  | { kind: 'flag'; param: string; words: readonly string[] }
  /** Optional keywords accepted and ignored (account types), with the reason shown in the reference. */
  | { kind: 'ignore'; words: readonly string[]; why: string }
  /** `KEYWORD value` (`PASSWORD "secret"`). */
  | { kind: 'keyed'; param: string; words: readonly string[]; optional?: true };

export type ArgValue = CgValue | boolean;
export type Args = Record<string, ArgValue>;

export type CommandResult =
  | { kind: 'none' }
  /** `json`: the JSON API's form when it differs from the data-format answer (CommuniGate's
   *  shapes are kept on the CLI; the JSON form is the natural one). */
  | { kind: 'data'; value: CgValue; json?: Json }
  /** Effective settings: the CLI answers the values, as CommuniGate does; JSON adds the sources. */
  | { kind: 'effective'; values: CgDict; sources: Record<string, string> }
  /** A yes/no check: the CLI answers OK or an error with `failure`; JSON answers true/false. */
  | { kind: 'check'; ok: boolean; failure: string };

/** What a command answers, for the reference and the OpenAPI document. */
export type ResultDoc = 'none' | 'string' | 'array' | 'dictionary' | 'effective' | 'check' | 'accounts' | 'rights' | 'lockout' | 'addresses';

export interface CommandContext {
  admin: AdminService;
  actor: Actor;
}

export interface CommandDef {
  name: string;
  origin: 'CommuniGate' | 'Mailward';
  summary: string;
  /** The CLI form, for the reference. */
  syntax: string;
  params: readonly ParamDef[];
  slots: readonly Slot[];
  returns: ResultDoc;
  /** Who may run it (R1-R5), as the AdminService decides; for the reference. */
  rights: string;
  example: { cli: string; json: Record<string, Json> };
  run(ctx: CommandContext, a: ArgReader): Promise<CommandResult>;
}

/** Typed access to arguments that checkArgs has already checked against the parameter table. */
export class ArgReader {
  constructor(private readonly args: Args) {}
  str(name: string): string { return this.args[name] as string; }
  optStr(name: string): string | undefined { const v = this.args[name]; return typeof v === 'string' ? v : undefined; }
  dict(name: string): CgDict { return this.args[name] as CgDict; }
  optDict(name: string): CgDict | undefined { const v = this.args[name]; return isDict(v as CgValue) ? (v as CgDict) : undefined; }
  array(name: string): CgValue[] { return this.args[name] as CgValue[]; }
  value(name: string): CgValue { return this.args[name] as CgValue; }
  flag(name: string): boolean { return this.args[name] === true; }
}

// ---- helpers ------------------------------------------------------------------------------------

const usage = (m: string) => new MailwardError('cli.usage', m);
const invalid = (m: string) => new MailwardError('settings.invalid', m);

const NONE: CommandResult = { kind: 'none' };

/** CommuniGate's Update* rule: a value of `default` (or #NULL#) removes the setting, so the
 *  inherited or built-in value applies again. */
function changeFrom(d: CgDict): SettingsChange {
  const out: SettingsChange = {};
  for (const [k, v] of Object.entries(d)) {
    Object.defineProperty(out, k, { value: v === null || (typeof v === 'string' && v.toLowerCase() === 'default') ? null : v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Scripts set passwords inside account settings (`{ Password = "..."; }`), as CommuniGate allows;
 *  Mailward stores a password only through the password service (hashed as Password Encryption
 *  says), so the key is taken out and set separately. */
function splitPassword(d: CgDict): { rest: CgDict; password: string | undefined } {
  const rest = dict(Object.entries(d).filter(([k]) => k !== 'Password'));
  const p = d.Password;
  if (p === undefined) return { rest, password: undefined };
  if (typeof p !== 'string') throw invalid('Password must be a string');
  return { rest, password: p };
}

/** The domain a command without a domain name means: the administrator's own domain, as in
 *  CommuniGate Pro; the main domain for the local (offline) actor. */
async function defaultDomain(ctx: CommandContext, given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  return ctx.actor.kind === 'account' ? ctx.actor.domain : ctx.admin.mainDomainName(ctx.actor);
}

/** CommuniGate's rule for account names without a domain: the administrator's own domain (the
 *  AdminService reads a bare name as the main domain, which is the same for main-domain admins
 *  and for the local actor). */
function account(ctx: CommandContext, a: ArgReader): string {
  const n = a.str('account');
  return ctx.actor.kind === 'account' && !n.includes('@') ? `${n}@${ctx.actor.domain}` : n;
}

/** Effective settings in their stored form, secrets shown as "(set)". */
export function encodeResolved(r: Resolved<object>, schema: SchemaTable): { values: CgDict; sources: Record<string, string> } {
  const values = dict();
  const sources: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.values)) {
    const d = schema[k];
    const empty = v === '' || (Array.isArray(v) && v.length === 0);
    values[k] = d?.secret && !empty ? '(set)' : d ? d.codec.encode(v) : String(v);
    sources[k] = (r.sources as Record<string, string>)[k] ?? 'default';
  }
  return { values, sources };
}

function effective(r: Resolved<object>, schema: SchemaTable): CommandResult {
  return { kind: 'effective', ...encodeResolved(r, schema) };
}

/** CommuniGate's address lists are multi-line strings (one address or range a line, `;` starts
 *  a comment); arrays are accepted too. */
function addressList(v: CgValue): string[] {
  if (typeof v === 'string') {
    return v.split(/\r\n|\r|\n/).map((l) => (l.includes(';') ? l.slice(0, l.indexOf(';')) : l).trim()).filter((l) => l !== '');
  }
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return (v as string[]).map((x) => x.trim()).filter((x) => x !== '');
  throw invalid('the addresses are a multi-line string or an array of strings');
}

function rightsFrom(v: CgValue[]): Right[] {
  return v.map((x) => {
    const r = typeof x === 'string' ? rightFromName(x) : null;
    if (!r) throw invalid(`unknown access right ${typeof x === 'string' ? JSON.stringify(x.slice(0, 64)) : '(not a string)'}: use Master, Users, Settings, Monitor or Domain (or Mailward's names)`);
    return r;
  });
}

async function moduleSettings(ctx: CommandContext, m: ModuleDef): Promise<CgDict> {
  const eff = encodeResolved(await ctx.admin.getServerEffectiveSettings(ctx.actor), SERVER_SETTINGS).values;
  if (m.kind === 'listeners') {
    const all = eff.Listeners;
    return dict({ Listeners: isDict(all) ? (all[m.name] ?? []) : [] });
  }
  return dict(m.keys.map((k) => [k, eff[k] ?? null] as const));
}

async function changeModule(ctx: CommandContext, m: ModuleDef, given: CgDict, replace: boolean): Promise<void> {
  if (m.kind === 'listeners') {
    for (const k of Object.keys(given)) if (k !== 'Listeners') throw invalid(`module ${m.name} has one setting, Listeners; ${JSON.stringify(k.slice(0, 64))} is not one of them`);
    const cur = encodeResolved(await ctx.admin.getServerEffectiveSettings(ctx.actor), SERVER_SETTINGS).values.Listeners;
    const all = dict(isDict(cur) ? Object.entries(cur) : []);
    const next = given.Listeners;
    if (next === undefined && !replace) return;
    all[m.name] = next === undefined || (typeof next === 'string' && next.toLowerCase() === 'default')
      ? (SERVER_SETTINGS.Listeners.codec.encode({ [m.name]: DEFAULT_LISTENERS[m.name] }) as CgDict)[m.name] ?? []
      : next;
    await ctx.admin.updateServerSettings(ctx.actor, { Listeners: all });
    return;
  }
  for (const k of Object.keys(given)) {
    if (!m.keys.includes(k)) {
      const home = MODULES.find((x) => x.kind === 'group' && x.keys.includes(k));
      throw invalid(`${JSON.stringify(k.slice(0, 64))} is not a setting of module ${m.name}${home ? ` (it belongs to ${home.name})` : ''}`);
    }
  }
  const change = changeFrom(given);
  if (replace) for (const k of m.keys) if (!(k in change)) change[k] = null;
  if (Object.keys(change).length) await ctx.admin.updateServerSettings(ctx.actor, change);
}

function moduleOf(name: string): ModuleDef {
  const m = findModule(name);
  if (!m) throw new MailwardError('directory.notFound', `unknown module ${JSON.stringify(name.slice(0, 64))} (known: ${MODULES.map((x) => x.name).join(', ')})`);
  return m;
}

// ---- parameters and slots used by many commands -----------------------------------------------

const P = {
  domain: { name: 'domain', type: 'name', required: true, doc: 'Domain name (or one of its aliases).' },
  optDomain: { name: 'domain', type: 'name', required: false, doc: "Domain name; without it, the administrator's own domain (the main domain offline)." },
  account: { name: 'account', type: 'name', required: true, doc: "Account name, `name@domain`; a bare name is in the caller's own domain (the main domain offline)." },
  newName: { name: 'newName', type: 'name', required: true, doc: 'The new name.' },
  settings: { name: 'settings', type: 'dictionary', required: true, doc: 'Settings dictionary; in Update commands a value `default` (or #NULL#) removes the setting.' },
  optSettings: { name: 'settings', type: 'dictionary', required: false, doc: 'Initial settings.' },
  password: { name: 'password', type: 'secret', required: true, doc: 'The password (never logged).' },
  module: { name: 'module', type: 'name', required: true, doc: `Module: ${MODULES.map((m) => m.name).join(', ')}.` },
} as const satisfies Record<string, ParamDef>;

const param = (p: string, optional?: true): Slot => (optional ? { kind: 'param', param: p, optional } : { kind: 'param', param: p });
const INTO: Slot = { kind: 'keyword', words: ['into'] };

/** CommuniGate's account types and storage options: mailbox layout, which the backend owns. */
const ACCOUNT_TYPES: Slot = {
  kind: 'ignore',
  words: ['MultiMailbox', 'TextMailbox', 'MailDirMailbox', 'SlicedMailbox', 'AppleMailbox', 'AGrade', 'BGrade', 'CGrade', 'DGrade', 'external', 'LEGACY'],
  why: 'mailbox types and storage belong to the backend mail server',
};

// ---- the table ------------------------------------------------------------------------------------

export const COMMANDS: readonly CommandDef[] = [
  // -- domains
  {
    name: 'ListDomains', origin: 'CommuniGate', summary: 'The names of the domains the caller may see.',
    syntax: 'ListDomains', params: [], slots: [], returns: 'array',
    rights: 'UserAccounts, ServerSettings or Monitor: every domain; DomainAdmin: its own domain.',
    example: { cli: 'ListDomains', json: {} },
    run: async (c) => ({ kind: 'data', value: await c.admin.listDomains(c.actor) }),
  },
  {
    name: 'MainDomainName', origin: 'CommuniGate', summary: 'The main domain name.',
    syntax: 'MainDomainName', params: [], slots: [], returns: 'string', rights: 'Any logged-in account.',
    example: { cli: 'MainDomainName', json: {} },
    run: async (c) => ({ kind: 'data', value: await c.admin.mainDomainName(c.actor) }),
  },
  {
    name: 'CreateDomain', origin: 'CommuniGate', summary: 'Creates a domain, optionally with settings.',
    syntax: 'CreateDomain domainName [ settings ]', params: [P.domain, P.optSettings], slots: [param('domain'), param('settings', true)],
    returns: 'none', rights: 'UserAccounts.',
    example: { cli: 'CreateDomain client1.com { DomainAliases = (mail.client1.com); }', json: { domain: 'client1.com', settings: { DomainAliases: ['mail.client1.com'] } } },
    run: async (c, a) => { await c.admin.createDomain(c.actor, a.str('domain'), a.optDict('settings') ?? dict()); return NONE; },
  },
  {
    name: 'RenameDomain', origin: 'CommuniGate', summary: 'Renames a domain (not the main domain).',
    syntax: 'RenameDomain oldDomainName into newDomainName', params: [P.domain, P.newName], slots: [param('domain'), INTO, param('newName')],
    returns: 'none', rights: 'UserAccounts.',
    example: { cli: 'RenameDomain client1.com into client2.com', json: { domain: 'client1.com', newName: 'client2.com' } },
    run: async (c, a) => { await c.admin.renameDomain(c.actor, a.str('domain'), a.str('newName')); return NONE; },
  },
  {
    name: 'DeleteDomain', origin: 'CommuniGate', summary: 'Deletes a domain; one that still has accounts only with `force`, which deletes them too.',
    syntax: 'DeleteDomain domainName [ force ]',
    params: [P.domain, { name: 'force', type: 'flag', required: false, doc: 'Delete the domain with all its accounts.' }],
    slots: [param('domain'), { kind: 'flag', param: 'force', words: ['force'] }], returns: 'none', rights: 'UserAccounts.',
    example: { cli: 'DeleteDomain client1.com force', json: { domain: 'client1.com', force: true } },
    run: async (c, a) => {
      if (!a.flag('force') && (await c.admin.listAccounts(c.actor, a.str('domain'))).length > 0) {
        throw new MailwardError('directory.refused', `domain ${a.str('domain')} has accounts: delete them first, or use DeleteDomain ${a.str('domain')} force`);
      }
      await c.admin.deleteDomain(c.actor, a.str('domain'));
      return NONE;
    },
  },
  {
    name: 'GetDomainSettings', origin: 'CommuniGate', summary: 'The stored settings of a domain (secrets shown as "(set)").',
    syntax: 'GetDomainSettings [ domainName ]', params: [P.optDomain], slots: [param('domain', true)], returns: 'dictionary',
    rights: 'UserAccounts, ServerSettings or Monitor; DomainAdmin for its own domain.',
    example: { cli: 'GetDomainSettings client1.com', json: { domain: 'client1.com' } },
    run: async (c, a) => ({ kind: 'data', value: await c.admin.getDomainSettings(c.actor, await defaultDomain(c, a.optStr('domain'))) }),
  },
  {
    name: 'UpdateDomainSettings', origin: 'CommuniGate', summary: 'Changes the given domain settings; the others stay.',
    syntax: 'UpdateDomainSettings [ domainName ] newSettings', params: [P.optDomain, P.settings], slots: [param('domain', true), param('settings')],
    returns: 'none', rights: 'UserAccounts; DomainAdmin for its own domain, except DomainAliases, LocalIPAddresses and ConsultExternalAuth.',
    example: { cli: 'UpdateDomainSettings client1.com { CertificateMode = Test; }', json: { domain: 'client1.com', settings: { CertificateMode: 'Test' } } },
    run: async (c, a) => { await c.admin.updateDomainSettings(c.actor, await defaultDomain(c, a.optStr('domain')), changeFrom(a.dict('settings'))); return NONE; },
  },
  {
    name: 'GetDomainEffectiveSettings', origin: 'CommuniGate', summary: 'Every domain setting with its effective value (JSON adds where each comes from).',
    syntax: 'GetDomainEffectiveSettings [ domainName ]', params: [P.optDomain], slots: [param('domain', true)], returns: 'effective',
    rights: 'As GetDomainSettings.',
    example: { cli: 'GetDomainEffectiveSettings client1.com', json: { domain: 'client1.com' } },
    run: async (c, a) => effective(await c.admin.getDomainEffectiveSettings(c.actor, await defaultDomain(c, a.optStr('domain'))), DOMAIN_SETTINGS),
  },
  {
    name: 'GetDomainAliases', origin: 'CommuniGate', summary: 'The aliases of a domain.',
    syntax: 'GetDomainAliases [ domainName ]', params: [P.optDomain], slots: [param('domain', true)], returns: 'array', rights: 'As GetDomainSettings.',
    example: { cli: 'GetDomainAliases client1.com', json: { domain: 'client1.com' } },
    run: async (c, a) => ({ kind: 'data', value: await c.admin.getDomainAliases(c.actor, await defaultDomain(c, a.optStr('domain'))) }),
  },
  {
    name: 'SetDomainAliases', origin: 'CommuniGate', summary: 'Replaces the aliases of a domain.',
    syntax: 'SetDomainAliases domainName newAliases', params: [P.domain, { name: 'aliases', type: 'array', required: true, doc: 'Array of alias names.' }],
    slots: [param('domain'), param('aliases')], returns: 'none', rights: 'UserAccounts.',
    example: { cli: 'SetDomainAliases client1.com (mail.client1.com, client1.net)', json: { domain: 'client1.com', aliases: ['mail.client1.com', 'client1.net'] } },
    run: async (c, a) => {
      const list = a.array('aliases');
      if (!list.every((x) => typeof x === 'string')) throw invalid('aliases must be strings');
      await c.admin.setDomainAliases(c.actor, a.str('domain'), list as string[]);
      return NONE;
    },
  },
  // -- accounts
  {
    name: 'ListAccounts', origin: 'CommuniGate', summary: 'The accounts of a domain: a dictionary name = macnt, as CommuniGate answers (JSON: an array of names).',
    syntax: 'ListAccounts [ domainName ]', params: [P.optDomain], slots: [param('domain', true)], returns: 'accounts', rights: 'As GetDomainSettings.',
    example: { cli: 'ListAccounts client1.com', json: { domain: 'client1.com' } },
    run: async (c, a) => {
      const names = await c.admin.listAccounts(c.actor, await defaultDomain(c, a.optStr('domain')));
      return { kind: 'data', value: dict(names.map((n) => [n, 'macnt'] as const)), json: names };
    },
  },
  {
    name: 'CreateAccount', origin: 'CommuniGate', summary: 'Creates an account. A Password in the settings (or the password parameter) is stored as Password Encryption says.',
    syntax: 'CreateAccount accountName [ accountType ] [ external ] [ settings ]',
    params: [P.account, P.optSettings, { name: 'password', type: 'secret', required: false, doc: 'Initial password (JSON form; on the CLI put Password in the settings).' }],
    slots: [param('account'), ACCOUNT_TYPES, param('settings', true)], returns: 'none', rights: 'UserAccounts; DomainAdmin in its own domain.',
    example: { cli: 'CreateAccount "user1@client1.com" TextMailbox { RealName = "User One"; Password = "correct horse"; }', json: { account: 'user1@client1.com', settings: { RealName: 'User One' }, password: 'correct horse' } },
    run: async (c, a) => {
      const { rest, password } = splitPassword(a.optDict('settings') ?? dict());
      const given = a.optStr('password');
      if (given !== undefined && password !== undefined) throw usage('give the password once: as the password parameter or as Password in the settings');
      await c.admin.createAccount(c.actor, account(c, a), rest, given ?? password);
      return NONE;
    },
  },
  {
    name: 'RenameAccount', origin: 'CommuniGate', summary: 'Renames an account within its domain.',
    syntax: 'RenameAccount oldAccountName into newAccountName', params: [P.account, P.newName], slots: [param('account'), INTO, param('newName')],
    returns: 'none', rights: 'UserAccounts; DomainAdmin in its own domain.',
    example: { cli: 'RenameAccount user1@client1.com into user2', json: { account: 'user1@client1.com', newName: 'user2' } },
    run: async (c, a) => { await c.admin.renameAccount(c.actor, account(c, a), a.str('newName')); return NONE; },
  },
  {
    name: 'DeleteAccount', origin: 'CommuniGate', summary: 'Deletes an account (never the main domain\'s postmaster).',
    syntax: 'DeleteAccount accountName', params: [P.account], slots: [param('account')], returns: 'none', rights: 'UserAccounts; DomainAdmin in its own domain.',
    example: { cli: 'DeleteAccount user2@client1.com', json: { account: 'user2@client1.com' } },
    run: async (c, a) => { await c.admin.deleteAccount(c.actor, account(c, a)); return NONE; },
  },
  {
    name: 'GetAccountSettings', origin: 'CommuniGate', summary: 'The stored settings of an account (the password shown as "(set)").',
    syntax: 'GetAccountSettings accountName', params: [P.account], slots: [param('account')], returns: 'dictionary',
    rights: 'UserAccounts, ServerSettings or Monitor; DomainAdmin in its own domain.',
    example: { cli: 'GetAccountSettings user1@client1.com', json: { account: 'user1@client1.com' } },
    run: async (c, a) => ({ kind: 'data', value: await c.admin.getAccountSettings(c.actor, account(c, a)) }),
  },
  {
    name: 'UpdateAccountSettings', origin: 'CommuniGate', summary: 'Changes the given account settings; a Password among them is set as SetAccountPassword does (after the other settings).',
    syntax: 'UpdateAccountSettings accountName newSettings', params: [P.account, P.settings], slots: [param('account'), param('settings')],
    returns: 'none', rights: 'UserAccounts; DomainAdmin in its own domain.',
    example: { cli: 'UpdateAccountSettings user1@client1.com { RequireSecureMethod = YES; UseSysPassword = default; }', json: { account: 'user1@client1.com', settings: { RequireSecureMethod: true, UseSysPassword: 'default' } } },
    run: async (c, a) => {
      const { rest, password } = splitPassword(a.dict('settings'));
      if (Object.keys(rest).length || password === undefined) await c.admin.updateAccountSettings(c.actor, account(c, a), changeFrom(rest));
      if (password !== undefined) await c.admin.setAccountPassword(c.actor, account(c, a), password);
      return NONE;
    },
  },
  {
    name: 'SetAccountSettings', origin: 'CommuniGate', summary: 'Replaces all settings of an account (the stored password is kept unless a Password is given).',
    syntax: 'SetAccountSettings accountName newSettings', params: [P.account, P.settings], slots: [param('account'), param('settings')],
    returns: 'none', rights: 'UserAccounts; DomainAdmin in its own domain.',
    example: { cli: 'SetAccountSettings user1@client1.com { RealName = "User One"; }', json: { account: 'user1@client1.com', settings: { RealName: 'User One' } } },
    run: async (c, a) => {
      const { rest, password } = splitPassword(a.dict('settings'));
      await c.admin.setAccountSettings(c.actor, account(c, a), rest);
      if (password !== undefined) await c.admin.setAccountPassword(c.actor, account(c, a), password);
      return NONE;
    },
  },
  {
    name: 'GetAccountEffectiveSettings', origin: 'CommuniGate', summary: 'Every account setting with its effective value, from the account, the domain defaults, the server defaults or the built-in default (JSON adds which).',
    syntax: 'GetAccountEffectiveSettings accountName', params: [P.account], slots: [param('account')], returns: 'effective', rights: 'As GetAccountSettings.',
    example: { cli: 'GetAccountEffectiveSettings user1@client1.com', json: { account: 'user1@client1.com' } },
    run: async (c, a) => effective(await c.admin.getAccountEffectiveSettings(c.actor, account(c, a)), ACCOUNT_SETTINGS),
  },
  {
    name: 'SetAccountPassword', origin: 'CommuniGate', summary: 'Sets the own password, stored as Password Encryption says (P3).',
    syntax: 'SetAccountPassword accountName PASSWORD newPassword   (TO newPassword is accepted too)', params: [P.account, P.password],
    slots: [param('account'), { kind: 'keyed', param: 'password', words: ['PASSWORD', 'TO'] }], returns: 'none', rights: 'UserAccounts; DomainAdmin in its own domain.',
    example: { cli: 'SetAccountPassword user1@client1.com PASSWORD "correct horse"', json: { account: 'user1@client1.com', password: 'correct horse' } },
    run: async (c, a) => { await c.admin.setAccountPassword(c.actor, account(c, a), a.str('password')); return NONE; },
  },
  {
    name: 'VerifyAccountPassword', origin: 'CommuniGate', summary: 'Checks a password against the own password: OK, or an error when it does not match (JSON: true or false).',
    syntax: 'VerifyAccountPassword accountName PASSWORD password', params: [P.account, P.password],
    slots: [param('account'), { kind: 'keyed', param: 'password', words: ['PASSWORD'] }], returns: 'check', rights: 'UserAccounts; DomainAdmin in its own domain.',
    example: { cli: 'VerifyAccountPassword user1@client1.com PASSWORD "correct horse"', json: { account: 'user1@client1.com', password: 'correct horse' } },
    run: async (c, a) => ({ kind: 'check', ok: await c.admin.verifyAccountPassword(c.actor, account(c, a), a.str('password')), failure: 'the password does not match' }),
  },
  // -- rights
  {
    name: 'GetAccountRights', origin: 'CommuniGate', summary: "An account's access rights, by CommuniGate's names (Master, Users, Settings, Monitor, Domain); JSON answers Mailward's names.",
    syntax: 'GetAccountRights accountName', params: [P.account], slots: [param('account')], returns: 'rights', rights: 'As GetAccountSettings.',
    example: { cli: 'GetAccountRights admin@client1.com', json: { account: 'admin@client1.com' } },
    run: async (c, a) => {
      const r = await c.admin.getAccountRights(c.actor, account(c, a));
      return { kind: 'data', value: r.map(rightToCgp), json: r };
    },
  },
  {
    name: 'SetAccountRights', origin: 'CommuniGate', summary: "Replaces an account's access rights (either vocabulary). The four server-wide rights only for main-domain accounts (R1).",
    syntax: 'SetAccountRights accountName newRights', params: [P.account, { name: 'rights', type: 'array', required: true, doc: 'Array of rights: Master, Users, Settings, Monitor, Domain (or UserAccounts, ServerSettings, DomainAdmin).' }],
    slots: [param('account'), param('rights')], returns: 'none', rights: 'Master (R3: only the holder of every right changes rights).',
    example: { cli: 'SetAccountRights admin@client1.com (Domain)', json: { account: 'admin@client1.com', rights: ['DomainAdmin'] } },
    run: async (c, a) => { await c.admin.setAccountRights(c.actor, account(c, a), rightsFrom(a.array('rights'))); return NONE; },
  },
  // -- account defaults
  {
    name: 'GetAccountDefaults', origin: 'CommuniGate', summary: "A domain's Default Account Settings.",
    syntax: 'GetAccountDefaults [ domainName ]', params: [P.optDomain], slots: [param('domain', true)], returns: 'dictionary', rights: 'As GetDomainSettings.',
    example: { cli: 'GetAccountDefaults client1.com', json: { domain: 'client1.com' } },
    run: async (c, a) => ({ kind: 'data', value: await c.admin.getAccountDefaults(c.actor, await defaultDomain(c, a.optStr('domain'))) }),
  },
  {
    name: 'UpdateAccountDefaults', origin: 'CommuniGate', summary: "Changes the given Default Account Settings of a domain.",
    syntax: 'UpdateAccountDefaults [ domainName ] newSettings', params: [P.optDomain, P.settings], slots: [param('domain', true), param('settings')],
    returns: 'none', rights: 'UserAccounts; DomainAdmin for its own domain.',
    example: { cli: 'UpdateAccountDefaults client1.com { RequireSecureMethod = YES; }', json: { domain: 'client1.com', settings: { RequireSecureMethod: 'YES' } } },
    run: async (c, a) => { await c.admin.updateAccountDefaults(c.actor, await defaultDomain(c, a.optStr('domain')), changeFrom(a.dict('settings'))); return NONE; },
  },
  {
    name: 'SetAccountDefaults', origin: 'CommuniGate', summary: "Replaces the Default Account Settings of a domain.",
    syntax: 'SetAccountDefaults [ domainName ] newSettings', params: [P.optDomain, P.settings], slots: [param('domain', true), param('settings')],
    returns: 'none', rights: 'UserAccounts; DomainAdmin for its own domain.',
    example: { cli: 'SetAccountDefaults client1.com { PasswordEncryption = U-crpt; }', json: { domain: 'client1.com', settings: { PasswordEncryption: 'U-crpt' } } },
    run: async (c, a) => { await c.admin.setAccountDefaults(c.actor, await defaultDomain(c, a.optStr('domain')), a.dict('settings')); return NONE; },
  },
  {
    name: 'GetServerAccountDefaults', origin: 'CommuniGate', summary: 'The server-wide Default Account Settings.',
    syntax: 'GetServerAccountDefaults', params: [], slots: [], returns: 'dictionary', rights: 'UserAccounts or Monitor.',
    example: { cli: 'GetServerAccountDefaults', json: {} },
    run: async (c) => ({ kind: 'data', value: await c.admin.getServerAccountDefaults(c.actor) }),
  },
  {
    name: 'UpdateServerAccountDefaults', origin: 'CommuniGate', summary: 'Changes the given server-wide Default Account Settings.',
    syntax: 'UpdateServerAccountDefaults newSettings', params: [P.settings], slots: [param('settings')], returns: 'none', rights: 'UserAccounts.',
    example: { cli: 'UpdateServerAccountDefaults { UseSysPassword = YES; }', json: { settings: { UseSysPassword: true } } },
    run: async (c, a) => { await c.admin.updateServerAccountDefaults(c.actor, changeFrom(a.dict('settings'))); return NONE; },
  },
  {
    name: 'SetServerAccountDefaults', origin: 'CommuniGate', summary: 'Replaces the server-wide Default Account Settings.',
    syntax: 'SetServerAccountDefaults newSettings', params: [P.settings], slots: [param('settings')], returns: 'none', rights: 'UserAccounts.',
    example: { cli: 'SetServerAccountDefaults { AccessModes = (IMAP, POP, SMTP); }', json: { settings: { AccessModes: ['IMAP', 'POP', 'SMTP'] } } },
    run: async (c, a) => { await c.admin.setServerAccountDefaults(c.actor, a.dict('settings')); return NONE; },
  },
  // -- server settings
  {
    name: 'GetClientIPs', origin: 'CommuniGate', summary: 'The Client IP Addresses (N1): a multi-line string, one address or range a line (JSON: an array).',
    syntax: 'GetClientIPs', params: [], slots: [], returns: 'addresses', rights: 'ServerSettings or Monitor.',
    example: { cli: 'GetClientIPs', json: {} },
    run: async (c) => {
      const list = (await c.admin.getServerEffectiveSettings(c.actor)).values.ClientIPAddresses;
      return { kind: 'data', value: list.join('\n'), json: list };
    },
  },
  {
    name: 'SetClientIPs', origin: 'CommuniGate', summary: 'Replaces the Client IP Addresses: a multi-line string (`;` starts a comment) or an array.',
    syntax: 'SetClientIPs newAddresses', params: [{ name: 'addresses', type: 'value', required: true, doc: 'Multi-line string ("10.0.0.0/8\\e192.168.1.1") or array of addresses and ranges.' }],
    slots: [param('addresses')], returns: 'none', rights: 'ServerSettings.',
    example: { cli: 'SetClientIPs "127.0.0.0/8\\e10.0.0.0/8\\e2001:db8::/32"', json: { addresses: ['127.0.0.0/8', '10.0.0.0/8', '2001:db8::/32'] } },
    run: async (c, a) => { await c.admin.updateServerSettings(c.actor, { ClientIPAddresses: addressList(a.value('addresses')) }); return NONE; },
  },
  {
    name: 'GetModule', origin: 'CommuniGate', summary: 'The settings of a module: a service (IMAP, POP, SMTP, HTTPA, HTTPU, PWD: its Listeners) or a settings page (LoginSecurity, TLSSessions, Helpers, Protection, ...).',
    syntax: 'GetModule moduleName', params: [P.module], slots: [param('module')], returns: 'dictionary', rights: 'ServerSettings or Monitor.',
    example: { cli: 'GetModule LoginSecurity', json: { module: 'LoginSecurity' } },
    run: async (c, a) => ({ kind: 'data', value: await moduleSettings(c, moduleOf(a.str('module'))) }),
  },
  {
    name: 'UpdateModule', origin: 'CommuniGate', summary: 'Changes the given settings of a module.',
    syntax: 'UpdateModule moduleName newSettings', params: [P.module, P.settings], slots: [param('module'), param('settings')], returns: 'none', rights: 'ServerSettings.',
    example: { cli: 'UpdateModule LoginSecurity { LoginFailureLimit = 5; LoginFailurePeriod = 15m; }', json: { module: 'LoginSecurity', settings: { LoginFailureLimit: 5, LoginFailurePeriod: '15m' } } },
    run: async (c, a) => { await changeModule(c, moduleOf(a.str('module')), a.dict('settings'), false); return NONE; },
  },
  {
    name: 'SetModule', origin: 'CommuniGate', summary: 'Replaces the settings of a module: the ones not given return to their defaults.',
    syntax: 'SetModule moduleName newSettings', params: [P.module, P.settings], slots: [param('module'), param('settings')], returns: 'none', rights: 'ServerSettings.',
    example: { cli: 'SetModule PWD { Listeners = ({ Address = 127.0.0.1; Port = 1106; TLS = implicit; }); }', json: { module: 'PWD', settings: { Listeners: [{ Address: '127.0.0.1', Port: 1106, TLS: 'implicit' }] } } },
    run: async (c, a) => { await changeModule(c, moduleOf(a.str('module')), a.dict('settings'), true); return NONE; },
  },
  {
    name: 'GetServerSettings', origin: 'Mailward', summary: 'The stored server-wide settings (every module at once).',
    syntax: 'GetServerSettings', params: [], slots: [], returns: 'dictionary', rights: 'ServerSettings or Monitor.',
    example: { cli: 'GetServerSettings', json: {} },
    run: async (c) => ({ kind: 'data', value: await c.admin.getServerSettings(c.actor) }),
  },
  {
    name: 'GetServerEffectiveSettings', origin: 'Mailward', summary: 'Every server-wide setting with its effective value (JSON adds where each comes from).',
    syntax: 'GetServerEffectiveSettings', params: [], slots: [], returns: 'effective', rights: 'ServerSettings or Monitor.',
    example: { cli: 'GetServerEffectiveSettings', json: {} },
    run: async (c) => effective(await c.admin.getServerEffectiveSettings(c.actor), SERVER_SETTINGS),
  },
  {
    name: 'UpdateServerSettings', origin: 'Mailward', summary: 'Changes the given server-wide settings, of any module.',
    syntax: 'UpdateServerSettings newSettings', params: [P.settings], slots: [param('settings')], returns: 'none', rights: 'ServerSettings.',
    example: { cli: 'UpdateServerSettings { RejectNonClientLogins = YES; }', json: { settings: { RejectNonClientLogins: true } } },
    run: async (c, a) => { await c.admin.updateServerSettings(c.actor, changeFrom(a.dict('settings'))); return NONE; },
  },
  // -- lock-out (H2)
  {
    name: 'GetAccountLockout', origin: 'Mailward', summary: 'Lock-out state (H2): failed logins within the period, and until when the account is suspended.',
    syntax: 'GetAccountLockout accountName', params: [P.account], slots: [param('account')], returns: 'lockout', rights: 'As GetAccountSettings.',
    example: { cli: 'GetAccountLockout user1@client1.com', json: { account: 'user1@client1.com' } },
    run: async (c, a) => {
      const s = await c.admin.getAccountLockout(c.actor, account(c, a));
      const value = dict({ Failures: s.failures });
      if (s.lockedUntil !== null) value.LockedUntil = new Date(s.lockedUntil);
      return { kind: 'data', value, json: { failures: s.failures, lockedUntil: s.lockedUntil === null ? null : new Date(s.lockedUntil).toISOString() } };
    },
  },
  {
    name: 'UnlockAccount', origin: 'Mailward', summary: 'Ends a lock-out (H2) and clears the failure count.',
    syntax: 'UnlockAccount accountName', params: [P.account], slots: [param('account')], returns: 'none', rights: 'UserAccounts; DomainAdmin in its own domain.',
    example: { cli: 'UnlockAccount user1@client1.com', json: { account: 'user1@client1.com' } },
    run: async (c, a) => { await c.admin.unlockAccount(c.actor, account(c, a)); return NONE; },
  },
];

const BY_NAME = new Map(COMMANDS.map((c) => [c.name.toLowerCase(), c]));

/** Command names are matched without regard to case, as CommuniGate does (CREATEMAILBOX). */
export function findCommand(name: string): CommandDef | undefined {
  return BY_NAME.get(name.toLowerCase());
}

// ---- argument checking, shared by the CLI and the JSON form ------------------------------------

function typeOk(t: ParamType, v: ArgValue): boolean {
  switch (t) {
    case 'name': return typeof v === 'string' && v !== '';
    case 'string': case 'secret': return typeof v === 'string';
    case 'dictionary': return typeof v !== 'boolean' && isDict(v);
    case 'array': return Array.isArray(v);
    case 'flag': return typeof v === 'boolean';
    case 'value': return typeof v !== 'boolean';
  }
}

const TYPE_WORDS: Record<ParamType, string> = {
  name: 'a name', string: 'a string', secret: 'a string', dictionary: 'a dictionary { ... }', array: 'an array ( ... )', flag: 'true or false', value: 'a value',
};

/** Checks named arguments against the parameter table; answers the arguments or a usage error. */
export function checkArgs(def: CommandDef, args: Args): ArgReader {
  for (const k of Object.keys(args)) {
    if (!def.params.some((p) => p.name === k)) throw usage(`${def.name} has no parameter ${JSON.stringify(k.slice(0, 64))} (it takes: ${def.params.map((p) => p.name).join(', ') || 'none'})`);
  }
  for (const p of def.params) {
    const v = args[p.name];
    if (v === undefined || v === null) {
      if (p.required) throw usage(`${def.name}: missing ${p.name}. Usage: ${def.syntax}`);
      delete args[p.name];
      continue;
    }
    if (!typeOk(p.type, v)) throw usage(`${def.name}: ${p.name} must be ${TYPE_WORDS[p.type]}`);
  }
  return new ArgReader(args);
}
