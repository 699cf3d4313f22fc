// R5, the web column: every cell of the shared rights matrix (src/admin/rights-matrix.ts) driven
// through the WebAdmin pages by an account holding exactly that right, over real HTTPS with a
// logged-in session. A cell is "allowed" when the page shows the result (200) or confirms the
// change (303 to the page); "refused" when it answers 403 or 404, or when there is no session at
// all (an account without rights cannot log in to WebAdmin). Anything else fails the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTOR_LOGINS, MATRIX_ACTORS, RIGHTS_MATRIX, type MatrixActor, type MatrixCell } from '../../admin/rights-matrix.js';
import { ACTOR_PASSWORD, makeMatrixFixture, type MatrixFixture } from '../../admin/rights-matrix.fixture.js';
import { AdminService } from '../../admin/service.js';
import { DomainSecurityService } from '../../admin/domain-security.js';
import { AuthEngine } from '../../auth/engine.js';
import { InProcessLockout } from '../../auth/lockout.js';
import { configureLogging } from '../../core/log.js';
import { TlsContextResolver } from '../../tls/context.js';
import { makeTestCertificate } from '../../tls/test-certificate.js';
import { LoginHistory } from '../common/login-history.js';
import { startWebServers } from '../common/web-server.js';
import { L, WebClient, type Response } from '../common/testing/harness.js';

type Req = { method: 'GET' | 'POST'; path: string; form?: Record<string, string | string[]> };

const enc = encodeURIComponent;

/** The web page for each operation of the matrix. `n` makes every changed value differ from the
 *  stored one, so a change is always a real write (an unchanged form stores nothing). */
async function requestFor(cell: MatrixCell, tag: string, n: number, f: MatrixFixture): Promise<Req> {
  const a = cell.args(tag);
  const rev = async (ref: Parameters<MatrixFixture['directory']['get']>[0]) => (await f.directory.get(ref))?.revision ?? '';
  const acct = (address: unknown) => { const [x, d] = String(address).split('@') as [string, string]; return `/domains/${enc(d)}/accounts/${enc(x)}`; };
  switch (cell.method) {
    case 'getServerSettings': return { method: 'GET', path: '/settings/general' };
    case 'updateServerSettings': return { method: 'POST', path: '/settings/obscure', form: { _rev: await rev({ kind: 'server' }), 's.LoginFailureLimit': String(100 + n) } };
    case 'getServerAccountDefaults': return { method: 'GET', path: '/account-defaults' };
    case 'updateServerAccountDefaults': return { method: 'POST', path: '/account-defaults', form: { _rev: await rev({ kind: 'serverAccountDefaults' }), 's.OSUserName': `mail-${n}-*` } };
    case 'listDomains': return { method: 'GET', path: '/domains' };
    case 'createDomain': return { method: 'POST', path: '/domains', form: { name: String(a[0]) } };
    case 'renameDomain': return { method: 'POST', path: `/domains/${enc(String(a[0]))}/rename`, form: { to: String(a[1]) } };
    case 'deleteDomain': return { method: 'POST', path: `/domains/${enc(String(a[0]))}/delete`, form: { confirm: 'yes' } };
    case 'getDomainSettings': return { method: 'GET', path: `/domains/${enc(String(a[0]))}` };
    case 'updateDomainSettings': {
      const d = String(a[0]);
      const ch = a[1] as Record<string, unknown>;
      // CertificateMode lives on the Security page; other settings on the Domain Settings page.
      if ('CertificateMode' in ch) return { method: 'POST', path: `/domains/${enc(d)}/security/mode`, form: { mode: n % 2 ? 'Test' : 'No' } };
      return { method: 'POST', path: `/domains/${enc(d)}`, form: { _rev: await rev({ kind: 'domain', domain: d }), 's.LocalIPAddresses': `127.0.9.${n % 250}` } };
    }
    case 'setDomainAliases': return { method: 'POST', path: `/domains/${enc(String(a[0]))}/aliases`, form: { aliases: (a[1] as string[]).join('\n') } };
    case 'updateAccountDefaults': {
      const d = String(a[0]);
      return { method: 'POST', path: `/domains/${enc(d)}/defaults`, form: { _rev: await rev({ kind: 'domainAccountDefaults', domain: d }), 's.OSUserName': `mail-${n}-*` } };
    }
    case 'listAccounts': return { method: 'GET', path: `/domains/${enc(String(a[0]))}/accounts` };
    case 'createAccount': { const [x, d] = String(a[0]).split('@') as [string, string]; return { method: 'POST', path: `/domains/${enc(d)}/accounts`, form: { name: x, realName: '', password: '' } }; }
    case 'getAccountSettings': case 'getAccountRights': return { method: 'GET', path: acct(a[0]) };
    case 'updateAccountSettings': {
      const [x, d] = String(a[0]).split('@') as [string, string];
      return { method: 'POST', path: acct(a[0]), form: { _rev: await rev({ kind: 'account', domain: d, account: x }), 's.RealName': `Name ${n}` } };
    }
    case 'setAccountPassword': return { method: 'POST', path: `${acct(a[0])}/password`, form: { password: String(a[1]), password2: String(a[1]) } };
    case 'renameAccount': return { method: 'POST', path: `${acct(a[0])}/rename`, form: { to: String(a[1]) } };
    case 'deleteAccount': return { method: 'POST', path: `${acct(a[0])}/delete`, form: { confirm: 'yes' } };
    case 'setAccountRights': return { method: 'POST', path: `${acct(a[0])}/rights`, form: { right: a[1] as string[] } };
    // The account page shows the lock-out state; its Unlock button posts here.
    case 'getAccountLockout': return { method: 'GET', path: acct(a[0]) };
    case 'unlockAccount': return { method: 'POST', path: `${acct(a[0])}/unlock`, form: {} };
    default: throw new Error(`the web column has no page for ${cell.method}: add one`);
  }
}

