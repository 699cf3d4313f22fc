// WebUser (W2, T9, P5) over real HTTPS: the login page per domain chosen by the Host header, the
// Secure Certificate link and download, changing the own password (also after an External
// password login, P5), the last logins, and the attacks of W1 on these pages.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dict } from '../../settings/format/types.js';
import { ExternalAuthenticator } from '../../auth/sources/external/index.js';
import { startHarness, WebClient, L, type Harness, type Response } from '../common/testing/harness.js';
import { hostOf } from './index.js';

const local = { kind: 'local' } as const;
const flash = (r: Response) => /class="flash (?:ok|error|warn)"[^>]*>([^<]*)</.exec(r.body)?.[1] ?? '';

async function withDomains(h: Harness): Promise<void> {
  await h.admin.createDomain(local, 'corp.test', dict({ DomainAliases: ['mail.corp.test'] }));
  await h.admin.createDomain(local, 'dark.test', dict({ CertificateMode: 'No' }));
  await h.admin.createAccount(local, 'alice@corp.test', dict({ RealName: 'Alice' }), 'alice-password-1');
  await h.syncTls();
}

test('W2: hostOf reads the Host header without its port; IPv6 literals and junk give no domain', () => {
  const rows: [string | undefined, string | null, string][] = [
    ['corp.test', 'corp.test', 'plain name'],
    ['Mail.Corp.Test:9100', 'mail.corp.test', 'port dropped, case folded'],
    ['127.0.0.1:9100', null, 'an address is not a host name'],
    ['[::1]:9100', null, 'IPv6 literal'],
    [undefined, null, 'no Host header (HTTP/1.0)'],
    ['', null, 'empty'],
    ['a b', null, 'space'],
    ['<script>', null, 'markup'],
    ['x'.repeat(300), null, 'longer than a DNS name'],
  ];
  for (const [h, want, why] of rows) assert.equal(hostOf(h), want, why);
});

test('W2, T9: the login page per domain by host name, with the Secure Certificate link when the domain has a certificate', async () => {
  const h = await startHarness();
  try {
    await withDomains(h);
    const page = async (host: string) => new WebClient(h.userUrl, { host }).get('/');
    let r = await page('mail.corp.test');
    assert.match(r.body, /<h1>corp\.test<\/h1>/, 'an alias opens its domain');
    assert.match(r.body, /href="\/certificate\.crt"/);
    r = await page('unknown.example:9100');
    assert.match(r.body, /<h1>example\.com<\/h1>/, 'an unknown host gets the main domain');
    // Mode No: secure connections to the domain are refused (T4; the client sends the Host name as
    // SNI), and over a clear listener its page has no certificate link.
    await assert.rejects(page('dark.test'));
    await h.web.apply({ HTTPA: h.listeners.HTTPA, HTTPU: [...h.listeners.HTTPU, L(0, 'clear', { ClearTextLogin: 'always' })] });
    const clearUrl = `http://127.0.0.1:${h.web.addresses('HTTPU')[1]?.port}`;
    r = await new WebClient(clearUrl, { host: 'dark.test' }).get('/');
    assert.match(r.body, /<h1>dark\.test<\/h1>/);
    assert.ok(!r.body.includes('certificate.crt'), 'mode No: no certificate, no link');
    assert.equal((await new WebClient(clearUrl, { host: 'dark.test' }).get('/certificate.crt')).status, 404);
    // The download is the certificate the domain presents (mode Test: the Test Certificate), DER
    // and PEM (with the chain).
    const der = await new Promise<Buffer>((resolve, reject) => {
      void import('node:https').then(({ get }) => get({ host: '127.0.0.1', port: new URL(h.userUrl).port, path: '/certificate.crt', headers: { host: 'corp.test' }, rejectUnauthorized: false }, (res) => {
        assert.equal(res.headers['content-type'], 'application/x-x509-ca-cert');
        assert.match(String(res.headers['content-disposition']), /attachment; filename="corp\.test\.crt"/);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      }).on('error', reject));
    });
    assert.equal(new X509Certificate(der).fingerprint256, new X509Certificate(h.test.certPem).fingerprint256);
    const pem = await new WebClient(h.userUrl, { host: 'corp.test' }).get('/certificate.pem');
    assert.equal(pem.status, 200);
    assert.equal((pem.body.match(/BEGIN CERTIFICATE/g) ?? []).length, 2, 'certificate and chain');
  } finally { await h.close(); }
});

