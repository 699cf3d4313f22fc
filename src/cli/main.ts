/**
 * The `mailward` command. Offline, it opens the data directory itself (refused while a server
 * holds the directory lock); every operation goes through the AdminService, the same service the
 * CLI/API and the web admin call. With --server URL, the same subcommands call a running server's
 * JSON API instead (remote.ts): only the transport changes.
 */
import { MailwardError, isMailwardError } from '../core/errors.js';
import { parse, serialize } from '../settings/format/index.js';
import { dict, isDict, type CgValue } from '../settings/format/types.js';
import type { SettingsChange } from '../directory/directory.js';
import { parseRight, type Right } from '../directory/rights.js';
import type { Resolved } from '../settings/effective.js';
import { parseCommand, type CommandSpec, type Parsed } from './args.js';
import { initDataDir, openServices, startServer, type Services } from '../main.js';
import { MAX_WORKERS, autoWorkers, startCluster } from '../cluster.js';
import { configurationReference } from '../settings/reference.js';
import { ACCOUNT_SETTINGS, DOMAIN_SETTINGS, SERVER_SETTINGS, type SchemaTable } from '../settings/schema.js';
import { configureLogging, LOG_LEVELS, type LogLevel } from '../core/log.js';
import { readPasswordFromStdin } from './prompt.js';
import { REMOTE_OPTIONS, openRemoteAdmin, remoteTarget, type AdminCalls } from './remote.js';

const settingsOptions = {
  set: { type: 'string', multiple: true },
  unset: { type: 'string', multiple: true },
} as const;