function verdict(r: Response): 'allowed' | 'refused' | 'unexpected' {
  if (r.status === 200) return 'allowed';
  if (r.status === 303) return r.location === '/login' ? 'refused' : 'allowed';
  if (r.status === 403 || r.status === 404) return 'refused';
  return 'unexpected';
}

test('R5: the rights matrix holds through the WebAdmin pages (web column)', async () => {
  configureLogging({ defaultLevel: 'failure' });
  const f = await makeMatrixFixture();
  const engine = new AuthEngine({ directory: f.directory, lockout: new InProcessLockout(), passwords: f.passwords });
  const admin = new AdminService(f.directory, f.passwords, engine);
  const resolver = new TlsContextResolver({ testCertificate: await makeTestCertificate('example.com') });
  const web = await startWebServers({
    admin, security: new DomainSecurityService(admin, f.directory), directory: f.directory, engine, passwords: f.passwords, resolver, history: new LoginHistory(),
  }, { HTTPA: [L(0, 'implicit')] });
  try {
    const url = `https://127.0.0.1:${web.addresses('HTTPA')[0]?.port}`;
    const clients = new Map<MatrixActor, WebClient>();
    for (const who of MATRIX_ACTORS) {
      const c = new WebClient(url);
      const r = await c.login('/login', ACTOR_LOGINS[who], ACTOR_PASSWORD);
      if (who === 'none') {
        assert.equal(r.status, 403, 'an account without rights cannot log in to WebAdmin');
        assert.match(r.body, /no administration rights/);
      } else {
        assert.equal(r.status, 303, `${who} logs in`);
        await c.get('/');
      }
      clients.set(who, c);
    }
    let cells = 0;
    const wrong: string[] = [];
    for (const cell of RIGHTS_MATRIX) {
      for (const who of MATRIX_ACTORS) {
        const n = cells++;
        const tag = `w${n}`;
        await f.prepare(cell, tag);
        const req = await requestFor(cell, tag, n, f);
        const c = clients.get(who) as WebClient;
        const r = req.method === 'GET' ? await c.get(req.path) : await c.post(req.path, req.form ?? {});
        const v = verdict(r);
        const expected = cell.allowed.includes(who) ? 'allowed' : 'refused';
        if (v !== expected) wrong.push(`${who} → ${cell.op}: ${v} (HTTP ${r.status} ${req.method} ${req.path}) ${(/class="flash error"[^>]*>([^<]*)/.exec(r.body)?.[1] ?? '').slice(0, 160)}`);
      }
    }
    assert.deepEqual(wrong, [], `cells that disagree with the matrix:\n${wrong.join('\n')}`);
    assert.equal(cells, RIGHTS_MATRIX.length * MATRIX_ACTORS.length);
  } finally {
    await web.close();
    resolver.close();
    await f.close();
  }
});
