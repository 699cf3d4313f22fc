// P3 (registry, stored-format parsing, upgrade policy), P4 (empty passwords never verify):
// routing by prefix, a malformed-input table, a fuzz test of the parser, and what gets logged.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hash as argon2Hash } from '@node-rs/argon2';
import { configureLogging, type LogRecord } from '../core/log.js';
import {
  clearStoredForm, closeCryptPool, derive, hashNewPassword, identify, PASSWORD_MAX_BYTES, SCHEMES,
  STORED_MAX_LENGTH, verify, type SchemeId, type VerifyProblem,
} from './index.js';

after(() => closeCryptPool());

const ONE_WAY = { encryption: 'one-way' } as const;
const CLEAR = { encryption: 'clear' } as const;

const H43 = 'WsFBeg1qQ90JL3VkUTuM7xVV/5njhLngIVm6ftSnBR2';
const H86 = 'bcXJ8qxwY5sQ4v8MTl.0B1jeZ0z0JlA9jjmbUoCJZ.1wYXiLTU.q2ILyrDJLm890lyfuF7sWAeli0yjOyFPkf0';
const B53 = 'abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu';
const K32 = '9CBWYA5xtdSrmFE1mhErkajmt4InlsjrMsDqNlTSOKA=';
const K20 = 'wuuwonRTtubJiwqNsOExLSBa7Qs=';

test('P3: the registry routes each stored form to its scheme by the longest prefix', () => {
  const rows: [string, SchemeId, string][] = [
    ['hello world', 'clear', 'a bare string no form claims is clear text'],
    ['abJnggxhB/yWI', 'clear', 'a bare 13-character string is clear text, not DES (ambiguous)'],
    ['{CRYPT}abJnggxhB/yWI', 'des-crypt', 'DES only under {CRYPT}'],
    ['{crypt}abJnggxhB/yWI', 'des-crypt', 'tags are case-insensitive (OpenLDAP, Dovecot)'],
    ['{CRYPT}$6$saltsaltsaltsalt$' + H86, 'sha512-crypt', '{CRYPT}$6$ beats {CRYPT} (longest prefix)'],
    ['{CRYPT}$5$saltsaltsaltsalt$' + H43, 'sha256-crypt', '{CRYPT} wraps $5$'],
    ['{CRYPT}$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/', 'md5-crypt', '{CRYPT} wraps $1$'],
    ['{CRYPT}$2y$05$' + B53, 'bcrypt', '{CRYPT} wraps bcrypt'],
    ['{MD5}$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/', 'md5-crypt', "Dovecot's {MD5} is MD5-crypt: {MD5}$1$ beats {MD5}"],
    ['{MD5}X03MO1qnZdYdgyfeuILPmQ==', 'md5', "OpenLDAP's {MD5} is a base64 MD5 digest"],
    ['{PLAIN-MD5}5f4dcc3b5aa765d61d8327deb882cf99', 'md5', 'hex MD5 digest'],
    ['{SHA1}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', 'sha', 'Dovecot alias of {SHA}'],
    ['{ssha}HE8ogDuWRrcAoxX/PPLIG9bZLTj4s+9e', 'ssha', 'lower-case tag'],
    ['$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$' + K32.slice(0, 43), 'argon2id', 'PHC string'],
    ['{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$' + K32.slice(0, 43), 'argon2id', "Dovecot's tag"],
    ['{SCRAM-SHA-1}4096,c2FsdA==,' + K20 + ',' + K20, 'scram-sha-1', 'SCRAM-SHA-1 keys'],
    ['{SCRAM-SHA-256}4096,c2FsdA==,' + K32 + ',' + K32, 'scram-sha-256', 'SCRAM-SHA-256 keys'],
    ['{SCRAM-SHA-256}4096,c2FsdA==,' + K32 + ',' + K32 + ',' + K32, 'scram-sha-256', "GNU SASL's optional fifth field"],
    ['$3$$8846f7eaee8fb117ad06bdd830b7586c', 'nt', "libxcrypt's NT hash"],
    ['{NTLM}8846f7eaee8fb117ad06bdd830b7586c', 'nt', "Dovecot's NTLM"],
    ['{PLAIN}$1$x', 'clear', 'escaped clear text that looks like a hash'],
    ['{plain}{SHA}x', 'clear', 'escaped clear text that looks like a tag'],
    ['{CLEAR}x', 'clear', "Dovecot's {CLEAR}"],
    ['a{SHA}b', 'clear', 'a tag not at the start is text'],
    ['{unclosed', 'clear', 'no closing brace: not a tag'],
    ['$notcrypt', 'clear', 'no second $: not a crypt id'],
    ['$ 1$x', 'clear', 'a space is not a crypt id character'],
  ];
  for (const [stored, scheme, why] of rows) {
    const r = identify(stored);
    assert.equal(r.status === 'parsed' ? r.parsed.scheme : `${r.status}`, scheme, `${why}: ${stored}`);
  }
});

