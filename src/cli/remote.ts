/**
 * The `mailward` command's remote mode (W3): with `--server URL` (or MAILWARD_SERVER), the same
 * subcommands call a running server's JSON API (src/http/api) instead of opening the data
 * directory. `RemoteAdmin` offers the AdminService methods the subcommands use, each one a
 * `POST /api/v1/<Command>` of the command table, so main.ts keeps its single subcommand table and
 * only the transport changes.
 *
 *   mailward domain list --server https://mail.example.com:9010 --user postmaster --ca test-ca.pem
 *   MAILWARD_PASSWORD=... mailward account create bob@example.com --server http://127.0.0.1:8010 --user postmaster
 *
 * Credentials: `--user` (or MAILWARD_USER), and the password from MAILWARD_PASSWORD or else the
 * first line of standard input (never from the command line, where `ps` shows it). The server
 * takes HTTP Basic only over HTTPS, or on its clear loopback admin listener; this client refuses
 * to send a password over clear HTTP to any other host, before the server could refuse it.
 * `--ca FILE` (or MAILWARD_CA) names the PEM certificates to trust (the Test Certificate's CA,
 * for instance); without it the system's trusted authorities are used.
 */
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { ERROR_CODES, MailwardError, type ErrorCode } from '../core/errors.js';
import { isLoopback } from '../access/addresses.js';
import type { Actor, AdminService } from '../admin/service.js';
import type { SettingsChange } from '../directory/directory.js';
import { parseRight, type Right } from '../directory/rights.js';
import type { Resolved } from '../settings/effective.js';
import { dict, isDict, type CgDict, type CgValue } from '../settings/format/types.js';
import { ACCOUNT_SETTINGS, DOMAIN_SETTINGS, SERVER_SETTINGS, type AccountSettings, type DomainSettings, type SchemaTable, type ServerSettings } from '../settings/schema.js';
import { fromJson, toJson, type Json } from '../admin/cli/json.js';
import { readPasswordFromStdin } from './prompt.js';

/** The AdminService operations the `mailward` subcommands use: offline the service itself,
 *  remote a RemoteAdmin. */
export type AdminCalls = Pick<AdminService,
  | 'getServerSettings' | 'getServerEffectiveSettings' | 'updateServerSettings'
  | 'getServerAccountDefaults' | 'updateServerAccountDefaults' | 'getAccountDefaults' | 'updateAccountDefaults'
  | 'listDomains' | 'createDomain' | 'renameDomain' | 'deleteDomain' | 'getDomainSettings' | 'getDomainEffectiveSettings'
  | 'updateDomainSettings' | 'getDomainAliases' | 'setDomainAliases'
  | 'listAccounts' | 'createAccount' | 'renameAccount' | 'deleteAccount' | 'getAccountSettings' | 'getAccountEffectiveSettings'
  | 'updateAccountSettings' | 'setAccountPassword' | 'verifyAccountPassword' | 'getAccountRights' | 'setAccountRights'
  | 'getAccountLockout' | 'unlockAccount'>;

/** Options every remote-capable subcommand takes (main.ts adds them to its table). */
export const REMOTE_OPTIONS = {
  server: { type: 'string' },
  user: { type: 'string' },
  ca: { type: 'string' },
} as const;

/** A server that has not answered in this time is reported as unreachable: an admin command is
 *  one short request; a hung connection must not hang a script for ever. */
export const REMOTE_TIMEOUT_MS = 30_000;
/** Largest answer read: an effective-settings dictionary is a few KiB; a CA chain setting 256 KiB. */
export const REMOTE_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

export interface RemoteTarget { url: URL; user: string; caFile: string | undefined }

