// W1, W2, T5, T6, T8, T9, N2, R5, P5 in a real browser: Debian's chromium driven by playwright-core
// against a real Mailward web server on port 0 over HTTPS with the Test Certificate, as an
// administrator would: log in as postmaster; create a domain and an account; set rights; delegate
// the domain; that admin logs in and reaches nothing else; generate a key and a self-signed
// certificate and see them in use by `openssl s_client`; set client addresses and see a login
// from elsewhere refused; log in to WebUser and change the password. Screenshots of the main pages
// go to test-artifacts/browser/ (docs/screenshots/ holds the reviewed copies).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { openssl } from '../../src/tls/test/tools.js';
import { startHarness, WebClient, L, proxiedTls } from '../../src/http/common/testing/harness.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve('test-artifacts/browser');

function requireTool(path: string, pkg: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${path}`]);
  assert.equal(r.status, 0, `${path} is missing: install the Debian package ${pkg} (apt-get install -y ${pkg})`);
}

async function launch(hostRules: string): Promise<{ ctx: BrowserContext; done: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'mw-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', `--host-resolver-rules=${hostRules}`],
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 860 },
  });
  return { ctx, done: async () => { await ctx.close(); rmSync(profile, { recursive: true, force: true }); } };
}

async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });
}

const flashText = async (page: Page) => (await page.locator('.flash').allInnerTexts()).join(' | ');

test('W1, W2, R5, T5-T9, N2, P5: an administrator runs Mailward from a browser', { timeout: 120_000 }, async () => {
  requireTool(CHROMIUM, 'chromium');
  requireTool('openssl', 'openssl');
  mkdirSync(ARTIFACTS, { recursive: true });
  const h = await startHarness();
  const { ctx, done } = await launch('MAP corp.test 127.0.0.1, MAP mail.corp.test 127.0.0.1');
  try {
    const admin = h.adminUrl;
    const port = new URL(admin).port;
    const page = await ctx.newPage();

    // ---- log in as postmaster --------------------------------------------------------------
    await page.goto(`${admin}/`);
    assert.match(page.url(), /\/login$/);
    await shot(page, '01-webadmin-login', false);
    await page.fill('#login', 'postmaster');
    await page.fill('#password', h.postmasterPassword);
    await page.click('button[type=submit]');
    await page.waitForURL(`${admin}/`);
    assert.match(await page.textContent('h1') ?? '', /Overview/);
    await shot(page, '02-overview', false);

    // ---- create a domain and an account; set rights (delegate the domain) ----------------------
    await page.click('nav.side >> text=Domains');
    await page.fill('input[name=name]', 'corp.test');
    await page.click('button:has-text("Create domain")');
    await page.waitForURL(`${admin}/domains/corp.test`);
    assert.match(await flashText(page), /Domain corp\.test created/);
    await page.fill('textarea[name=aliases]', 'mail.corp.test');
    await page.click('button:has-text("Save aliases")');
    assert.match(await flashText(page), /Aliases saved/);
    await page.click('.tabs >> text=Accounts');
    for (const [name, real, pw] of [['boss', 'Corp Admin', 'boss-password-1'], ['alice', 'Alice Liddell', 'alice-password-1']] as const) {
      await page.fill('input[name=name]', name);
      await page.fill('input[name=realName]', real);
      await page.fill('input[name=password]', pw);
      await page.click('button:has-text("Create account")');
      await page.waitForURL(`${admin}/domains/corp.test/accounts/${name}`);
      await page.click('.crumbs >> text=corp.test');
    }
    await shot(page, '04-accounts');
    await page.click('text=boss');
    await page.check('input[name=right][value=DomainAdmin]');
    await page.click('button:has-text("Save rights")');
    assert.match(await flashText(page), /Access rights saved/);
    assert.ok(await page.isChecked('input[name=right][value=DomainAdmin]'));
    await page.selectOption('#f-RequireSecureMethod', 'YES');
    await page.click('button:has-text("Save settings")');
    assert.match(await flashText(page), /Saved/);
    assert.match(await page.locator('tr', { has: page.locator('#f-RequireSecureMethod') }).innerText(), /Effective: YES\s*set here/);
    await shot(page, '05-account-settings');
    await page.goto(`${admin}/domains`);
    await shot(page, '03-domains', false);
    for (const [p, name] of [['/settings/obscure', '06-settings-obscure'], ['/listeners', '08-listeners'], ['/domains/corp.test', '09-domain-settings'], ['/account-defaults', '10-default-account-settings']] as const) {
      await page.goto(`${admin}${p}`);
      assert.equal(await page.locator('.flash.error').count(), 0, p);
      await shot(page, name);
    }

    // ---- key, self-signed certificate, mode Custom; openssl sees it -----------------------------
    await page.goto(`${admin}/domains/corp.test/security`);
    // A slow RSA key shows the progress page, which reloads itself (no script) until the key is in.
    await page.selectOption('select[name=kind]', 'rsa-3072');
    await page.click('button:has-text("Generate key")');
    if (page.url().includes('/keygen/')) {
      assert.match(await page.locator('main').innerText(), /Generating a RSA 3072 bits key/);
      await shot(page, '16-key-generation-progress', false);
    }
    await page.waitForURL(`${admin}/domains/corp.test/security`, { timeout: 60_000 });
    assert.match(await flashText(page), /RSA 3072 key generated and installed/);
    await page.click('button:has-text("Key Test")');
    assert.match(await flashText(page), /Verification String is OK/);
    await page.click('button:has-text("Remove key")');
    assert.match(await flashText(page), /Key and certificate removed/);
    await page.selectOption('select[name=kind]', 'ecdsa-p384');
    await page.click('button:has-text("Generate key")');
    await page.waitForURL(`${admin}/domains/corp.test/security`, { timeout: 30_000 });
    assert.match(await flashText(page), /ECDSA P-384 key generated and installed/);
    await page.selectOption('select[name="a.commonName"]', 'mail.corp.test');
    await page.fill('input[name="a.country"]', 'DE');
    await page.fill('input[name="a.organization"]', 'Corp Ltd');
    await page.fill('input[name="a.email"]', 'postmaster@corp.test');
    await page.click('button:has-text("Generate Self-Signed")');
    assert.match(await flashText(page), /Self-signed certificate made/);
    await page.selectOption('select[name=mode]', 'Custom');
    await page.click('form[action$="/security/mode"] button');
    assert.match(await flashText(page), /Certificate mode: Custom/);
    await shot(page, '11-domain-security');
    const stored = (await h.directory.domainSettings('corp.test')).values.Certificate;
    // Asynchronously: the server under test runs in this process and must keep answering.
    const s = await openssl(['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'mail.corp.test'], { input: '' });
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(s.stdout)?.[0];
    assert.ok(pem, `s_client printed no certificate: ${s.stdout}${s.stderr}`);
    assert.equal(new X509Certificate(pem).fingerprint256, new X509Certificate(stored).fingerprint256, 'the new certificate is in use, without a restart');
    assert.match(s.stdout, /subject=.*CN\s*=\s*mail\.corp\.test/);
    // The signing request is shown on the page.
    await page.click('button:has-text("Generate Signing Request")');
    assert.match(await page.locator('pre').innerText(), /BEGIN CERTIFICATE REQUEST/);

    // ---- client addresses: set in Protection; a login from elsewhere is refused ----------------
    await page.goto(`${admin}/settings/protection`);
    await page.fill('#f-ClientIPAddresses', '192.0.2.0/24');
    await page.selectOption('#f-RejectNonClientLogins', 'YES');
    await page.click('button:has-text("Save")');
    assert.match(await flashText(page), /Saved/);
    await shot(page, '07-settings-protection');
    await h.web.apply({ HTTPA: h.listeners.HTTPA, HTTPU: [...h.listeners.HTTPU, L(0, 'implicit', { ProxyFrom: ['127.0.0.1'] })] });
    const lb = h.web.addresses('HTTPU')[1]?.port ?? 0;
    const elsewhere = new WebClient(`https://127.0.0.1:${lb}`, { host: 'corp.test', createConnection: proxiedTls(lb, '198.51.100.20') });
    const refused = await elsewhere.login('/login', 'alice', 'alice-password-1');
    assert.equal(refused.status, 403);
    assert.match(refused.body, /not accepted from your network address/);
    const listed = new WebClient(`https://127.0.0.1:${lb}`, { host: 'corp.test', createConnection: proxiedTls(lb, '192.0.2.20') });
    assert.equal((await listed.login('/login', 'alice', 'alice-password-1')).status, 303);

    // ---- the delegated administrator reaches its domain and nothing else ----------------------
    await page.click('header button:has-text("Log out")');
    await page.waitForURL(`${admin}/login`);
    await page.fill('#login', 'boss@corp.test');
    await page.fill('#password', 'boss-password-1');
    await page.click('button[type=submit]');
    await page.waitForURL(`${admin}/domains/corp.test`);
    const nav = await page.locator('nav.side').innerText();
    assert.match(nav, /Domain corp\.test/);
    assert.doesNotMatch(nav, /Obscure|Listeners|Default Account Settings|Access Rights/);
    await shot(page, '12-delegated-admin', false);
    for (const p of ['/settings/obscure', '/listeners', '/domains/example.com', '/domains/example.com/accounts', '/rights']) {
      const r = await page.goto(`${admin}${p}`);
      assert.ok(r && (r.status() === 403 || r.status() === 404), `${p}: ${r?.status()}`);
    }
    await page.goto(`${admin}/domains`);
    assert.doesNotMatch(await page.locator('main').innerText(), /example\.com/, 'the domain list shows only corp.test');
    await page.goto(`${admin}/domains/example.com`);
    await shot(page, '13-delegated-admin-refused', false);

    // ---- WebUser: the domain's login page, with the certificate link; change the password ------
    const user = `https://mail.corp.test:${new URL(h.userUrl).port}`;
    const up = await ctx.newPage();
    await up.goto(`${user}/`);
    assert.match(await up.textContent('h1') ?? '', /corp\.test/);
    assert.equal(await up.locator('a:has-text("Secure Certificate")').count(), 1, 'T9');
    await shot(up, '14-webuser-login', false);
    await up.fill('#login', 'alice');
    await up.fill('#password', 'alice-password-1');
    await up.click('button[type=submit]');
    await up.waitForURL(`${user}/`);
    assert.match(await up.locator('main').innerText(), /Last logins/);
    await up.fill('#cur', 'alice-password-1');
    await up.fill('#new1', 'alice-password-2');
    await up.fill('#new2', 'alice-password-2');
    await up.click('button:has-text("Change password")');
    assert.match(await flashText(up), /Your password was changed/);
    await shot(up, '15-webuser-home', false);
    assert.equal(await h.passwords.verifyPassword('corp.test', 'alice', 'alice-password-2'), true);
  } finally {
    await done();
    await h.close();
  }
});