test('P3: no two schemes claim the same form, and every scheme has one', () => {
  const keys = SCHEMES.flatMap((s) => s.forms.map((f) => f.tag.toUpperCase() + f.lead));
  assert.equal(new Set(keys).size, keys.length);
  for (const s of SCHEMES) assert.ok(s.forms.length > 0, s.id);
});

test('P3: malformed and unknown stored strings are refused with a reason, never thrown, never clear text', async () => {
  type Row = [stored: string, problem: VerifyProblem, why: string];
  const rows: Row[] = [
    ['$1$saltsalt$short', 'malformed', 'MD5-crypt hash cut short (a truncated copy)'],
    ['$1$toolongsalt$qjXMvbEw8oaL.CzflDtaK/', 'malformed', 'MD5-crypt salt over 8: crypt never writes one'],
    ['$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/x', 'malformed', 'trailing garbage after the hash'],
    ['$1$saltsalt', 'malformed', 'salt with no hash at all'],
    ['$5$rounds=999$saltsalt$' + H43, 'malformed', 'rounds below glibc 1000: never produced by crypt(3)'],
    ['$5$rounds=05000$saltsalt$' + H43, 'malformed', 'rounds with a leading zero: never produced by crypt(3)'],
    ['$5$rounds=$saltsalt$' + H43, 'malformed', 'rounds= without a number'],
    ['$6$rounds=2000000$saltsalt$' + H86, 'over-limit', 'rounds above SHACRYPT_MAX_ROUNDS would hold a worker for seconds'],
    ['$6$rounds=99999999999999999999$saltsalt$' + H86, 'malformed', 'absurd rounds (no overflow to a small number)'],
    ['$6$saltsaltsaltsaltX$' + H86, 'malformed', 'SHA-crypt salt over 16'],
    ['$6$saltsalt$' + H43, 'malformed', 'a SHA-256 length hash under $6$'],
    ['$2b$03$' + B53, 'malformed', 'bcrypt cost below 4'],
    ['$2b$17$' + B53, 'over-limit', 'bcrypt cost above BCRYPT_MAX_COST'],
    ['$2b$05$short', 'malformed', 'bcrypt cut short'],
    ['$2b$5$' + B53, 'malformed', 'bcrypt cost must be two digits'],
    ['$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$' + K32.slice(0, 43), 'malformed', 'argon2 version 1.0'],
    ['$argon2id$v=19$m=19456,t=0,p=1$c2FsdHNhbHRzYWx0c2FsdA$' + K32.slice(0, 43), 'malformed', 'zero passes'],
    ['$argon2id$v=19$m=4,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$' + K32.slice(0, 43), 'malformed', 'memory below 8 KiB per lane'],
    ['$argon2id$v=19$m=300000,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$' + K32.slice(0, 43), 'over-limit', 'memory above ARGON2_MAX_MEMORY_KIB'],
    ['$argon2id$v=19$m=19456,t=99,p=1$c2FsdHNhbHRzYWx0c2FsdA$' + K32.slice(0, 43), 'over-limit', 'passes above ARGON2_MAX_TIME_COST'],
    ['$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$' + K32.slice(0, 43), 'malformed', 'salt under 8 bytes'],
    ['$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$', 'malformed', 'no hash'],
    ['$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$A', 'malformed', 'hash of one base64 character'],
    ['$argon2id$garbage', 'malformed', 'garbage after the lead'],
    ['{SHA}not base64!!', 'malformed', 'not base64'],
    ['{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9=', 'malformed', 'digest of 19 bytes'],
    ['{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9h=', 'malformed', 'non-canonical base64 (padding bits set): never written by a tool'],
    ['{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', 'malformed', 'salted digest without any salt'],
    ['{SHA256}', 'malformed', 'tag with nothing after it'],
    ['{MD5}5f4dcc3b5aa765d61d8327deb882cf9g', 'malformed', '32 characters but not hex, and not base64 of 16 bytes'],
    ['{SCRAM-SHA-256}4096,c2FsdA==', 'malformed', 'SCRAM with two fields'],
    ['{SCRAM-SHA-256}0,c2FsdA==,' + K32 + ',' + K32, 'malformed', 'zero iterations'],
    ['{SCRAM-SHA-256}-1,c2FsdA==,' + K32 + ',' + K32, 'malformed', 'negative iterations'],
    ['{SCRAM-SHA-256}4096,,' + K32 + ',' + K32, 'malformed', 'empty salt'],
    ['{SCRAM-SHA-256}20000000,c2FsdA==,' + K32 + ',' + K32, 'over-limit', 'iterations above SCRAM_MAX_ITERATIONS'],
    ['{SCRAM-SHA-1}4096,c2FsdA==,' + K32 + ',' + K32, 'malformed', 'SHA-256 sized keys under SCRAM-SHA-1'],
    ['{SCRAM-SHA-256}4096,c2FsdA==,' + K32 + ',' + K32 + ',' + K32 + ',x', 'malformed', 'six fields'],
    ['{CRYPT}abc', 'malformed', 'DES of the wrong length'],
    ['{CRYPT}ab!defghijklm', 'malformed', 'DES with a character outside ./0-9A-Za-z'],
    ['{CRYPT}', 'malformed', '{CRYPT} with nothing after it'],
    ['{CRYPT}$y$j9T$abc$def', 'unknown-scheme', 'yescrypt under {CRYPT}: a crypt method we do not have'],
    ['$y$j9T$abc$def', 'unknown-scheme', 'yescrypt: unknown crypt id, must not become a clear password'],
    ['$2x$05$' + B53, 'unknown-scheme', 'bcrypt $2x$ (the buggy variant) is not supported'],
    ['{FOO}bar', 'unknown-scheme', 'unknown tag'],
    ['{SSHA512.b64}abc', 'unknown-scheme', "Dovecot's encoding suffixes are not supported"],
    ['{}x', 'unknown-scheme', 'empty tag'],
    ['$3$$xyz', 'malformed', 'NT hash not hex'],
    ['{NTLM}8846f7eaee8fb117ad06bdd830b7586', 'malformed', 'NT hash of 31 hex digits'],
    ['x'.repeat(STORED_MAX_LENGTH + 1), 'over-limit', 'stored value above STORED_MAX_LENGTH'],
  ];
  for (const [stored, problem, why] of rows) {
    const r = await verify('password', stored, ONE_WAY);
    assert.equal(r.ok, false, why);
    assert.equal(r.problem, problem, `${why}: ${stored}`);
    const d = await derive(stored, 'clear');
    assert.deepEqual(d, { available: false, reason: 'invalid' }, why);
  }
});