/** The remote target from the options and the environment, or null for offline mode. */
export function remoteTarget(values: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): RemoteTarget | null {
  const server = typeof values.server === 'string' ? values.server : env.MAILWARD_SERVER;
  if (server === undefined || server === '') return null;
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new MailwardError('cli.usage', `--server must be a URL such as https://mail.example.com:9010, got ${JSON.stringify(server)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new MailwardError('cli.usage', '--server must be an https:// (or loopback http://) URL');
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new MailwardError('cli.usage', 'a password is sent over clear HTTP only to this host (http://127.0.0.1:8010, the loopback admin listener): use https://');
  }
  const user = typeof values.user === 'string' ? values.user : env.MAILWARD_USER;
  if (user === undefined || user === '') throw new MailwardError('cli.usage', 'remote mode needs --user NAME (or MAILWARD_USER)');
  const caFile = typeof values.ca === 'string' ? values.ca : env.MAILWARD_CA || undefined;
  return { url, user, caFile };
}

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  return isIP(h) !== 0 && isLoopback(h);
}

/**
 * Opens a remote admin. `stdinTaken`: the subcommand reads an account's password from standard
 * input itself, so the admin password must come from MAILWARD_PASSWORD.
 */
export async function openRemoteAdmin(t: RemoteTarget, stdinTaken: boolean, env: NodeJS.ProcessEnv = process.env): Promise<RemoteAdmin> {
  let password = env.MAILWARD_PASSWORD;
  if (password === undefined || password === '') {
    if (stdinTaken) throw new MailwardError('cli.usage', 'this command reads the account password from standard input: give the admin password in MAILWARD_PASSWORD');
    password = await readPasswordFromStdin();
  }
  const ca = t.caFile ? await readFile(t.caFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new MailwardError('cli.usage', `cannot read the CA file ${t.caFile}: ${e.code ?? e.message}`);
  }) : undefined;
  return new RemoteAdmin(t.url, t.user, password, ca);
}

const asDict = (v: Json | undefined): CgDict => {
  const r = v === undefined ? null : fromJson(v);
  return r && r.ok && isDict(r.value) ? r.value : dict();
};

/** Effective settings as the API sends them, back to a Resolved for the table main.ts prints.
 *  Secrets arrive as "(set)" and stay text. */
function resolved<T>(v: Json | undefined, schema: SchemaTable): Resolved<T> {
  const o = (v ?? {}) as { values?: Json; sources?: Record<string, string> };
  const raw = asDict(o.values);
  const values: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(raw)) {
    const d = schema[k];
    const dec = d && !d.secret ? d.codec.decode(x) : null;
    values[k] = dec?.ok ? dec.value : x;
  }
  return { values: values as T, sources: (o.sources ?? {}) as Resolved<T>['sources'] };
}

const change = (c: SettingsChange): Json => toJson(dict(Object.entries(c).map(([k, v]) => [k, v] as [string, CgValue])));

export class RemoteAdmin implements AdminCalls {
  readonly #auth: string;

  constructor(private readonly base: URL, user: string, password: string, private readonly ca?: string) {
    this.#auth = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
  }

  /** One command of the API; its result, or a MailwardError with the server's code and message. */
  async call(command: string, args: Record<string, Json> = {}): Promise<Json | undefined> {
    const body = JSON.stringify(args);
    const url = new URL(`api/v1/${command}`, this.base.href.endsWith('/') ? this.base : `${this.base.href}/`);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const text = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = send(url, {
        method: 'POST',
        headers: { authorization: this.#auth, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), accept: 'application/json' },
        timeout: REMOTE_TIMEOUT_MS,
        ...(this.ca && url.protocol === 'https:' ? { ca: this.ca } : {}),
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${REMOTE_TIMEOUT_MS / 1000} s`)));
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > REMOTE_MAX_RESPONSE_BYTES) { req.destroy(new Error('answer too large')); return; }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.end(body);
    }).catch((e: Error) => {
      throw new MailwardError('store.io', `cannot reach ${this.base.origin}: ${e.message}`);
    });
    let j: { ok?: boolean; result?: Json; error?: { code?: string; message?: string } };
    try {
      j = JSON.parse(text.text) as typeof j;
    } catch {
      throw new MailwardError('store.io', `${this.base.origin} did not answer as the Mailward API (HTTP ${text.status})`);
    }
    if (j.ok === true) return j.result;
    const code = j.error?.code ?? 'internal';
    const message = `${j.error?.message ?? `HTTP ${text.status}`}${code.startsWith('auth.') || code.startsWith('api.') ? ` (${code})` : ''}`;
    if (Object.hasOwn(ERROR_CODES, code)) throw new MailwardError(code as ErrorCode, message);
    // Refused logins read as refusals; the rest (unknown command: an older server) as errors.
    throw new MailwardError(code.startsWith('auth.') ? 'directory.refused' : 'internal', message);
  }

  async getServerSettings(_a: Actor): Promise<CgDict> { return asDict(await this.call('GetServerSettings')); }
  async getServerEffectiveSettings(_a: Actor): Promise<Resolved<ServerSettings>> { return resolved(await this.call('GetServerEffectiveSettings'), SERVER_SETTINGS); }
  async updateServerSettings(_a: Actor, c: SettingsChange): Promise<void> { await this.call('UpdateServerSettings', { settings: change(c) }); }
  async getServerAccountDefaults(_a: Actor): Promise<CgDict> { return asDict(await this.call('GetServerAccountDefaults')); }
  async updateServerAccountDefaults(_a: Actor, c: SettingsChange): Promise<void> { await this.call('UpdateServerAccountDefaults', { settings: change(c) }); }
  async getAccountDefaults(_a: Actor, domain: string): Promise<CgDict> { return asDict(await this.call('GetAccountDefaults', { domain })); }
  async updateAccountDefaults(_a: Actor, domain: string, c: SettingsChange): Promise<void> { await this.call('UpdateAccountDefaults', { domain, settings: change(c) }); }
  async listDomains(_a: Actor): Promise<string[]> { return (await this.call('ListDomains')) as string[]; }
  async createDomain(_a: Actor, domain: string, settings: CgDict = dict()): Promise<void> { await this.call('CreateDomain', { domain, settings: toJson(settings) }); }
  async renameDomain(_a: Actor, domain: string, newName: string): Promise<void> { await this.call('RenameDomain', { domain, newName }); }
  /** Offline, `domain delete` deletes the domain with its accounts: `force` keeps that meaning. */
  async deleteDomain(_a: Actor, domain: string): Promise<void> { await this.call('DeleteDomain', { domain, force: true }); }
  async getDomainSettings(_a: Actor, domain: string): Promise<CgDict> { return asDict(await this.call('GetDomainSettings', { domain })); }
  async getDomainEffectiveSettings(_a: Actor, domain: string): Promise<Resolved<DomainSettings>> { return resolved(await this.call('GetDomainEffectiveSettings', { domain }), DOMAIN_SETTINGS); }
  async updateDomainSettings(_a: Actor, domain: string, c: SettingsChange): Promise<void> { await this.call('UpdateDomainSettings', { domain, settings: change(c) }); }
  async getDomainAliases(_a: Actor, domain: string): Promise<string[]> { return (await this.call('GetDomainAliases', { domain })) as string[]; }
  async setDomainAliases(_a: Actor, domain: string, aliases: string[]): Promise<void> { await this.call('SetDomainAliases', { domain, aliases }); }
  async listAccounts(_a: Actor, domain?: string): Promise<string[]> { return (await this.call('ListAccounts', domain === undefined ? {} : { domain })) as string[]; }
  async createAccount(_a: Actor, account: string, settings: CgDict = dict(), password?: string): Promise<void> {
    await this.call('CreateAccount', { account, settings: toJson(settings), ...(password === undefined ? {} : { password }) });
  }
  async renameAccount(_a: Actor, account: string, newName: string): Promise<void> { await this.call('RenameAccount', { account, newName }); }
  async deleteAccount(_a: Actor, account: string): Promise<void> { await this.call('DeleteAccount', { account }); }
  async getAccountSettings(_a: Actor, account: string): Promise<CgDict> { return asDict(await this.call('GetAccountSettings', { account })); }
  async getAccountEffectiveSettings(_a: Actor, account: string): Promise<Resolved<AccountSettings>> { return resolved(await this.call('GetAccountEffectiveSettings', { account }), ACCOUNT_SETTINGS); }
  async updateAccountSettings(_a: Actor, account: string, c: SettingsChange): Promise<void> { await this.call('UpdateAccountSettings', { account, settings: change(c) }); }
  async setAccountPassword(_a: Actor, account: string, password: string): Promise<void> { await this.call('SetAccountPassword', { account, password }); }
  async verifyAccountPassword(_a: Actor, account: string, password: string): Promise<boolean> { return (await this.call('VerifyAccountPassword', { account, password })) === true; }
  async getAccountRights(_a: Actor, account: string): Promise<Right[]> {
    return ((await this.call('GetAccountRights', { account })) as string[]).map((r) => parseRight(r)).filter((r): r is Right => r !== null);
  }
  async setAccountRights(_a: Actor, account: string, rights: Right[]): Promise<void> { await this.call('SetAccountRights', { account, rights }); }
  /** The API sends lockedUntil as an ISO time (or null); back to epoch ms as the service gives it. */
  async getAccountLockout(_a: Actor, account: string): Promise<{ failures: number; lockedUntil: number | null }> {
    const r = (await this.call('GetAccountLockout', { account })) as { failures?: unknown; lockedUntil?: unknown } | undefined;
    const until = typeof r?.lockedUntil === 'string' ? Date.parse(r.lockedUntil) : Number.NaN;
    return { failures: typeof r?.failures === 'number' ? r.failures : 0, lockedUntil: Number.isFinite(until) ? until : null };
  }
  async unlockAccount(_a: Actor, account: string): Promise<void> { await this.call('UnlockAccount', { account }); }
}