test('W2: log in with the bare name on the domain\'s page, change the own password, see the last logins; refusals', async () => {
  const h = await startHarness();
  try {
    await withDomains(h);
    const c = new WebClient(h.userUrl, { host: 'mail.corp.test' });
    let r = await c.login('/login', 'alice', 'not-her-password');
    assert.equal(r.status, 401);
    assert.match(flash(r), /Incorrect name or password/);
    r = await c.login('/login', 'alice', 'alice-password-1');
    assert.equal(r.status, 303);
    assert.ok(([] as string[]).concat(r.headers['set-cookie'] ?? []).some((x) => x.startsWith('__Host-mw-user=') && /HttpOnly/.test(x) && /SameSite=Strict/.test(x) && /Secure/.test(x)));
    r = await c.get('/');
    assert.match(r.body, /alice<small>@corp\.test/);
    assert.match(r.body, /Last logins/);
    assert.equal((r.body.match(/badge bad">failed/g) ?? []).length, 1, 'the failed attempt is listed');
    assert.equal((r.body.match(/badge ok">ok/g) ?? []).length, 1);
    // Refusals: wrong current password, differing new ones, too short; no CSRF token.
    r = await c.post('/password', { current: 'wrong-current', password: 'a-new-password-1', password2: 'a-new-password-1' });
    assert.equal(r.status, 403);
    assert.match(flash(r), /current password is not correct/);
    r = await c.post('/password', { current: 'alice-password-1', password: 'a-new-password-1', password2: 'a-new-password-2' });
    assert.equal(r.status, 400);
    r = await c.post('/password', { current: 'alice-password-1', password: 'short', password2: 'short' });
    assert.equal(r.status, 400);
    assert.match(flash(r), /at least 8 characters/);
    r = await c.post('/password', { _csrf: null, current: 'alice-password-1', password: 'a-new-password-1', password2: 'a-new-password-1' });
    assert.equal(r.status, 403);
    assert.equal(await h.passwords.verifyPassword('corp.test', 'alice', 'alice-password-1'), true, 'nothing changed so far');
    r = await c.post('/password', { current: 'alice-password-1', password: 'a-new-password-1', password2: 'a-new-password-1' });
    assert.equal(r.status, 303);
    r = await c.follow(r);
    assert.match(flash(r), /password was changed/);
    assert.equal(await h.passwords.verifyPassword('corp.test', 'alice', 'a-new-password-1'), true);
    assert.equal(await h.passwords.verifyPassword('corp.test', 'alice', 'alice-password-1'), false);
    // Logout needs the token; then the session is gone.
    assert.equal((await c.post('/logout', { _csrf: null })).status, 403);
    assert.equal((await c.post('/logout', {})).status, 303);
    r = await c.get('/');
    assert.match(r.body, /name="password"/, 'back on the login page');
    // Fixation: a planted cookie is not adopted at login.
    const v = new WebClient(h.userUrl, { host: 'corp.test' });
    v.cookies.set('__Host-mw-user', 'B'.repeat(43));
    await v.login('/login', 'alice', 'a-new-password-1');
    assert.notEqual(v.cookies.get('__Host-mw-user'), 'B'.repeat(43));
    // Escaping: the name typed comes back escaped.
    r = await new WebClient(h.userUrl).login('/login', '<script>alert(1)</script>', 'x-password');
    assert.ok(!r.body.includes('<script>alert(1)</script>') && r.body.includes('&lt;script&gt;'));
  } finally { await h.close(); }
});

// P5 with the sample External Authentication program (examples/extauth-file.mjs) as the source.
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mw-webuser-'));
const clients: ExternalAuthenticator[] = [];
after(async () => { await Promise.all(clients.map((c) => c.stop())); rmSync(dir, { recursive: true, force: true }); });

test('P5: after logging in with the External password, the user sets the own password, which then logs in', async () => {
  const users = join(dir, 'users');
  const salt = randomBytes(8);
  writeFileSync(users, `eve@corp.test:{SSHA512}${Buffer.concat([createHash('sha512').update('eve-external-1').update(salt).digest(), salt]).toString('base64')}\n`);
  const ext = new ExternalAuthenticator({ program: process.execPath, args: [join(ROOT, 'examples', 'extauth-file.mjs'), users], requestTimeoutMs: 5000 });
  clients.push(ext);
  ext.start();
  for (let t = Date.now(); ext.status().state !== 'running';) {
    assert.ok(Date.now() - t < 5000, 'the sample program answers INTF');
    await new Promise((z) => setTimeout(z, 10));
  }
  const h = await startHarness({ external: () => ext });
  try {
    await withDomains(h);
    await h.admin.createAccount(local, 'eve@corp.test', dict({ UseExtPassword: 'YES' }));
    const c = new WebClient(h.userUrl, { host: 'corp.test' });
    let r = await c.login('/login', 'eve', 'eve-external-1');
    assert.equal(r.status, 303, flash(r));
    r = await c.get('/');
    assert.match(r.body, /logged in with your external password/);
    r = await c.post('/password', { current: 'eve-external-1', password: 'eve-own-password-1', password2: 'eve-own-password-1' });
    assert.equal(r.status, 303, flash(r));
    const o = await h.engine.authenticate({ login: 'eve@corp.test', method: 'PLAIN', mode: 'IMAP', client: '127.0.0.1', secure: true, clearText: true, credential: { type: 'password', password: Buffer.from('eve-own-password-1') } });
    assert.equal(o.status, 'ok');
    assert.equal(o.status === 'ok' ? o.source : '', 'own', 'the own password now logs in');
    r = await new WebClient(h.userUrl, { host: 'corp.test' }).login('/login', 'eve', 'eve-own-password-1');
    assert.equal(r.status, 303);
  } finally { await h.close(); }
});

test('W2: a session whose account was deleted ends; unknown pages are plain 404 pages', async () => {
  const h = await startHarness();
  try {
    await withDomains(h);
    const c = new WebClient(h.userUrl, { host: 'corp.test' });
    assert.equal((await c.login('/login', 'alice', 'alice-password-1')).status, 303);
    await h.admin.deleteAccount(local, 'alice@corp.test');
    const r = await c.get('/');
    assert.equal(r.status, 200);
    assert.match(r.body, /name="password"/, 'back to the login page');
    assert.equal((await c.get('/nothing')).status, 404);
  } finally { await h.close(); }
});