test('P3: an unusable stored string is logged at problem level, without the string', async () => {
  const seen: LogRecord[] = [];
  configureLogging({ sink: (r) => seen.push(r), defaultLevel: 'all' });
  try {
    await verify('password', '{FOO}SecretLookingValue123', ONE_WAY);
    await verify('password', '$6$rounds=999$SecretSalt$' + H86, ONE_WAY);
    await derive('{SSHA}SecretNotBase64!!', 'clear');
  } finally {
    configureLogging({ sink: () => undefined, defaultLevel: 'none' });
  }
  assert.deepEqual(seen.map((r) => [r.level, r.module, r.event]), [
    ['problem', 'AUTH', 'password.unknownScheme'],
    ['problem', 'AUTH', 'password.malformed'],
    ['problem', 'AUTH', 'password.malformed'],
  ]);
  assert.equal(seen[1]?.scheme, 'sha512-crypt');
  const text = JSON.stringify(seen);
  for (const s of ['SecretLookingValue', 'SecretSalt', H86, 'SecretNotBase64', 'FOO']) assert.ok(!text.includes(s), `${s} was logged: ${text}`);
});

test('P4: an absent or empty stored password, bare or {PLAIN}, never verifies; nor does an empty password', async () => {
  for (const stored of ['', '{PLAIN}', '{plain}', '{CLEAR}', '{CLEARTEXT}']) {
    for (const pw of ['', 'x', '{PLAIN}']) {
      for (const policy of [ONE_WAY, CLEAR]) {
        const r = await verify(pw, stored, policy);
        assert.deepEqual([r.ok, r.problem], [false, 'empty'], `${JSON.stringify(pw)} against ${JSON.stringify(stored)}`);
      }
    }
    assert.deepEqual(await derive(stored, 'clear'), { available: false, reason: 'no-password' });
    assert.deepEqual(await derive(stored, 'scram-sha-256'), { available: false, reason: 'no-password' });
  }
  // A hash of the empty string must not let the empty password in either.
  const sha1OfEmpty = '{SHA}2jmj7l5rSw0yVb/vlWAYkK/YBwk=';
  assert.equal(identify(sha1OfEmpty).status, 'parsed');
  assert.deepEqual(await verify('', sha1OfEmpty, ONE_WAY), { ok: false, needsUpgrade: false, scheme: 'sha', problem: 'empty' });
  assert.deepEqual(await verify(Buffer.alloc(0), 'secret', CLEAR), { ok: false, needsUpgrade: false, scheme: 'clear', problem: 'empty' });
  assert.deepEqual(await hashNewPassword('', ONE_WAY), { ok: false, reason: 'empty' });
});

