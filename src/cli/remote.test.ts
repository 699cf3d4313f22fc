// W3: `mailward --server URL` drives a running server through the JSON API with the same
// subcommands: side by side with the offline mode on two identical data directories, every
// AdminService call the subcommands make answers the same through RemoteAdmin; the command itself
// in remote mode; credentials from the environment or standard input, clear HTTP refused to
// anything but loopback, HTTPS with --ca, refusals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { initDataDir, openServices, type Services } from '../main.js';
import { AuthEngine } from '../auth/engine.js';
import { InProcessLockout } from '../auth/lockout.js';
import { AdminService } from '../admin/service.js';
import { registerApiRoutes } from '../http/api/routes.js';
import { socketConnection } from '../http/api/testing/app.js';
import { makeTestCertificate } from '../tls/test-certificate.js';
import { openRemoteAdmin, type AdminCalls } from './remote.js';
import type { MailwardError } from '../core/errors.js';
import { dict, type CgValue } from '../settings/format/types.js';
import { encodeResolved } from '../admin/cli/commands.js';
import type { Resolved } from '../settings/effective.js';
import { ACCOUNT_SETTINGS, DOMAIN_SETTINGS, SERVER_SETTINGS } from '../settings/schema.js';

const BIN = resolve('bin/mailward.js');

interface Run { code: number; out: string; err: string }

