// W3: the CLI interpreter against a real data directory: CommuniGate Pro's documented sample
// session, the forms its Perl client (CGP::CLI) sends, argument errors, secrets never shown,
// CommuniGate's "default" removal, modules, client addresses, lock-out (H2), and R5's rule that
// for a delegated domain administrator an unknown domain and a forbidden one read the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serialize } from '../../settings/format/index.js';
import { executeCliLine, type CliReply } from './interpreter.js';
import { COMMANDS, findCommand } from './commands.js';
import { adminFixture, MAIN, OTHER, passwordOf, type AdminFixture } from './testing/fixture.js';
import { MODULES } from './names.js';
import { SERVER_SETTINGS } from '../../settings/schema.js';

type Want = 'OK' | string | RegExp | { code: 500 | 501; match: RegExp };

function show(r: CliReply): string {
  return r.ok ? (r.data === undefined ? 'OK' : serialize(r.data)) : `${r.code} ${r.message}`;
}

async function run(f: AdminFixture, who: string, rows: [string, Want][]): Promise<void> {
  const actor = await f.actorFor(who);
  for (const [line, want] of rows) {
    const r = await executeCliLine(line, { admin: f.admin, actor });
    const got = show(r);
    if (want === 'OK') assert.equal(got, 'OK', `${who}: ${line}`);
    else if (typeof want === 'string') assert.equal(got, want, `${who}: ${line}`);
    else if (want instanceof RegExp) assert.match(got, want, `${who}: ${line}`);
    else {
      assert.ok(!r.ok, `${who}: ${line}: expected ${want.code}, got ${got}`);
      if (!r.ok) { assert.equal(r.code, want.code, `${who}: ${line}: ${got}`); assert.match(r.message, want.match, `${who}: ${line}`); }
    }
  }
}

const e501 = (match: RegExp) => ({ code: 501 as const, match });
const e500 = (match: RegExp) => ({ code: 500 as const, match });

test('W3: the sample PWD session of the CommuniGate Pro CLI documentation, as CLI commands', async () => {
  const f = await adminFixture();
  try {
    await run(f, `postmaster@${MAIN}`, [
      ['CreateAccount "user1"', 'OK'],
      ['CreateAccount "user1"', e501(/already exists/)],
      ['RenameAccount "user1" into "user2"', 'OK'],
      ['CreateDomain "client1.com"', 'OK'],
      ['CreateAccount "user1@client1.com" TextMailbox', 'OK'],
      ['ListDomains', '("client.test","client1.com","example.com")'],
      ['ListAccounts', /^\{.*user2=macnt;.*\}$/],
      ['ListAccounts client1.com', '{user1=macnt;}'],
    ]);
  } finally { await f.done(); }
});

test('W3: forms the CGP::CLI Perl client sends, case-insensitive names, ignored account types', async () => {
  const f = await adminFixture();
  try {
    await run(f, `postmaster@${MAIN}`, [
      ['CREATEDOMAIN client1.com {DomainAliases=("mail.client1.com");}', 'OK'],
      ['GetDomainAliases client1.com', '("mail.client1.com")'],
      ['SetDomainAliases client1.com ("alias.client1.com","alias2.client1.com")', 'OK'],
      ['GetDomainAliases client1.com', '("alias.client1.com","alias2.client1.com")'],
      ['CreateAccount u1@client1.com MultiMailbox external {RealName="U One";}', 'OK'],
      ['GetAccountSettings u1@client1.com', '{RealName="U One";}'],
      ['SetAccountPassword u1@client1.com TO "correct horse"', 'OK'],
      ['VerifyAccountPassword u1@client1.com PASSWORD "correct horse"', 'OK'],
      ['VerifyAccountPassword u1@client1.com PASSWORD "wrong horse"', e501(/does not match/)],
      ['SetAccountPassword u1@client1.com PASSWORD "battery staple"', 'OK'],
      ['VerifyAccountPassword u1@client1.com PASSWORD "battery staple"', 'OK'],
      ['getaccounteffectivesettings u1@client1.com', /RealName="U One";/],
      ['UpdateAccountDefaults client1.com {RequireSecureMethod=YES;}', 'OK'],
      ['GetAccountDefaults client1.com', '{RequireSecureMethod=YES;}'],
      ['SetAccountDefaults client1.com {UseSysPassword=YES;}', 'OK'],
      ['GetAccountDefaults client1.com', '{UseSysPassword=YES;}'],
      ['UpdateServerAccountDefaults {RealName=Someone;}', 'OK'],
      ['GetServerAccountDefaults', '{PasswordEncryption=clear;RealName=Someone;}'],
      ['SetServerAccountDefaults {PasswordEncryption=clear;}', 'OK'],
      ['GetServerAccountDefaults', '{PasswordEncryption=clear;}'],
      ['UpdateDomainSettings client1.com {CertificateMode=No;}', 'OK'],
      ['GetDomainSettings client1.com', '{DomainAliases=("alias.client1.com","alias2.client1.com");CertificateMode=No;}'],
      ['GetDomainEffectiveSettings client1.com', /CertificateMode=No;/],
      ['DeleteDomain client1.com', e501(/has accounts/)],
      ['DeleteDomain client1.com force', 'OK'],
      ['ListDomains', '("client.test","example.com")'],
    ]);
  } finally { await f.done(); }
});