const SPECS: CommandSpec[] = [
  { path: ['init'], usage: 'init [--main-domain NAME]', summary: 'Create a data directory, its main domain and the postmaster account (prints a random password once).', options: { 'main-domain': { type: 'string' } } },
  {
    path: ['start'], usage: 'start [--main-domain NAME] [--workers N|auto]',
    summary: 'Start Mailward on the data directory (initialising it on first run). --workers N (auto: one per CPU) serves IMAP, POP and SMTP from N worker processes; the primary keeps the data directory, the PWD port, the WebAdmin/API and WebUser, and the lock-out counters. Default 1: one process.',
    options: { 'main-domain': { type: 'string' }, workers: { type: 'string', default: '1' } },
  },
  { path: ['server', 'show'], usage: 'server show', summary: 'Show the stored server-wide settings.' },
  { path: ['server', 'effective'], usage: 'server effective', summary: 'Show every server-wide setting with its effective value and where it comes from.' },
  { path: ['server', 'update'], usage: "server update ['{ Key = Value; }'] [--set K=V] [--unset K]", summary: 'Change server-wide settings.', options: settingsOptions, args: [0, 1] },
  { path: ['defaults', 'show'], usage: 'defaults show [DOMAIN]', summary: 'Show Default Account Settings: server-wide, or of one domain.', args: [0, 1] },
  { path: ['defaults', 'update'], usage: "defaults update [DOMAIN] ['{...}'] [--set K=V] [--unset K]", summary: 'Change Default Account Settings (server-wide without DOMAIN).', options: { ...settingsOptions, domain: { type: 'string' } }, args: [0, 1] },
  { path: ['domain', 'list'], usage: 'domain list', summary: 'List domains.' },
  { path: ['domain', 'create'], usage: "domain create NAME ['{...}']", summary: 'Create a domain.', args: [1, 2] },
  { path: ['domain', 'rename'], usage: 'domain rename NAME NEWNAME', summary: 'Rename a domain.', args: [2, 2] },
  { path: ['domain', 'delete'], usage: 'domain delete NAME', summary: 'Delete a domain and all its accounts.', args: [1, 1] },
  { path: ['domain', 'show'], usage: 'domain show NAME', summary: 'Show the stored settings of a domain.', args: [1, 1] },
  { path: ['domain', 'effective'], usage: 'domain effective NAME', summary: 'Show the effective settings of a domain, with their sources.', args: [1, 1] },
  { path: ['domain', 'update'], usage: "domain update NAME ['{...}'] [--set K=V] [--unset K]", summary: 'Change domain settings.', options: settingsOptions, args: [1, 2] },
  { path: ['domain', 'aliases'], usage: 'domain aliases NAME [ALIAS...] [--set-aliases]', summary: 'Show the aliases of a domain, or replace them with --set-aliases.', options: { 'set-aliases': { type: 'boolean', default: false } }, args: [1, 1000] },
  { path: ['account', 'list'], usage: 'account list [DOMAIN]', summary: 'List the accounts of a domain (the main domain by default).', args: [0, 1] },
  { path: ['account', 'create'], usage: "account create NAME@DOMAIN ['{...}'] [--password-stdin]", summary: 'Create an account; --password-stdin reads its password from standard input.', options: { 'password-stdin': { type: 'boolean', default: false } }, args: [1, 2] },
  { path: ['account', 'rename'], usage: 'account rename NAME@DOMAIN NEWNAME', summary: 'Rename an account within its domain.', args: [2, 2] },
  { path: ['account', 'delete'], usage: 'account delete NAME@DOMAIN', summary: 'Delete an account.', args: [1, 1] },
  { path: ['account', 'show'], usage: 'account show NAME@DOMAIN', summary: 'Show the stored settings of an account (secrets shown as "(set)").', args: [1, 1] },
  { path: ['account', 'effective'], usage: 'account effective NAME@DOMAIN', summary: 'Show the effective settings of an account and where each comes from.', args: [1, 1] },
  { path: ['account', 'update'], usage: "account update NAME@DOMAIN ['{...}'] [--set K=V] [--unset K]", summary: 'Change account settings.', options: settingsOptions, args: [1, 2] },
  { path: ['account', 'set-password'], usage: 'account set-password NAME@DOMAIN', summary: 'Set the password, read from standard input (never from the command line, where ps shows it).', args: [1, 1] },
  { path: ['account', 'verify-password'], usage: 'account verify-password NAME@DOMAIN', summary: 'Check a password read from standard input; exit 0 when it matches, 1 when not.', args: [1, 1] },
  { path: ['account', 'lockout'], usage: 'account lockout NAME@DOMAIN', summary: 'Show the lock-out state (H2): failed logins within the period, and until when the account is suspended. Kept by the running server: needs --server.', args: [1, 1] },
  { path: ['account', 'unlock'], usage: 'account unlock NAME@DOMAIN', summary: 'End a lock-out (H2) and clear the failure count, on every worker. Needs --server.', args: [1, 1] },
  { path: ['account', 'rights'], usage: 'account rights NAME@DOMAIN [RIGHT...] [--set-rights]', summary: 'Show access rights, or replace them with --set-rights (Master, UserAccounts, ServerSettings, Monitor, DomainAdmin).', options: { 'set-rights': { type: 'boolean', default: false } }, args: [1, 10] },
  { path: ['settings-reference'], usage: 'settings-reference', summary: 'Print the configuration reference (every setting, its form and default) as Markdown.' },
  { path: ['api-reference'], usage: 'api-reference [--openapi]', summary: 'Print the CLI/API command reference as Markdown (docs/api.md), or with --openapi its OpenAPI document (docs/openapi.json).', options: { openapi: { type: 'boolean', default: false } } },
];

/** Commands that work on a running server through its API with --server URL --user NAME (remote.ts). */
const OFFLINE_ONLY = ['init', 'start', 'settings-reference', 'api-reference'];
for (const s of SPECS) {
  if (OFFLINE_ONLY.includes(s.path[0] ?? '')) continue;
  s.options = { ...s.options, ...REMOTE_OPTIONS };
  s.usage += ' [--server URL --user NAME [--ca FILE]]';
}

const LOCAL = { kind: 'local' } as const;