test('P3: password length limit: PASSWORD_MAX_BYTES verifies, one byte more is refused before hashing', async () => {
  const max = 'a'.repeat(PASSWORD_MAX_BYTES);
  assert.equal((await verify(max, max, CLEAR)).ok, true);
  const over = max + 'a';
  assert.deepEqual(await verify(over, `{PLAIN}${over}`, CLEAR), { ok: false, needsUpgrade: false, scheme: 'clear', problem: 'password-too-long' });
  assert.deepEqual(await hashNewPassword(over, ONE_WAY), { ok: false, reason: 'too-long' });
});

test('P3: needsUpgrade is set only for a match, only with one-way encryption, and not for current argon2id', async () => {
  const weak = await argon2Hash('pw-1', { algorithm: 2, memoryCost: 8192, timeCost: 1, parallelism: 1 });
  const current = await hashNewPassword('pw-1', ONE_WAY);
  assert.ok(current.ok);
  const strong = '{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$GeXxeKhQex4iIkKPpDIxhw$1mbVAouzY3c377vWFn/46hYGBfxu3ms/Wm2+e+mzoQA'; // doveadm pw -s ARGON2ID -p password
  const rows: [pw: string, stored: string, policy: typeof ONE_WAY | typeof CLEAR, ok: boolean, upgrade: boolean, why: string][] = [
    ['pw-1', 'pw-1', ONE_WAY, true, true, 'clear text under one-way encryption is legacy'],
    ['pw-1', 'pw-1', CLEAR, true, false, 'clear text under clear encryption stays'],
    ['password', '{SSHA}HE8ogDuWRrcAoxX/PPLIG9bZLTj4s+9e', ONE_WAY, true, true, 'RFC 2307 digest is legacy'],
    ['password', '{SSHA}HE8ogDuWRrcAoxX/PPLIG9bZLTj4s+9e', CLEAR, true, false, 'no rewriting under clear encryption'],
    ['wrong', '{SSHA}HE8ogDuWRrcAoxX/PPLIG9bZLTj4s+9e', ONE_WAY, false, false, 'a mismatch never upgrades'],
    ['pw-1', weak, ONE_WAY, true, true, 'argon2id below the current parameters'],
    ['pw-1', current.password, ONE_WAY, true, false, 'current argon2id'],
    ['password', strong, ONE_WAY, true, false, 'stronger argon2id is kept, not weakened'],
  ];
  for (const [pw, stored, policy, ok, upgrade, why] of rows) {
    const r = await verify(pw, stored, policy);
    assert.deepEqual([r.ok, r.needsUpgrade], [ok, upgrade], why);
  }
});