test('W3: passwords given in settings are stored as Password Encryption says and never shown back', async () => {
  const f = await adminFixture();
  try {
    await run(f, `postmaster@${MAIN}`, [
      ['SetServerAccountDefaults {PasswordEncryption=U-crpt;}', 'OK'],
      ['CreateAccount u2 {Password="first password";RealName=Two;}', 'OK'],
      ['GetAccountSettings u2', '{RealName=Two;Password="(set)";ScramKeys="(set)";}'],
      ['GetAccountEffectiveSettings u2', /Password="\(set\)";ScramKeys="\(set\)";PasswordEncryption="U-crpt";/],
      ['UpdateAccountSettings u2 {Password="second password";}', 'OK'],
      ['VerifyAccountPassword u2 PASSWORD "second password"', 'OK'],
      ['UpdateAccountSettings u2 {Password="short";}', e501(/at least 8 characters/)],
      ['SetAccountSettings u2 {RealName=Again;}', 'OK'],
      ['VerifyAccountPassword u2 PASSWORD "second password"', 'OK'],
    ]);
    const stored = (await f.directory.accountSettings(MAIN, 'u2')).data.Password;
    assert.ok(typeof stored === 'string' && stored.startsWith('$argon2id$'), 'P3: one-way stored');
  } finally { await f.done(); }
});

test('W3: Update* with the value default removes a setting; Set* replaces the whole object', async () => {
  const f = await adminFixture();
  try {
    await run(f, `postmaster@${MAIN}`, [
      ['UpdateAccountSettings plain {RealName="P";RequireSecureMethod=YES;}', 'OK'],
      ['GetAccountSettings plain', '{Password="(set)";RealName=P;RequireSecureMethod=YES;}'],
      ['UpdateAccountSettings plain {RequireSecureMethod=default;RealName=#NULL#;}', 'OK'],
      ['GetAccountSettings plain', '{Password="(set)";}'],
      ['UpdateAccountSettings plain {NoSuchSetting=1;}', e501(/unknown account setting "NoSuchSetting"/)],
      ['UpdateAccountSettings plain {RequireSecureMethod=perhaps;}', e501(/expected YES or NO/)],
    ]);
  } finally { await f.done(); }
});

