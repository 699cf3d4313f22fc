// P1: effective account settings come from account → domain defaults → server defaults → built-in,
// each with its source; every stored value is checked with a clear message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSettings, SCHEMAS, DEFAULT_LISTENERS } from './schema.js';
import { resolveAccount, resolveServer } from './effective.js';
import { isMailwardError } from '../core/errors.js';

test('P1: account value wins over domain defaults, which win over server defaults and built-ins', () => {
  const r = resolveAccount({
    account: { UseSysPassword: 'YES' }, accountWhere: 'a',
    domainDefaults: { UseSysPassword: 'NO', RequireSecureMethod: 'YES' }, domainWhere: 'd',
    serverDefaults: { RequireSecureMethod: 'NO', OSUserName: 'mail-*', UseExtPassword: 'YES' },
  });
  assert.equal(r.values.UseSysPassword, true);
  assert.equal(r.sources.UseSysPassword, 'account');
  assert.equal(r.values.RequireSecureMethod, true);
  assert.equal(r.sources.RequireSecureMethod, 'domain');
  assert.equal(r.values.OSUserName, 'mail-*');
  assert.equal(r.sources.OSUserName, 'server');
  assert.equal(r.values.UseAppPassword, true);
  assert.equal(r.sources.UseAppPassword, 'default');
});

test('S1: a bad stored value is an error naming where it is, never a silent default', () => {
  assert.throws(() => resolveAccount({ account: { UseSysPassword: 'maybe' }, accountWhere: 'Domains/x/Accounts/a', domainDefaults: null, domainWhere: '', serverDefaults: null }),
    (e) => isMailwardError(e, 'settings.invalid') && /Domains\/x\/Accounts\/a: UseSysPassword: expected YES or NO/.test(e.message));
});

test('settings checks: a table of bad values, each with the message an admin sees', () => {
  const rows: [string, Record<string, unknown>, RegExp, string][] = [
    ['server', { MainDomainName: 'bad_domain!' }, /not a valid domain name/, 'domain names are DNS names'],
    ['server', { LoginFailureLimit: '-1' }, /from 0 to 10000/, 'negative limits make no sense'],
    ['server', { LoginFailurePeriod: '10 parsecs' }, /time span/, 'durations have units s, m, h, d'],
    ['server', { ClientIPAddresses: ['10.0.0.0/33'] }, /item 1: .*not an IP address/, 'CIDR prefix beyond 32'],
    ['server', { ClientIPAddresses: ['10.0.0.1-::1'] }, /must be IPv4 or both IPv6/, 'mixed-family ranges'],
    ['server', { Listeners: { IMAP: [{ Port: '99999' }] } }, /Port: must be from 0 to 65535/, 'port range'],
    ['server', { Listeners: { FTP: [] } }, /unknown key "FTP"/, 'services are a closed list'],
    ['server', { Nonsense: 'x' }, /unknown server setting/, 'typos are reported, not ignored'],
    ['domain', { CertificateMode: 'Maybe' }, /one of No, Test, Custom/, 'T4 modes'],
    ['account', { PasswordEncryption: 'rot13' }, /one of clear, U-crpt/, 'P3 encryption modes'],
    ['account', { OSUserName: 'a b' }, /pattern such as/, 'OS names cannot hold spaces'],
  ];
  for (const [scope, data, re, why] of rows) {
    const p = checkSettings(scope as 'server', data as never);
    assert.equal(p.length, 1, `${why}: ${JSON.stringify(p)}`);
    assert.match(p[0]?.message ?? '', re, why);
  }
});

test('built-in defaults pass their own checks, and listeners default to unprivileged ports', () => {
  for (const [scope, schema] of Object.entries(SCHEMAS)) {
    for (const [key, d] of Object.entries(schema)) {
      const back = d.codec.decode(d.codec.encode(d.default));
      assert.ok(back.ok, `${scope}.${key}: ${back.ok ? '' : back.message}`);
      assert.deepEqual(back.value, d.default, `${scope}.${key} round trip`);
    }
  }
  const ports = Object.values(DEFAULT_LISTENERS).flat().map((l) => l.Port);
  assert.ok(ports.every((p) => p > 1024));
  assert.equal(resolveServer(null).values.LoginFailurePeriod, 600);
});