/** Runs `mailward` asynchronously: the API server answering it lives in this process. */
function mw(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((done) => {
    const env: NodeJS.ProcessEnv = { ...process.env, MAILWARD_SERVER: '', MAILWARD_USER: '', MAILWARD_PASSWORD: '', MAILWARD_CA: '', ...opts.env };
    const child = spawn(process.execPath, [BIN, ...args], { env });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('close', (code) => done({ code: code ?? -1, out, err }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

let dir: string;
let offline: string;
let services: Services;
let app: FastifyInstance;
let httpsApp: FastifyInstance;
let url: string;
let httpsUrl: string;
let pmPassword: string;
const caFile = () => join(dir, 'ca.pem');

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mw-remote-'));
  offline = join(dir, 'offline');
  await initDataDir(offline, { mainDomain: 'example.com' });
  const served = join(dir, 'served');
  pmPassword = (await initDataDir(served, { mainDomain: 'example.com' })).postmasterPassword;
  services = await openServices(served);
  const engine = new AuthEngine({ directory: services.directory, lockout: new InProcessLockout(), passwords: services.passwords });
  const admin = new AdminService(services.directory, services.passwords, engine);
  app = Fastify();
  await registerApiRoutes(app, { admin, engine, connection: socketConnection('always') });
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const cert = await makeTestCertificate('localhost');
  await writeFile(caFile(), cert.chainPem);
  httpsApp = Fastify({ https: { key: cert.keyPem, cert: cert.certPem } });
  await registerApiRoutes(httpsApp, { admin, engine, connection: socketConnection('tls-only') });
  await httpsApp.listen({ port: 0, host: '127.0.0.1' });
  httpsUrl = `https://localhost:${(httpsApp.server.address() as AddressInfo).port}`;
});

after(async () => {
  await app.close();
  await httpsApp.close();
  await services.close();
  await rm(dir, { recursive: true, force: true });
});

const remoteEnv = () => ({ MAILWARD_SERVER: url, MAILWARD_USER: 'postmaster', MAILWARD_PASSWORD: pmPassword });

/** The same call on the local AdminService and on the RemoteAdmin; both answers, or both errors. */
type Outcome = { ok: true; value: unknown } | { ok: false; code: string; message: string };
async function both(fn: (a: AdminCalls) => Promise<unknown>, local: AdminCalls, remote: AdminCalls): Promise<[Outcome, Outcome]> {
  const one = async (a: AdminCalls): Promise<Outcome> => {
    try {
      const v = await fn(a);
      // Effective settings: compared as main.ts prints them (secrets as "(set)").
      if (v !== null && typeof v === 'object' && 'sources' in v && 'values' in v) {
        const keys = Object.keys((v as { values: object }).values);
        const schema = keys.includes('MainDomainName') ? SERVER_SETTINGS : keys.includes('CertificateMode') ? DOMAIN_SETTINGS : ACCOUNT_SETTINGS;
        return { ok: true, value: encodeResolved(v as Resolved<object>, schema) };
      }
      return { ok: true, value: v };
    } catch (e) {
      return { ok: false, code: (e as MailwardError).code, message: (e as Error).message };
    }
  };
  return [await one(local), await one(remote)];
}

test('W3: every AdminService call of the subcommands answers the same offline and through the API (RemoteAdmin)', async () => {
  const local = await openServices(offline);
  try {
    const remote = await openRemoteAdmin({ url: new URL(url), user: 'postmaster', caFile: undefined }, true, { MAILWARD_PASSWORD: pmPassword });
    const L = { kind: 'local' } as const;
    const d = (entries: Record<string, CgValue>) => dict(entries);
    const steps: [string, (a: AdminCalls) => Promise<unknown>][] = [
      ['createDomain', (a) => a.createDomain(L, 'corp.test', d({ DomainAliases: ['mail.corp.test'] }))],
      ['listDomains', (a) => a.listDomains(L)],
      ['createAccount with password', (a) => a.createAccount(L, 'Alice@mail.corp.test', d({}), 'alice-secret-1')],
      ['createAccount with settings', (a) => a.createAccount(L, 'bob@corp.test', d({ RealName: 'Bob B' }))],
      ['createAccount twice', (a) => a.createAccount(L, 'bob@corp.test')],
      ['listAccounts', (a) => a.listAccounts(L, 'corp.test')],
      ['listAccounts, main domain', (a) => a.listAccounts(L)],
      ['updateAccountSettings', (a) => a.updateAccountSettings(L, 'alice@corp.test', { RequireSecureMethod: 'YES', AccessModes: ['IMAP', 'POP'] })],
      ['updateAccountSettings, removal', (a) => a.updateAccountSettings(L, 'alice@corp.test', { AccessModes: null })],
      ['updateAccountSettings, unknown key', (a) => a.updateAccountSettings(L, 'alice@corp.test', { NoSuchKey: '1' })],
      ['updateAccountDefaults', (a) => a.updateAccountDefaults(L, 'corp.test', { UseSysPassword: 'YES' })],
      ['updateServerAccountDefaults', (a) => a.updateServerAccountDefaults(L, { RealName: 'Someone' })],
      ['getAccountDefaults', (a) => a.getAccountDefaults(L, 'corp.test')],
      ['getServerAccountDefaults', (a) => a.getServerAccountDefaults(L)],
      ['getAccountSettings', (a) => a.getAccountSettings(L, 'alice@corp.test')],
      ['getAccountEffectiveSettings', (a) => a.getAccountEffectiveSettings(L, 'alice@corp.test')],
      ['verifyAccountPassword, right', (a) => a.verifyAccountPassword(L, 'alice@corp.test', 'alice-secret-1')],
      ['verifyAccountPassword, wrong', (a) => a.verifyAccountPassword(L, 'alice@corp.test', 'wrong-secret-1')],
      ['setAccountPassword', (a) => a.setAccountPassword(L, 'alice@corp.test', 'alice-secret-2')],
      ['setAccountPassword, too short', (a) => a.setAccountPassword(L, 'alice@corp.test', 'short')],
      ['verifyAccountPassword, new', (a) => a.verifyAccountPassword(L, 'alice@corp.test', 'alice-secret-2')],
      ['setAccountRights', (a) => a.setAccountRights(L, 'bob@corp.test', ['DomainAdmin'])],
      ['getAccountRights', (a) => a.getAccountRights(L, 'bob@corp.test')],
      ['setAccountRights, R1', (a) => a.setAccountRights(L, 'bob@corp.test', ['Master'])],
      ['getAccountRights, R2', (a) => a.getAccountRights(L, 'postmaster')],
      ['setDomainAliases', (a) => a.setDomainAliases(L, 'corp.test', ['a.corp.test', 'b.corp.test'])],
      ['getDomainAliases', (a) => a.getDomainAliases(L, 'corp.test')],
      ['updateDomainSettings', (a) => a.updateDomainSettings(L, 'corp.test', { CertificateMode: 'No' })],
      ['getDomainSettings', (a) => a.getDomainSettings(L, 'corp.test')],
      ['getDomainEffectiveSettings', (a) => a.getDomainEffectiveSettings(L, 'corp.test')],
      ['updateServerSettings', (a) => a.updateServerSettings(L, { LoginFailureLimit: '5' })],
      ['getServerSettings', (a) => a.getServerSettings(L)],
      ['getServerEffectiveSettings', (a) => a.getServerEffectiveSettings(L)],
      ['renameAccount', (a) => a.renameAccount(L, 'bob@corp.test', 'robert')],
      ['getAccountSettings, renamed', (a) => a.getAccountSettings(L, 'robert@corp.test')],
      ['deleteAccount', (a) => a.deleteAccount(L, 'robert@corp.test')],
      ['getAccountSettings, unknown', (a) => a.getAccountSettings(L, 'nobody@corp.test')],
      ['renameDomain', (a) => a.renameDomain(L, 'corp.test', 'corp2.test')],
      ['deleteDomain with its accounts', (a) => a.deleteDomain(L, 'corp2.test')],
      ['listDomains, after', (a) => a.listDomains(L)],
      ['getDomainSettings, unknown', (a) => a.getDomainSettings(L, 'nosuch.test')],
    ];
    for (const [what, fn] of steps) {
      const [a, b] = await both(fn, local.admin, remote);
      if (a.ok) assert.deepStrictEqual(b, a, what);
      else {
        assert.ok(!b.ok, `${what}: remote succeeded where offline failed with ${a.message}`);
        assert.equal(b.code, a.code, `${what}: ${a.message} / ${b.message}`);
        assert.ok(b.message.startsWith(a.message.split(':')[0] ?? ''), `${what}: ${a.message} / ${b.message}`);
      }
    }
  } finally { await local.close(); }
});

test('W3: the mailward command in remote mode: output, exit codes and stdin as offline', async () => {
  const env = remoteEnv();
  assert.equal((await mw(['domain', 'create', 'cli.test'], { env })).code, 0);
  const list = await mw(['domain', 'list'], { env });
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, /"cli\.test"/);
  assert.equal((await mw(['account', 'create', 'carol@cli.test', '--password-stdin'], { env, input: 'carol-secret-1\n' })).code, 0);
  assert.equal((await mw(['account', 'verify-password', 'carol@cli.test'], { env, input: 'carol-secret-1\n' })).code, 0);
  const no = await mw(['account', 'verify-password', 'carol@cli.test'], { env, input: 'wrong-secret\n' });
  assert.equal(no.code, 1);
  assert.equal(no.out, 'password does not match\n');
  const eff = await mw(['account', 'effective', 'carol@cli.test'], { env });
  assert.match(eff.out, /^Password\s+account\s+"\(set\)"$/m);
  assert.match(eff.out, /^UseAppPassword\s+default\s+YES$/m);
  const missing = await mw(['account', 'show', 'nobody@cli.test'], { env });
  assert.equal(missing.code, 3);
  assert.equal(missing.err, 'mailward: unknown account nobody@cli.test\n');
});

test('W3: credentials and transport rules of the remote mode', async () => {
  // The admin password on standard input when the command does not need it for itself.
  const stdin = await mw(['domain', 'list', '--server', url, '--user', 'postmaster'], { input: `${pmPassword}\n` });
  assert.equal(stdin.code, 0, stdin.err);
  const taken = await mw(['account', 'set-password', 'postmaster', '--server', url, '--user', 'postmaster'], { input: 'whatever-long\n' });
  assert.equal(taken.code, 2);
  assert.match(taken.err, /MAILWARD_PASSWORD/);
  const wrong = await mw(['domain', 'list'], { env: { ...remoteEnv(), MAILWARD_PASSWORD: 'not-the-password' } });
  assert.equal(wrong.code, 3);
  assert.match(wrong.err, /incorrect user name or password \(auth\.failed\)/);
  const noUser = await mw(['domain', 'list', '--server', url], { env: { MAILWARD_PASSWORD: pmPassword } });
  assert.equal(noUser.code, 2);
  assert.match(noUser.err, /--user/);
  const clear = await mw(['domain', 'list', '--server', 'http://192.0.2.1:8010', '--user', 'postmaster'], { env: { MAILWARD_PASSWORD: pmPassword } });
  assert.equal(clear.code, 2, 'never sends a password in clear to another host');
  assert.match(clear.err, /use https/);
  const down = await mw(['domain', 'list', '--server', 'http://127.0.0.1:1', '--user', 'postmaster'], { env: { MAILWARD_PASSWORD: pmPassword } });
  assert.equal(down.code, 5);
  assert.match(down.err, /cannot reach/);
  const init = await mw(['init', '--server', url]);
  assert.equal(init.code, 2, 'init is offline only');
  // HTTPS, trusting the Test Certificate's CA with --ca; without it the certificate is refused.
  const tls = await mw(['domain', 'list', '--server', httpsUrl, '--user', 'postmaster', '--ca', caFile()], { env: { MAILWARD_PASSWORD: pmPassword } });
  assert.equal(tls.code, 0, tls.err);
  assert.match(tls.out, /example\.com/);
  const untrusted = await mw(['domain', 'list', '--server', httpsUrl, '--user', 'postmaster'], { env: { MAILWARD_PASSWORD: pmPassword } });
  assert.equal(untrusted.code, 5);
  assert.match(untrusted.err, /cannot reach .*certificate/i);
});