test('W3: modules reach every server-wide setting; client addresses as CommuniGate writes them', async () => {
  const f = await adminFixture();
  try {
    // Every server setting belongs to exactly one module.
    const owners = Object.keys(SERVER_SETTINGS).map((k) => MODULES.filter((m) => (m.kind === 'group' ? m.keys.includes(k) : k === 'Listeners')).length);
    assert.ok(owners.every((n) => n >= 1), 'each setting has a module');
    await run(f, `postmaster@${MAIN}`, [
      ['GetModule LoginSecurity', '{HideUnknownAccounts=YES;LoginFailureLimit=3;LoginFailurePeriod=1m;LoginFailureDelay=0s;AdvertiseSecureSASL=YES;AdvertiseMSN=NO;AdvertiseNTLM=NO;AllowNTLMv1=NO;ScramIterations=4096;}'],
      ['UpdateModule loginsecurity {LoginFailureLimit=5;LoginFailurePeriod=15m;}', 'OK'],
      ['GetModule LoginSecurity', /LoginFailureLimit=5;LoginFailurePeriod=15m;/],
      ['SetModule LoginSecurity {LoginFailureLimit=7;}', 'OK'],
      ['GetModule LoginSecurity', /HideUnknownAccounts=YES;LoginFailureLimit=7;LoginFailurePeriod=10m;/],
      ['UpdateModule LoginSecurity {TLSMinVersion="TLSv1.3";}', e501(/not a setting of module LoginSecurity \(it belongs to TLSSessions\)/)],
      ['UpdateModule TLSSessions {TLSMinVersion="TLSv1.3";TLSSessionTimeToLive=5m;}', 'OK'],
      ['GetModule TLSSessions', /TLSSessionTimeToLive=5m;TLSMinVersion="TLSv1.3";/],
      ['GetModule PWD', '{Listeners=({Address="127.0.0.1";Port=1106;TLS=starttls;Grant=();Deny=();ProxyFrom=();ClearTextLogin=always;});}'],
      ['UpdateModule PWD {Listeners=({Address="127.0.0.1";Port=2106;TLS=implicit;});}', 'OK'],
      ['GetModule PWD', /^\{Listeners=\(\{Address="127.0.0.1";Port=2106;TLS=implicit;/],
      ['GetModule IMAP', /Port=1143;.*Port=1993;/],
      ['UpdateModule PWD {Port=1;}', e501(/one setting, Listeners/)],
      ['UpdateModule PWD {Listeners=({Port=99999;});}', e501(/Port: must be from \d+ to 65535, got 99999/)],
      ['SetModule PWD {}', 'OK'],
      ['GetModule PWD', /Port=1106;TLS=starttls;/],
      ['GetModule NoSuchModule', e501(/unknown module "NoSuchModule" \(known: IMAP, POP, SMTP, HTTPA, HTTPU, PWD, /)],
      ['GetClientIPs', '"127.0.0.0/8\\e::1"'],
      ['SetClientIPs "10.0.0.0/8\\e192.168.1.1-192.168.1.20 ; the office\\e\\e2001:db8::/32"', 'OK'],
      ['GetClientIPs', '"10.0.0.0/8\\e192.168.1.1-192.168.1.20\\e2001:db8::/32"'],
      ['SetClientIPs ("127.0.0.1", "::1")', 'OK'],
      ['GetClientIPs', '"127.0.0.1\\e::1"'],
      ['SetClientIPs "not-an-address"', e501(/ClientIPAddresses/)],
      ['UpdateServerSettings {RejectNonClientLogins=YES;}', 'OK'],
      ['GetServerSettings', /RejectNonClientLogins=YES;/],
      ['GetServerEffectiveSettings', /MainDomainName="example.com";/],
    ]);
  } finally { await f.done(); }
});

test('W3: argument errors name the command and its usage; keywords must be bare atoms', async () => {
  const f = await adminFixture();
  try {
    await run(f, `postmaster@${MAIN}`, [
      ['RenameAccount a b', e501(/RenameAccount: expected the keyword into\. Usage: RenameAccount oldAccountName into newAccountName/)],
      ['RenameAccount a "into" b', e501(/expected the keyword into/)],
      ['RenameAccount a into', e501(/missing newName/)],
      ['CreateAccount', e501(/missing account/)],
      ['CreateAccount {a=b;}', e501(/CreateAccount: account must be a name/)],
      ['CreateAccount x (1)', e501(/unexpected argument 2/)],
      ['SetAccountPassword plain "x"', e501(/expected PASSWORD followed by the password/)],
      ['SetAccountPassword plain PASSWORD', e501(/missing the password after PASSWORD/)],
      ['SetAccountRights plain Master', e501(/rights must be an array/)],
      ['SetAccountRights plain (CanCreateAccounts)', e501(/unknown access right "CanCreateAccounts"/)],
      ['ListDomains extra', e501(/unexpected argument 1/)],
      ['NoSuchCommand', e500(/unknown command NoSuchCommand/)],
      ['Create{', e500(/syntax error at position 7/)],
      ['CreateAccount "x', e500(/unterminated quoted string/)],
      ['CreateAccount ""', e501(/account must be a name/)],
      ['CreateAccount "../x"', e501(/invalid account name/)],
    ]);
  } finally { await f.done(); }
});

test('R1, R3, W3: rights by CommuniGate name or Mailward name; answered in CommuniGate names', async () => {
  const f = await adminFixture();
  try {
    await run(f, `postmaster@${MAIN}`, [
      ['GetAccountRights postmaster', '(Master)'],
      ['SetAccountRights plain (Users, monitor)', 'OK'],
      ['GetAccountRights plain', '(Users,Monitor)'],
      ['SetAccountRights plain (ServerSettings,DomainAdmin)', 'OK'],
      ['GetAccountRights plain', '(Settings,Domain)'],
      ['SetAccountRights plain ()', 'OK'],
      ['GetAccountRights plain', '()'],
      [`SetAccountRights user@${OTHER} (Users)`, e501(/only to accounts of the main domain \(R1\)/)],
      [`SetAccountRights user@${OTHER} (Domain)`, 'OK'],
      ['SetAccountRights postmaster ()', e501(/R2/)],
    ]);
    await run(f, `users@${MAIN}`, [['SetAccountRights plain (Users)', e501(/not allowed: changing access rights/)]]);
  } finally { await f.done(); }
});

test('R5, W3: for a delegated domain administrator, unknown and forbidden read the same', async () => {
  const f = await adminFixture();
  try {
    const actor = await f.actorFor(`dadmin@${OTHER}`);
    const msg = async (line: string) => show(await executeCliLine(line, { admin: f.admin, actor }));
    const pairs: [string, string][] = [
      [`GetDomainSettings ${MAIN}`, 'GetDomainSettings nosuch.test'],
      [`ListAccounts ${MAIN}`, 'ListAccounts nosuch.test'],
      [`GetAccountSettings postmaster@${MAIN}`, 'GetAccountSettings postmaster@nosuch.test'],
      [`DeleteAccount plain@${MAIN}`, 'DeleteAccount plain@nosuch.test'],
      [`SetAccountPassword plain@${MAIN} PASSWORD "12345678x"`, 'SetAccountPassword plain@nosuch.test PASSWORD "12345678x"'],
    ];
    for (const [known, unknown] of pairs) {
      assert.equal((await msg(known)).replace(MAIN, 'D'), (await msg(unknown)).replace('nosuch.test', 'D'), known);
    }
    await run(f, `dadmin@${OTHER}`, [
      ['ListDomains', `("${OTHER}")`],
      ['GetDomainSettings', '{}'],
      ['CreateAccount newbie', 'OK'],
      ['ListAccounts', /newbie=macnt;/],
      [`UpdateDomainSettings {DomainAliases=("x.test");}`, e501(/not allowed: changing DomainAliases/)],
    ]);
  } finally { await f.done(); }
});

test('H2, W3: lock-out state and unlock through the CLI', async () => {
  const f = await adminFixture();
  try {
    const bad = { login: `plain@${MAIN}`, method: 'USER-PASS', mode: 'PWD' as const, client: '192.0.2.1', secure: true, clearText: true, credential: { type: 'password' as const, password: Buffer.from('wrong') } };
    for (let i = 0; i < 3; i++) await f.engine.authenticate(bad);
    const lockedUntil = new Date(f.clock.t + 60_000);
    await run(f, `postmaster@${MAIN}`, [
      [`GetAccountLockout plain@${MAIN}`, serialize({ Failures: 0, LockedUntil: lockedUntil })],
      [`UnlockAccount plain@${MAIN}`, 'OK'],
      [`GetAccountLockout plain@${MAIN}`, '{Failures=#0;}'],
    ]);
    const ok = await f.engine.authenticate({ ...bad, credential: { type: 'password', password: Buffer.from(passwordOf(`plain@${MAIN}`)) } });
    assert.equal(ok.status, 'ok');
    await run(f, `monitor@${MAIN}`, [[`GetAccountLockout plain@${MAIN}`, '{Failures=#0;}'], [`UnlockAccount plain@${MAIN}`, e501(/not allowed/)]]);
  } finally { await f.done(); }
});

test('W3: the command table is consistent: unique names, every slot names a parameter, examples parse', async () => {
  const names = new Set<string>();
  for (const c of COMMANDS) {
    assert.ok(!names.has(c.name.toLowerCase()), `duplicate ${c.name}`);
    names.add(c.name.toLowerCase());
    assert.equal(findCommand(c.name.toUpperCase()), c);
    for (const s of c.slots) if ('param' in s) assert.ok(c.params.some((p) => p.name === s.param), `${c.name}: slot for unknown ${s.param}`);
    assert.ok(c.example.cli.startsWith(c.name), `${c.name}: example`);
  }
  const f = await adminFixture();
  try {
    // Every example at least parses and matches its grammar (it may fail on missing objects).
    const actor = await f.actorFor(`postmaster@${MAIN}`);
    for (const c of COMMANDS) {
      const r = await executeCliLine(c.example.cli, { admin: f.admin, actor });
      if (!r.ok) assert.doesNotMatch(r.message, /Usage:|syntax error|unknown command/, `${c.name}: ${r.message}`);
    }
  } finally { await f.done(); }
});