/** Exit codes: 0 ok, 1 a negative answer (verify-password), 2 usage, 3 not found/refused, 4 invalid, 5 store/internal. */
function exitCodeFor(e: unknown): number {
  if (!isMailwardError(e)) return 5;
  if (e.code === 'cli.usage') return 2;
  if (e.code === 'directory.notFound' || e.code === 'store.notFound' || e.code === 'directory.refused' || e.code === 'directory.exists' || e.code === 'store.exists') return 3;
  if (e.code === 'settings.invalid' || e.code === 'name.invalid' || e.code === 'format.syntax' || e.code === 'format.limit' || e.code === 'settings.unknown') return 4;
  return 5;
}

function settingsChange(p: Parsed, dictArg: string | undefined): SettingsChange {
  const change: SettingsChange = {};
  if (dictArg !== undefined) {
    const v = parse(dictArg, { source: 'argument' });
    if (!isDict(v)) throw new MailwardError('cli.usage', 'the settings argument must be a dictionary such as \'{ Key = Value; }\'');
    Object.assign(change, v);
  }
  for (const kv of (p.values.set as string[] | undefined) ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new MailwardError('cli.usage', `--set expects KEY=VALUE, got ${JSON.stringify(kv)}`);
    const raw = kv.slice(eq + 1);
    // A value that looks like a list or dictionary is parsed in the data format; anything else is text.
    change[kv.slice(0, eq)] = /^\s*[({]/.test(raw) ? parse(raw, { source: '--set' }) : raw;
  }
  for (const k of (p.values.unset as string[] | undefined) ?? []) change[k] = null;
  if (Object.keys(change).length === 0) throw new MailwardError('cli.usage', 'nothing to change: give a dictionary, --set K=V or --unset K');
  return change;
}

function out(p: Parsed, value: CgValue | Record<string, unknown>): void {
  if (p.values.json) process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  else process.stdout.write(serialize(value as CgValue, { pretty: true }) + '\n');
}

/** Effective settings: each key, where its value comes from, and the value in its stored form
 *  (secrets as "(set)"). */
function effective(p: Parsed, r: Resolved<object>, schema: SchemaTable): void {
  const rows = Object.entries(r.values).map(([k, v]) => {
    const d = schema[k];
    const empty = v === '' || (Array.isArray(v) && v.length === 0);
    const shown: CgValue = d?.secret && !empty ? '(set)' : d ? d.codec.encode(v) : String(v);
    return [k, shown, (r.sources as Record<string, string>)[k] ?? 'default'] as const;
  });
  if (p.values.json) {
    process.stdout.write(JSON.stringify(Object.fromEntries(rows.map(([k, v, s]) => [k, { value: v, source: s }])), null, 2) + '\n');
    return;
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v, s] of rows) process.stdout.write(`${k.padEnd(w)}  ${s.padEnd(7)}  ${serialize(v)}\n`);
}

async function withServices<T>(p: Parsed, fn: (s: Services) => Promise<T>): Promise<T> {
  const s = await openServices(String(p.values.data));
  try { return await fn(s); } finally { await s.close(); }
}

/** The AdminService offline, or the running server's API with --server (remote.ts). */
async function withAdmin<T>(p: Parsed, fn: (admin: AdminCalls) => Promise<T>): Promise<T> {
  const remote = remoteTarget(p.values);
  if (!remote) return withServices(p, ({ admin }) => fn(admin));
  // These read an account's password from standard input: the admin password comes from the environment.
  const cmd = p.spec.path.join(' ');
  const stdinTaken = cmd === 'account set-password' || cmd === 'account verify-password' || (cmd === 'account create' && p.values['password-stdin'] === true);
  return fn(await openRemoteAdmin(remote, stdinTaken));
}

async function run(p: Parsed): Promise<number> {
  const cmd = p.spec.path.join(' ');
  const [a0, a1] = p.positionals;
  switch (cmd) {
    case 'init': {
      const r = await initDataDir(String(p.values.data), { mainDomain: p.values['main-domain'] as string | undefined });
      process.stdout.write(`Initialised ${r.dataDir}\nMain domain: ${r.mainDomain}\nPostmaster: postmaster@${r.mainDomain}\nPostmaster password (shown once): ${r.postmasterPassword}\n`);
      return 0;
    }
    case 'start': {
      const workers = parseWorkers(String(p.values.workers));
      const startOpts = { mainDomain: p.values['main-domain'] as string | undefined, print: (l: string) => process.stdout.write(l + '\n') };
      // One worker is the single process: nothing to share, nothing to ask over IPC.
      const server = workers === 1 ? await startServer(String(p.values.data), startOpts)
        : await startCluster(String(p.values.data), { workers, ...startOpts });
      await new Promise<void>((resolve) => {
        // The server runs until a signal, even while nothing else keeps the event loop busy.
        const keepAlive = setInterval(() => {}, 1 << 30);
        const stop = () => { clearInterval(keepAlive); void server.stop().then(resolve); };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      return 0;
    }
    case 'settings-reference':
      process.stdout.write(configurationReference());
      return 0;
    case 'api-reference': {
      // Loaded only here: it pulls in the whole command table and the protocol constants.
      const ref = await import('../http/api/reference.js');
      process.stdout.write(p.values.openapi ? ref.openApiJson() : ref.apiReference());
      return 0;
    }
  }
  return withAdmin(p, async (admin) => {
    switch (cmd) {
      case 'server show': out(p, await admin.getServerSettings(LOCAL)); break;
      case 'server effective': effective(p, await admin.getServerEffectiveSettings(LOCAL), SERVER_SETTINGS); break;
      case 'server update': await admin.updateServerSettings(LOCAL, settingsChange(p, a0)); break;
      case 'defaults show': out(p, a0 ? await admin.getAccountDefaults(LOCAL, a0) : await admin.getServerAccountDefaults(LOCAL)); break;
      case 'defaults update': {
        const domain = p.values.domain as string | undefined ?? (a0 !== undefined && !a0.trim().startsWith('{') ? a0 : undefined);
        const dictArg = domain !== undefined && domain === a0 ? a1 : a0;
        if (domain) await admin.updateAccountDefaults(LOCAL, domain, settingsChange(p, dictArg));
        else await admin.updateServerAccountDefaults(LOCAL, settingsChange(p, dictArg));
        break;
      }
      case 'domain list': out(p, await admin.listDomains(LOCAL)); break;
      case 'domain create': {
        const v = a1 !== undefined ? parse(a1, { source: 'argument' }) : dict();
        if (!isDict(v)) throw new MailwardError('cli.usage', 'domain settings must be a dictionary');
        await admin.createDomain(LOCAL, a0 ?? '', v);
        break;
      }
      case 'domain rename': await admin.renameDomain(LOCAL, a0 ?? '', a1 ?? ''); break;
      case 'domain delete': await admin.deleteDomain(LOCAL, a0 ?? ''); break;
      case 'domain show': out(p, await admin.getDomainSettings(LOCAL, a0 ?? '')); break;
      case 'domain effective': effective(p, await admin.getDomainEffectiveSettings(LOCAL, a0 ?? ''), DOMAIN_SETTINGS); break;
      case 'domain update': await admin.updateDomainSettings(LOCAL, a0 ?? '', settingsChange(p, a1)); break;
      case 'domain aliases':
        if (p.values['set-aliases']) await admin.setDomainAliases(LOCAL, a0 ?? '', p.positionals.slice(1));
        else out(p, await admin.getDomainAliases(LOCAL, a0 ?? ''));
        break;
      case 'account list': out(p, await admin.listAccounts(LOCAL, a0)); break;
      case 'account create': {
        const v = a1 !== undefined ? parse(a1, { source: 'argument' }) : dict();
        if (!isDict(v)) throw new MailwardError('cli.usage', 'account settings must be a dictionary');
        const password = p.values['password-stdin'] ? await readPasswordFromStdin() : undefined;
        await admin.createAccount(LOCAL, a0 ?? '', v, password);
        break;
      }
      case 'account rename': await admin.renameAccount(LOCAL, a0 ?? '', a1 ?? ''); break;
      case 'account delete': await admin.deleteAccount(LOCAL, a0 ?? ''); break;
      case 'account show': out(p, await admin.getAccountSettings(LOCAL, a0 ?? '')); break;
      case 'account effective': effective(p, await admin.getAccountEffectiveSettings(LOCAL, a0 ?? ''), ACCOUNT_SETTINGS); break;
      case 'account update': await admin.updateAccountSettings(LOCAL, a0 ?? '', settingsChange(p, a1)); break;
      case 'account set-password': await admin.setAccountPassword(LOCAL, a0 ?? '', await readPasswordFromStdin()); break;
      case 'account verify-password': {
        const okay = await admin.verifyAccountPassword(LOCAL, a0 ?? '', await readPasswordFromStdin());
        process.stdout.write(okay ? 'password matches\n' : 'password does not match\n');
        return okay ? 0 : 1;
      }
      case 'account lockout': {
        const st = await admin.getAccountLockout(LOCAL, a0 ?? '');
        if (p.values.json) process.stdout.write(JSON.stringify({ failures: st.failures, lockedUntil: st.lockedUntil === null ? null : new Date(st.lockedUntil).toISOString() }, null, 2) + '\n');
        else process.stdout.write(`failures ${st.failures}; ${st.lockedUntil === null ? 'not locked' : `locked until ${new Date(st.lockedUntil).toISOString()}`}\n`);
        break;
      }
      case 'account unlock': await admin.unlockAccount(LOCAL, a0 ?? ''); break;
      case 'account rights': {
        if (p.values['set-rights']) {
          const rights: Right[] = p.positionals.slice(1).map((r) => {
            const x = parseRight(r);
            if (!x) throw new MailwardError('cli.usage', `unknown right ${JSON.stringify(r)}`);
            return x;
          });
          await admin.setAccountRights(LOCAL, a0 ?? '', rights);
        } else out(p, await admin.getAccountRights(LOCAL, a0 ?? ''));
        break;
      }
      default:
        throw new MailwardError('internal', `command without a handler: ${cmd}`);
    }
    return 0;
  });
}

export async function main(argv: string[]): Promise<number> {
  // `mailward ... | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(0); });
  // Offline commands keep the terminal for their answer: only problems are logged, unless
  // MAILWARD_LOG_LEVEL asks for more (`start` reads the levels of the server settings).
  configureLogging({ defaultLevel: logLevelFromEnv() ?? 'problem' });
  try {
    const p = parseCommand(argv, SPECS);
    if ('help' in p) { process.stdout.write(p.help + '\n'); return 0; }
    return await run(p);
  } catch (e) {
    const code = exitCodeFor(e);
    process.stderr.write(`mailward: ${e instanceof Error ? e.message : String(e)}\n`);
    if (code === 5 && !isMailwardError(e) && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
    return code;
  }
}

/** `--workers`: a whole number from 1 to MAX_WORKERS, or `auto` (one per CPU). */
export function parseWorkers(v: string): number {
  if (v === 'auto') return autoWorkers();
  if (!/^[0-9]{1,3}$/.test(v) || Number(v) < 1 || Number(v) > MAX_WORKERS) {
    throw new MailwardError('cli.usage', `--workers must be a number from 1 to ${MAX_WORKERS} or auto, got ${JSON.stringify(v)}`);
  }
  return Number(v);
}

function logLevelFromEnv(): LogLevel | null {
  const v = process.env.MAILWARD_LOG_LEVEL;
  return v && (LOG_LEVELS as readonly string[]).includes(v) ? (v as LogLevel) : null;
}