test('P3: clear text is stored bare unless it would read as a hash or tag, and always reads back', async () => {
  const rows: [pw: string, escaped: boolean][] = [
    ['plain words', false], ['abJnggxhB/yWI', false], ['ünïcödé', false], [' spaced ', false], ['a{SHA}b', false],
    ['$1$abc', true], ['$2b$05$x', true], ['{SHA}abc', true], ['{PLAIN}', true], ['{', true], ['{}', true], ['$', true],
    ['$y$j9T$x$y', true], ['{FOO}bar', true],
  ];
  for (const [pw, escaped] of rows) {
    const stored = clearStoredForm(pw);
    assert.equal(stored, escaped ? `{PLAIN}${pw}` : pw, pw);
    const made = await hashNewPassword(pw, CLEAR);
    assert.deepEqual(made, { ok: true, password: stored });
    const r = await verify(pw, stored, CLEAR);
    assert.deepEqual([r.ok, r.scheme], [true, 'clear'], pw);
    assert.equal((await verify(pw + 'x', stored, CLEAR)).ok, false);
  }
});

test('P3: fuzz: identify() and verify() answer any string with a clean value, never a throw or a hang', async () => {
  const keys = SCHEMES.flatMap((s) => s.forms.map((f) => f.tag + f.lead));
  const prefixed = fc.tuple(fc.constantFrom(...keys, ...keys.map((k) => k.toLowerCase())), fc.string({ unit: 'binary', maxLength: 120 })).map(([k, s]) => k + s);
  const anyString = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ maxLength: 200 }), prefixed);
  const statuses = new Set(['parsed', 'empty', 'unknown-scheme', 'malformed', 'over-limit']);
  const ids = new Set(SCHEMES.map((s) => s.id));
  fc.assert(fc.property(anyString, (s) => {
    const r = identify(s);
    assert.ok(statuses.has(r.status));
    if (r.status === 'parsed') assert.ok(ids.has(r.parsed.scheme));
    if (r.status !== 'parsed' && r.status !== 'empty' && s.length > 12) assert.ok(!r.reason.includes(s), 'reason echoes the input');
  }), { numRuns: 3000 });

  // Mutations of real stored strings reach deep into each parser; verify must settle quickly.
  const real = [
    '$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/', '$6$rounds=10000$saltsaltsaltsalt$ven1Z5uj7RDawucOM1A67FJkxPT8ty925GjP2I3C1I1otSzw05mv4Y24JfAguQfbNUK9F68UUwzofnEXKC9xP/',
    '$2b$05$' + B53, '{CRYPT}abJnggxhB/yWI', '{SSHA}HE8ogDuWRrcAoxX/PPLIG9bZLTj4s+9e', '$3$$8846f7eaee8fb117ad06bdd830b7586c',
    '{SCRAM-SHA-256}4096,9fVa6YEZFnE+Na7IILpgUw==,9CBWYA5xtdSrmFE1mhErkajmt4InlsjrMsDqNlTSOKA=,/M8EzY5lR+bGoMJAy22od0lAm6PPFn1uCbh/RpsNcsQ=',
    '$argon2id$v=19$m=19456,t=2,p=1$cwpWf2GXFltpfN5a+2OYJg$J1uwVGthj51Aft48hVKh+Xr8HoxIwZNXUHCi6xIbl4Y',
  ];
  const mutated = fc.tuple(fc.constantFrom(...real), fc.nat(), fc.constantFrom('replace', 'delete', 'insert', 'truncate'), fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }))
    .map(([s, n, op, c]) => {
      const i = n % s.length;
      if (op === 'replace') return s.slice(0, i) + c + s.slice(i + 1);
      if (op === 'delete') return s.slice(0, i) + s.slice(i + 1);
      if (op === 'insert') return s.slice(0, i) + c + s.slice(i);
      return s.slice(0, i);
    });
  const problems = new Set<string | undefined>([undefined, 'empty', 'unknown-scheme', 'malformed', 'over-limit', 'password-too-long', 'busy', 'internal']);
  await fc.assert(fc.asyncProperty(mutated, fc.constantFrom('password', 'pencil', ''), async (stored, pw) => {
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<'hang'>((resolve) => { timer = setTimeout(() => resolve('hang'), 10_000); });
    const r = await Promise.race([verify(pw, stored, ONE_WAY), hang]);
    clearTimeout(timer);
    assert.notEqual(r, 'hang', `verify hung on ${JSON.stringify(stored)}`);
    if (r === 'hang') return;
    assert.equal(typeof r.ok, 'boolean');
    assert.ok(problems.has(r.problem), String(r.problem));
    assert.notEqual(r.problem, 'internal', `internal error on ${JSON.stringify(stored)}`);
  }), { numRuns: 150 });
});
