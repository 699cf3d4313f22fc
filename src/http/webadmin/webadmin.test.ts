// WebAdmin over real HTTPS connections (W1): sessions, headers, CSRF, fixation, escaping, lock-out
// through the web login (H2), client addresses through a PROXY header (N2, N4), Grant/Deny (N3),
// optimistic concurrency, and a delegated domain administrator who cannot reach anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { connect as netConnect } from 'node:net';
import { startHarness, WebClient, L, proxiedTls, type Harness, type Response } from '../common/testing/harness.js';
import { CONTENT_SECURITY_POLICY } from '../common/app.js';

async function postmaster(h: Harness): Promise<WebClient> {
  const c = new WebClient(h.adminUrl);
  const r = await c.login('/login', 'postmaster', h.postmasterPassword);
  assert.equal(r.status, 303, r.body);
  await c.get('/');
  return c;
}

const flash = (r: Response) => /class="flash (?:ok|error|warn)"[^>]*>([^<]*)</.exec(r.body)?.[1] ?? '';

test('W1: login, security headers, cookie flags, idle session id never in a URL, logout', async () => {
  const h = await startHarness();
  try {
    const c = new WebClient(h.adminUrl);
    const first = await c.get('/domains');
    assert.equal(first.status, 303);
    assert.equal(first.location, '/login');
    const page = await c.get('/login');
    assert.equal(page.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'.*frame-ancestors 'none'/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.doesNotMatch(page.body, /<script/i, 'no script on any page');
    const r = await c.post('/login', { _csrf: null, _login: c.loginToken, login: 'postmaster', password: h.postmasterPassword });
    assert.equal(r.status, 303);
    const set = ([] as string[]).concat(r.headers['set-cookie'] ?? []);
    const session = set.find((x) => x.startsWith('__Host-mw-admin='));
    assert.ok(session, String(set));
    for (const flag of ['Secure', 'HttpOnly', 'SameSite=Strict', 'Path=/']) assert.ok(session.includes(flag), `${flag} in ${session}`);
    assert.equal(r.location, '/', 'no secret in the redirect URL');
    const home = await c.get('/');
    assert.equal(home.status, 200);
    assert.equal(home.headers['cache-control'], 'no-store');
    const sid = c.cookies.get('__Host-mw-admin') ?? '';
    assert.ok(sid.length >= 43);
    assert.ok(!home.body.includes(sid), 'the session id never appears in a page');
    const css = await c.get('/style.css');
    assert.equal(css.status, 200);
    assert.match(String(css.headers['content-type']), /text\/css/);
    // Logout ends the session on the server: the old cookie no longer works.
    const out = await c.post('/logout', {});
    assert.equal(out.status, 303);
    const stale = new WebClient(h.adminUrl);
    stale.cookies.set('__Host-mw-admin', sid);
    assert.equal((await stale.get('/domains')).status, 303);
    // The clear loopback listener works too, with cookies without Secure.
    const clear = new WebClient(h.adminClearUrl);
    const cr = await clear.login('/login', 'postmaster', h.postmasterPassword);
    assert.equal(cr.status, 303);
    assert.ok(([] as string[]).concat(cr.headers['set-cookie'] ?? []).some((x) => x.startsWith('mw-admin=') && !x.includes('Secure')));
  } finally { await h.close(); }
});

test('W1: idle sessions expire', async () => {
  let now = 1_000_000;
  const h = await startHarness({ sessions: { idleMs: 60_000, now: () => now } });
  try {
    const c = await postmaster(h);
    assert.equal((await c.get('/domains')).status, 200);
    now += 61_000;
    assert.equal((await c.get('/domains')).status, 303, 'an idle session is gone');
  } finally { await h.close(); }
});

test('W1 attack: CSRF without a token, with a wrong token, and with another session\'s token is refused', async () => {
  const h = await startHarness();
  try {
    const c = await postmaster(h);
    const other = await postmaster(h);
    for (const token of [null, '', 'x'.repeat(43), other.csrf]) {
      const r = await c.post('/domains', { _csrf: token, name: 'evil.test' });
      assert.equal(r.status, 403, `token ${String(token)}`);
      assert.match(r.body, /CSRF/);
    }
    assert.deepEqual(await h.directory.listDomains(), ['example.com'], 'nothing was created');
    // The login form has its own token: a login posted from elsewhere is refused.
    const fresh = new WebClient(h.adminUrl);
    const r = await fresh.post('/login', { _csrf: null, login: 'postmaster', password: h.postmasterPassword });
    assert.equal(r.status, 403);
    assert.equal(fresh.cookies.get('__Host-mw-admin'), undefined);
    // Logging out needs the token as well.
    assert.equal((await c.post('/logout', { _csrf: null })).status, 403);
    assert.equal((await c.get('/domains')).status, 200);
  } finally { await h.close(); }
});

test('W1 attack: session fixation: a cookie planted before login is never adopted', async () => {
  const h = await startHarness();
  try {
    const victim = new WebClient(h.adminUrl);
    const planted = 'A'.repeat(43);
    victim.cookies.set('__Host-mw-admin', planted);
    // An attacker who holds a real session and plants its id gets nothing either.
    const attacker = await postmaster(h);
    const attackerSid = attacker.cookies.get('__Host-mw-admin') ?? '';
    for (const sid of [planted, attackerSid]) {
      victim.cookies.set('__Host-mw-admin', sid);
      const r = await victim.login('/login', 'postmaster', h.postmasterPassword);
      assert.equal(r.status, 303);
      const now = victim.cookies.get('__Host-mw-admin');
      assert.ok(now && now !== sid, 'a new id is minted at login');
    }
    // The session id the attacker planted was ended at the victim's login.
    assert.equal((await attacker.get('/domains')).status, 303);
  } finally { await h.close(); }
});

test('W1 attack: script payloads in every name field are shown escaped', async () => {
  const h = await startHarness();
  try {
    const c = await postmaster(h);
    const payload = '<script>alert("x")</script><img src=x onerror=alert(1)>';
    const clean = (r: Response, what: string) => {
      assert.ok(!r.body.includes(payload) && !/<script>alert/i.test(r.body) && !/<img src=x/i.test(r.body), `${what}: payload unescaped`);
    };
    // Names refused by the store come back in the error message: escaped.
    let r = await c.post('/domains', { name: payload });
    assert.equal(r.status, 400);
    assert.ok(r.body.includes('&lt;script&gt;'), r.body.slice(-600));
    clean(r, 'domain name');
    await c.post('/domains', { name: 'corp.test' });
    r = await c.post('/domains/corp.test/accounts', { name: payload, realName: '', password: '' });
    assert.equal(r.status, 400);
    clean(r, 'account name');
    r = await c.get(`/domains/${encodeURIComponent(payload)}`);
    assert.equal(r.status, 404);
    clean(r, 'domain in the URL');
    r = await c.get(`/domains/corp.test/accounts/${encodeURIComponent(payload)}`);
    clean(r, 'account in the URL');
    // Free-text fields are stored as typed and shown escaped everywhere they appear.
    r = await c.post('/domains/corp.test/accounts', { name: 'alice', realName: payload, password: 'alice-password-1' });
    assert.equal(r.status, 303, r.body.slice(-500));
    for (const p of ['/domains/corp.test/accounts', '/domains/corp.test/accounts/alice']) {
      r = await c.get(p);
      assert.ok(r.body.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'), p);
      clean(r, p);
    }
    r = await c.post('/domains/corp.test/aliases', { aliases: payload });
    assert.equal(r.status, 400);
    clean(r, 'alias');
    r = await c.post('/listeners/IMAP', { _rev: '', count: '1', 'l.0.Address': payload, 'l.0.Port': '1143', 'l.0.TLS': 'starttls', 'l.0.ClearTextLogin': 'tls-only', 'l.0.Grant': payload });
    assert.ok(r.status >= 400);
    clean(r, 'listener');
    // The login page echoes the name typed.
    const anon = new WebClient(h.adminUrl);
    r = await anon.login('/login', payload, 'whatever-password');
    assert.equal(r.status, 401);
    clean(r, 'login name');
    // Certificate attributes end up in the certificate and on the page.
    r = await c.post('/domains/corp.test/security/generate-key', { kind: 'ecdsa-p256' });
    assert.equal(r.status, 303);
    for (let i = 0; i < 50 && (r.location ?? '').includes('/keygen/'); i++) { await new Promise((z) => setTimeout(z, 50)); r = await c.get(r.location ?? ''); }
    r = await c.post('/domains/corp.test/security/certificate', { action: 'self-signed', 'a.commonName': 'corp.test', 'a.organization': payload.slice(0, 60), 'a.email': 'postmaster@corp.test' });
    assert.equal(r.status, 303, r.body.slice(-800));
    r = await c.get('/domains/corp.test/security');
    assert.ok(r.body.includes('&lt;script&gt;'), 'organization shown');
    clean(r, 'certificate attributes');
  } finally { await h.close(); }
});

test('H2 through the web: a login flood hits the lock-out, the admin sees it and unlocks', async () => {
  const h = await startHarness();
  try {
    const c = await postmaster(h);
    let r = await c.get('/settings/obscure');
    r = await c.post('/settings/obscure', { _rev: /name="_rev" value="([^"]*)"/.exec(r.body)?.[1] ?? '', 's.LoginFailureLimit': '3', 's.LoginFailurePeriod': '10m' });
    assert.equal(r.status, 303, r.body.slice(-500));
    await c.post('/domains', { name: 'corp.test' });
    await c.post('/domains/corp.test/accounts', { name: 'bob', realName: 'Bob', password: 'bob-password-1' });
    const flood = new WebClient(h.userUrl, { host: 'corp.test' });
    for (let i = 0; i < 5; i++) {
      r = await flood.login('/login', 'bob', `wrong-${i}`);
      assert.equal(r.status, 401);
    }
    // Locked: the right password is refused too, with the same words (Hide Unknown is on).
    r = await flood.login('/login', 'bob', 'bob-password-1');
    assert.equal(r.status, 401);
    assert.match(flash(r), /Incorrect name or password/);
    r = await c.get('/domains/corp.test/accounts/bob');
    assert.match(r.body, /suspended<\/span> until/);
    r = await c.post('/domains/corp.test/accounts/bob/unlock', {});
    assert.equal(r.status, 303);
    r = await c.follow(r);
    assert.match(r.body, /not suspended/);
    r = await flood.login('/login', 'bob', 'bob-password-1');
    assert.equal(r.status, 303, 'after Unlock the right password works');
  } finally { await h.close(); }
});

test('N2, N4, N3 through the web: client addresses via a PROXY header from a configured proxy; Grant/Deny before any byte', async () => {
  const h = await startHarness();
  try {
    const c = await postmaster(h);
    let r = await c.get('/settings/protection');
    r = await c.post('/settings/protection', { _rev: /name="_rev" value="([^"]*)"/.exec(r.body)?.[1] ?? '', 's.ClientIPAddresses': '192.0.2.0/24', 's.RejectNonClientLogins': 'YES' });
    assert.equal(r.status, 303, r.body.slice(-500));
    // A WebUser listener behind a load balancer on 127.0.0.1, and one that denies 127.0.0.0/8.
    const problems = await h.web.apply({ HTTPA: h.listeners.HTTPA, HTTPU: [...h.listeners.HTTPU, L(0, 'implicit', { ProxyFrom: ['127.0.0.1'] }), L(0, 'implicit', { Deny: ['127.0.0.0/8'] })] });
    assert.deepEqual(problems, []);
    const [, proxied, denied] = h.web.addresses('HTTPU');
    assert.ok(proxied && denied);
    const outsider = new WebClient(`https://127.0.0.1:${proxied.port}`, { createConnection: proxiedTls(proxied.port, '198.51.100.7') });
    r = await outsider.login('/login', 'postmaster', h.postmasterPassword);
    assert.equal(r.status, 403);
    assert.match(flash(r), /not accepted from your network address/);
    assert.equal(r.headers.connection, 'close', 'N2: the connection is closed');
    const client = new WebClient(`https://127.0.0.1:${proxied.port}`, { createConnection: proxiedTls(proxied.port, '192.0.2.44') });
    r = await client.login('/login', 'postmaster', h.postmasterPassword);
    assert.equal(r.status, 303, 'a listed client address logs in');
    // The server itself (loopback) is always a client (N2).
    r = await new WebClient(h.userUrl).login('/login', 'postmaster', h.postmasterPassword);
    assert.equal(r.status, 303);
    // Without a PROXY header from the proxy's address, the connection is dropped.
    await assert.rejects(new WebClient(`https://127.0.0.1:${proxied.port}`).get('/'));
    // N3: denied before any byte: the TLS handshake never starts.
    const bytes = await new Promise<number>((resolve) => {
      let n = 0;
      const s = tlsConnect({ host: '127.0.0.1', port: denied.port, rejectUnauthorized: false });
      s.on('data', (d: Buffer) => { n += d.length; });
      s.on('error', () => resolve(n));
      s.on('close', () => resolve(n));
    });
    assert.equal(bytes, 0);
  } finally { await h.close(); }
});

test('W1: a form saved over a newer revision says "changed by someone else" and saves nothing', async () => {
  const h = await startHarness();
  try {
    const a = await postmaster(h);
    const b = await postmaster(h);
    const pa = await a.get('/settings/obscure');
    const pb = await b.get('/settings/obscure');
    const rev = (r: Response) => /name="_rev" value="([^"]*)"/.exec(r.body)?.[1] ?? '';
    let r = await a.post('/settings/obscure', { _rev: rev(pa), 's.LoginFailureLimit': '7' });
    assert.equal(r.status, 303);
    r = await b.post('/settings/obscure', { _rev: rev(pb), 's.LoginFailureLimit': '9' });
    assert.equal(r.status, 409);
    assert.match(r.body, /changed by someone else/);
    assert.equal((await h.directory.serverSettings()).values.LoginFailureLimit, 7);
    // The same on an account page and on the domain-wide defaults.
    await a.post('/domains', { name: 'corp.test' });
    await a.post('/domains/corp.test/accounts', { name: 'carol', realName: 'Carol', password: '' });
    const ca = await a.get('/domains/corp.test/accounts/carol');
    const cb = await b.get('/domains/corp.test/accounts/carol');
    assert.equal((await a.post('/domains/corp.test/accounts/carol', { _rev: rev(ca), 's.RealName': 'Carol A' })).status, 303);
    r = await b.post('/domains/corp.test/accounts/carol', { _rev: rev(cb), 's.RealName': 'Carol B' });
    assert.equal(r.status, 409);
    const da = await a.get('/domains/corp.test/defaults');
    const db = await b.get('/domains/corp.test/defaults');
    assert.equal((await a.post('/domains/corp.test/defaults', { _rev: rev(da), 's.RequireSecureMethod': 'YES' })).status, 303);
    assert.equal((await b.post('/domains/corp.test/defaults', { _rev: rev(db), 's.RequireSecureMethod': 'NO' })).status, 409);
  } finally { await h.close(); }
});

test('R5, W1: a delegated domain administrator reaches its domain and nothing else; unknown and forbidden look the same', async () => {
  const h = await startHarness();
  try {
    const c = await postmaster(h);
    await c.post('/domains', { name: 'corp.test' });
    await c.post('/domains', { name: 'other.test' });
    await c.post('/domains/corp.test/accounts', { name: 'boss', realName: 'Boss', password: 'boss-password-1' });
    let r = await c.post('/domains/corp.test/accounts/boss/rights', { right: ['DomainAdmin', 'Master'] });
    // Master cannot be held by an account of another domain (R1): refused, nothing stored.
    assert.equal(r.status, 403, r.body.slice(-400));
    r = await c.post('/domains/corp.test/accounts/boss/rights', { right: 'DomainAdmin' });
    assert.equal(r.status, 303);
    const boss = new WebClient(h.adminUrl);
    r = await boss.login('/login', 'boss@corp.test', 'boss-password-1');
    assert.equal(r.status, 303);
    r = await boss.follow(r);
    r = await boss.follow(r);
    assert.equal(r.status, 200);
    assert.match(r.body, /corp\.test/);
    assert.ok(!r.body.includes('other.test') && !r.body.includes('/settings/'), 'the navigation shows only its domain');
    assert.equal((await boss.get('/domains/corp.test/accounts')).status, 200);
    r = await boss.post('/domains/corp.test/accounts', { name: 'dave', realName: '', password: '' });
    assert.equal(r.status, 303, 'creates accounts in its own domain');
    for (const p of ['/settings/obscure', '/settings/protection', '/listeners', '/account-defaults']) {
      assert.equal((await boss.get(p)).status, 403, p);
    }
    // The rights overview lists the main domain, which a domain administrator cannot even see.
    assert.equal((await boss.get('/rights')).status, 404);
    const dl = await boss.get('/domains');
    assert.ok(!dl.body.includes('other.test') && !dl.body.includes('example.com</strong>'), 'the domain list holds only its domain');
    const text = (x: Response) => (/<div class="flash error"[^>]*>([^<]*)</.exec(x.body)?.[1] ?? '').replace(/other\.test|nowhere\.test/, 'X');
    for (const suffix of ['', '/accounts', '/security', '/defaults', '/accounts/postmaster']) {
      const forbidden = await boss.get(`/domains/other.test${suffix}`);
      const unknown = await boss.get(`/domains/nowhere.test${suffix}`);
      assert.equal(forbidden.status, 404, suffix);
      assert.equal(unknown.status, 404, suffix);
      assert.equal(text(forbidden), text(unknown), `unknown and forbidden look the same (${suffix})`);
    }
    assert.equal((await boss.post('/domains/other.test/accounts', { name: 'x', realName: '', password: '' })).status, 404);
    assert.equal((await boss.post('/domains/corp.test/accounts/dave/rights', { right: 'DomainAdmin' })).status, 403, 'R3: no rights changes');
    assert.equal((await boss.post('/domains/corp.test/aliases', { aliases: 'corp.example' })).status, 403, 'aliases reach into other domains');
    assert.deepEqual(await h.directory.listAccounts('other.test'), []);
    // Taking the right away ends the session at the next request.
    await c.post('/domains/corp.test/accounts/boss/rights', {});
    assert.equal((await boss.get('/domains/corp.test')).status, 303);
  } finally { await h.close(); }
});

test('W1, A8, N4: clear listeners take a password only from the server itself unless they allow clear text; error pages say nothing internal', async () => {
  const h = await startHarness();
  try {
    await h.web.apply({ HTTPA: [...h.listeners.HTTPA, L(0, 'clear', { ProxyFrom: ['127.0.0.1'] })], HTTPU: h.listeners.HTTPU });
    const port = h.web.addresses('HTTPA')[2]?.port ?? 0;
    const viaProxy = (client: string) => new WebClient(`http://127.0.0.1:${port}`, {
      // PROXY header and the first HTTP bytes may arrive in one segment: the bytes after the
      // header must reach the HTTP parser.
      createConnection: (_o, done) => {
        const s = netConnect(port, '127.0.0.1', () => s.write(`PROXY TCP4 ${client} 127.0.0.1 40000 ${port}\r\n`, () => done(null, s)));
        s.on('error', (e) => done(e));
        return undefined;
      },
    });
    let r = await viaProxy('192.0.2.9').login('/login', 'postmaster', h.postmasterPassword);
    assert.equal(r.status, 403);
    assert.match(flash(r), /not accepted over this unencrypted connection/);
    r = await viaProxy('127.0.0.1').login('/login', 'postmaster', h.postmasterPassword);
    assert.equal(r.status, 303, 'from the server itself');
    const c = await postmaster(h);
    r = await c.get('/no/such/page');
    assert.equal(r.status, 404);
    assert.match(String(r.headers['content-type']), /text\/html/);
    assert.match(r.body, /no such page/);
    r = await c.send('POST', '/domains', `_csrf=${c.csrf}&name=${'a'.repeat(1024 * 1024 + 10)}`);
    assert.equal(r.status, 413);
    assert.doesNotMatch(r.body, /FST_|stack|at /, 'no framework internals');
  } finally { await h.close(); }
});
