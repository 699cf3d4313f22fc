// A2, A9: SCRAM-SHA-1/256 and -PLUS server side: RFC vectors, channel binding and downgrade rules,
// SASLprep, malformed-input table, fuzzing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ChannelBindingType, SaslContext, SaslStep, ScramAlgorithm } from '../mechanism.js';
import { FakeCredentialPort, type FakeUser } from '../testing/fake-port.js';
import { createScramMechanism, scramSha1, scramSha1Plus, scramSha256, scramSha256Plus } from './scram.js';
import { saslPrep, scramKeys } from '../../passwords/index.js';
import { ScramClient } from '../client/scram.js';
import { SaslSession } from '../driver.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

function ctx(port: FakeCredentialPort, extra: Partial<SaslContext> = {}): SaslContext {
  return {
    serverName: 'mail.example.com', service: 'imap', secure: true, channelBindings: {}, plusAdvertised: false,
    options: { allowNtlmV1: false }, port, ...extra,
  };
}

async function scramUser(password: string, alg: ScramAlgorithm, salt: Buffer, iterations = 4096, extra: Partial<FakeUser> = {}): Promise<FakeUser> {
  const k = await scramKeys(alg, Buffer.from(password, 'utf8'), salt, iterations);
  return { scram: { [alg]: { salt, iterations, storedKey: k.storedKey, serverKey: k.serverKey } }, ...extra };
}

function expectChallenge(s: SaslStep): string {
  assert.equal(s.type, 'challenge', JSON.stringify(s));
  return s.type === 'challenge' ? s.data.toString('utf8') : '';
}

function failureReason(s: SaslStep): string {
  assert.equal(s.type, 'failure', JSON.stringify(s));
  if (s.type !== 'failure') return '';
  return s.failure.status === 'malformed' ? s.failure.reason : s.failure.status;
}

// RFC 5802 section 5 (SHA-1) and RFC 7677 section 3 (SHA-256), user "user", password "pencil".
const RFC_VECTORS = [
  {
    rfc: 'RFC 5802 section 5', alg: 'SHA-1' as const,
    clientFirst: 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL', serverNonce: '3rfcNHYJY1ZVvWVs7j', salt: 'QSXCR+Q6sek8bf92',
    serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
    clientFinal: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
    serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
    // Independent: `gsasl --mkpasswd -m SCRAM-SHA-1 --password pencil --salt QSXCR+Q6sek8bf92 --iteration-count 4096`
    gsaslStoredKey: '6dlGYMOdZcOPutkcNY8U2g7vK9Y=', gsaslServerKey: 'D+CSWLOshSulAsxiupA+qs2/fTE=',
  },
  {
    rfc: 'RFC 7677 section 3', alg: 'SHA-256' as const,
    clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO', serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0', salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
    serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
    gsaslStoredKey: 'WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=', gsaslServerKey: 'wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=',
  },
];

for (const v of RFC_VECTORS) {
  void test(`A2 SCRAM-${v.alg}: ${v.rfc} example, server side, byte for byte`, async () => {
    const port = new FakeCredentialPort({ user: await scramUser('pencil', v.alg, Buffer.from(v.salt, 'base64')) });
    const mech = createScramMechanism(v.alg, false, { serverNonce: () => v.serverNonce });
    const ex = mech.start(ctx(port));
    assert.equal(expectChallenge(await ex.step(b(v.clientFirst))), v.serverFirst);
    const fin = await ex.step(b(v.clientFinal));
    assert.equal(fin.type, 'success', JSON.stringify(fin));
    if (fin.type === 'success') {
      assert.equal(fin.serverData?.toString('utf8'), v.serverFinal);
      assert.equal(fin.authcid, 'user');
      assert.equal(fin.authzid, undefined);
    }
    assert.equal(port.calls.length, 1);
    assert.deepEqual({ login: port.calls[0]?.login, method: port.calls[0]?.method, clearText: port.calls[0]?.clearText },
      { login: 'user', method: `SCRAM-${v.alg}`, clearText: false });
  });

  void test(`A2 SCRAM-${v.alg}: ${v.rfc} example, client side, byte for byte`, async () => {
    const client = new ScramClient(v.alg, { authcid: 'user', password: 'pencil' }, { clientNonce: v.clientFirst.split('r=')[1] ?? '' });
    assert.equal(client.name, `SCRAM-${v.alg}`);
    assert.equal(client.start().initial?.toString('utf8'), v.clientFirst);
    assert.equal((await client.next(b(v.serverFirst))).toString('utf8'), v.clientFinal);
    assert.equal(client.finish(b(v.serverFinal)), true);
  });

  void test(`A9 SCRAM-${v.alg}: stored keys match gsasl --mkpasswd for the ${v.rfc} salt`, async () => {
    const k = await scramKeys(v.alg, Buffer.from('pencil'), Buffer.from(v.salt, 'base64'), 4096);
    assert.equal(k.storedKey.toString('base64'), v.gsaslStoredKey);
    assert.equal(k.serverKey.toString('base64'), v.gsaslServerKey);
  });
}

void test('A2 SCRAM: mechanism descriptors', () => {
  assert.deepEqual([scramSha1, scramSha1Plus, scramSha256, scramSha256Plus].map((m) => [m.name, m.needs, m.clearText, m.advertiseGroup, m.plus === true]), [
    ['SCRAM-SHA-1', 'lookup-credentials', false, 'secure', false],
    ['SCRAM-SHA-1-PLUS', 'lookup-credentials', false, 'secure', true],
    ['SCRAM-SHA-256', 'lookup-credentials', false, 'secure', false],
    ['SCRAM-SHA-256-PLUS', 'lookup-credentials', false, 'secure', true],
  ]);
});

/** Our client against our server through the mechanism interface; returns the last server step. */
async function roundTrip(opts: {
  alg?: ScramAlgorithm; plus?: boolean; password?: string; authcid?: string; authzid?: string;
  clientCb?: { type: ChannelBindingType; data: Buffer }; serverCb?: Partial<Record<ChannelBindingType, Buffer>>;
  plusAdvertised?: boolean; users?: Record<string, FakeUser>;
}): Promise<{ step: SaslStep; port: FakeCredentialPort; client: ScramClient }> {
  const alg = opts.alg ?? 'SHA-256';
  const users = opts.users ?? { alice: await scramUser('correct horse', alg, Buffer.from('salt-of-alice')) };
  const port = new FakeCredentialPort(users);
  const mech = createScramMechanism(alg, opts.plus ?? false);
  const ex = mech.start(ctx(port, { channelBindings: opts.serverCb ?? {}, plusAdvertised: opts.plusAdvertised ?? false }));
  const client = new ScramClient(alg, { authcid: opts.authcid ?? 'alice', password: opts.password ?? 'correct horse', ...(opts.authzid ? { authzid: opts.authzid } : {}) },
    { plus: opts.plus ?? false, ...(opts.clientCb ? { channelBinding: opts.clientCb } : {}) });
  // No initial response: the server must answer with an empty challenge first.
  const empty = await ex.step(null);
  assert.equal(expectChallenge(empty), '');
  const s1 = await ex.step(client.start().initial ?? Buffer.alloc(0));
  if (s1.type !== 'challenge') return { step: s1, port, client };
  const s2 = await ex.step(await client.next(s1.data));
  return { step: s2, port, client };
}

void test('A2 SCRAM-SHA-1 and SHA-256: our client against our server; the client verifies v=', async () => {
  for (const alg of ['SHA-1', 'SHA-256'] as const) {
    const { step, port, client } = await roundTrip({ alg });
    assert.equal(step.type, 'success', JSON.stringify(step));
    if (step.type === 'success') assert.equal(client.finish(step.serverData ?? null), true);
    assert.equal(port.calls.length, 1);
  }
});

void test('A2 SCRAM through the SASL driver: v= as a last challenge (SMTP, IMAP4rev1) and with success; both verified by our client', async () => {
  for (const successData of ['as-challenge', 'with-success'] as const) {
    const port = new FakeCredentialPort({ alice: await scramUser('correct horse', 'SHA-256', Buffer.from('salt')) });
    const session = new SaslSession(ctx(port), { offered: ['SCRAM-SHA-256'], successData });
    const client = new ScramClient('SHA-256', { authcid: 'alice', password: 'correct horse' });
    let reply = await session.start('SCRAM-SHA-256', client.start().initial?.toString('base64'));
    let rounds = 0;
    while (reply.reply === 'challenge' && rounds++ < 4) {
      reply = await session.respond((await client.next(Buffer.from(reply.base64, 'base64'))).toString('base64'));
    }
    assert.equal(reply.reply, 'success', `${successData}: ${JSON.stringify(reply)}`);
    if (reply.reply === 'success') {
      assert.equal(client.finish(reply.serverData === undefined ? null : Buffer.from(reply.serverData, 'base64')), true, successData);
      assert.equal(reply.serverData === undefined, successData === 'as-challenge');
    }
  }
});

void test('A2 SCRAM: wrong password fails with bad-credentials after exactly one port call', async () => {
  const { step, port } = await roundTrip({ password: 'wrong horse' });
  assert.equal(failureReason(step), 'bad-credentials');
  assert.equal(port.calls.length, 1);
});

void test('A2 SCRAM: unknown user gets stable fake parameters and fails as unknown', async () => {
  const port = new FakeCredentialPort({});
  const firsts: string[] = [];
  for (let i = 0; i < 2; i++) {
    const ex = scramSha256.start(ctx(port));
    const sf = expectChallenge(await ex.step(b('n,,n=nobody,r=abcdefgh')));
    firsts.push(sf.replace(/^r=[^,]*,/, ''));
    const client = new ScramClient('SHA-256', { authcid: 'nobody', password: 'x' }, { clientNonce: 'abcdefgh' });
    client.start();
    assert.equal(failureReason(await ex.step(await client.next(b(sf)))), 'unknown');
  }
  assert.equal(firsts[0], firsts[1]);
});

void test('A9 SCRAM: an account without SCRAM keys (one-way password only) fails cleanly', async () => {
  const { step, port } = await roundTrip({ users: { alice: { password: 'correct horse' } } });
  assert.equal(failureReason(step), 'bad-credentials');
  assert.equal(port.calls.length, 1);
});

void test('A9 SCRAM: SHA-1 keys do not answer a SHA-256 exchange', async () => {
  const users = { alice: await scramUser('correct horse', 'SHA-1', Buffer.from('salt')) };
  const { step } = await roundTrip({ alg: 'SHA-256', users });
  assert.equal(failureReason(step), 'bad-credentials');
});

void test('A2 SCRAM: authzid with =2C/=3D escaping reaches the port decoded; acting for others needs the right', async () => {
  const users = {
    alice: await scramUser('correct horse', 'SHA-256', Buffer.from('s1'), 4096, { mayActFor: ['bob,=x'] }),
    eve: await scramUser('pw-of-eve', 'SHA-256', Buffer.from('s2')),
  };
  const ok = await roundTrip({ users, authzid: 'bob,=x' });
  assert.equal(ok.step.type, 'success', JSON.stringify(ok.step));
  if (ok.step.type === 'success') assert.equal(ok.step.authzid, 'bob,=x');
  assert.equal(ok.port.calls[0]?.authzid, 'bob,=x');
  const denied = await roundTrip({ users, authcid: 'eve', password: 'pw-of-eve', authzid: 'bob,=x' });
  assert.equal(failureReason(denied.step), 'bad-credentials');
});

const CB = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');

void test('A2 SCRAM-PLUS: each channel-binding type the connection offers works (tls-exporter, tls-unique, tls-server-end-point)', async () => {
  for (const type of ['tls-exporter', 'tls-unique', 'tls-server-end-point'] as const) {
    for (const alg of ['SHA-1', 'SHA-256'] as const) {
      const { step, port } = await roundTrip({ alg, plus: true, clientCb: { type, data: CB }, serverCb: { [type]: CB }, plusAdvertised: true });
      assert.equal(step.type, 'success', `${alg} ${type}: ${JSON.stringify(step)}`);
      assert.equal(port.calls[0]?.method, `SCRAM-${alg}-PLUS`);
    }
  }
});

void test('A2 SCRAM-PLUS: wrong channel-binding data is refused (channel-bindings-dont-match) before any port call', async () => {
  const { step, port } = await roundTrip({ plus: true, clientCb: { type: 'tls-exporter', data: CB }, serverCb: { 'tls-exporter': Buffer.alloc(32, 7) }, plusAdvertised: true });
  assert.match(failureReason(step), /^channel-bindings-dont-match/);
  assert.equal(port.calls.length, 0);
});

void test('A2 SCRAM-PLUS: a binding type this connection does not offer is refused (tls-unique on TLS 1.3)', async () => {
  const { step } = await roundTrip({ plus: true, clientCb: { type: 'tls-unique', data: CB }, serverCb: { 'tls-exporter': CB }, plusAdvertised: true });
  assert.match(failureReason(step), /^unsupported-channel-binding-type/);
  const port = new FakeCredentialPort({});
  const unknown = await scramSha256Plus.start(ctx(port, { channelBindings: { 'tls-exporter': CB } })).step(b('p=tls-foo,,n=a,r=abc'));
  assert.match(failureReason(unknown), /^unsupported-channel-binding-type/);
});

void test('A2 SCRAM downgrade: "y" is refused when -PLUS was advertised, accepted when it was not', async () => {
  const refused = await roundTrip({ clientCb: { type: 'tls-exporter', data: CB }, serverCb: { 'tls-exporter': CB }, plusAdvertised: true });
  assert.match(failureReason(refused.step), /^server-does-support-channel-binding/);
  assert.equal(refused.port.calls.length, 0);
  const accepted = await roundTrip({ clientCb: { type: 'tls-exporter', data: CB }, plusAdvertised: false });
  assert.equal(accepted.step.type, 'success', JSON.stringify(accepted.step));
});

void test('A2 SCRAM downgrade: "p=" on a non-PLUS mechanism is refused (Cyrus -m ...-PLUS trap), "n"/"y" on -PLUS are refused', async () => {
  const port = new FakeCredentialPort({});
  const c = ctx(port, { channelBindings: { 'tls-unique': CB, 'tls-exporter': CB }, plusAdvertised: true });
  assert.match(failureReason(await scramSha256.start(c).step(b('p=tls-unique,,n=a,r=abc'))), /^channel-binding-not-supported/);
  assert.match(failureReason(await scramSha1.start(c).step(b('p=tls-exporter,,n=a,r=abc'))), /^channel-binding-not-supported/);
  assert.match(failureReason(await scramSha256Plus.start(c).step(b('n,,n=a,r=abc'))), /^invalid-encoding/);
  assert.match(failureReason(await scramSha1Plus.start(c).step(b('y,,n=a,r=abc'))), /^invalid-encoding/);
});

void test('A2 SCRAM: c= must repeat the gs2 header exactly (a client cannot switch n to y or drop the authzid)', async () => {
  const users = { alice: await scramUser('pw', 'SHA-256', Buffer.from('s'), 4096, { mayActFor: ['bob'] }) };
  for (const [first, cHeader] of [['n,,', 'y,,'], ['y,,', 'n,,'], ['n,a=bob,', 'n,,']] as const) {
    const port = new FakeCredentialPort(users);
    const ex = scramSha256.start(ctx(port));
    const sf = expectChallenge(await ex.step(b(`${first}n=alice,r=nonce1`)));
    const nonce = /^r=([^,]*)/.exec(sf)?.[1] ?? '';
    const step = await ex.step(b(`c=${Buffer.from(cHeader).toString('base64')},r=${nonce},p=${Buffer.alloc(32).toString('base64')}`));
    assert.match(failureReason(step), /^channel-bindings-dont-match/, `${first} vs ${cHeader}`);
    assert.equal(port.calls.length, 0);
  }
});

void test('A2 SCRAM SASLprep: RFC 4013 section 3 examples, and the server prepares the user name', async () => {
  assert.equal(saslPrep('I\u00ADX', 'stored'), 'IX');
  assert.equal(saslPrep('user', 'stored'), 'user');
  assert.equal(saslPrep('USER', 'stored'), 'USER');
  assert.equal(saslPrep('\u00AA', 'stored'), 'a');
  assert.equal(saslPrep('\u2168', 'stored'), 'IX');
  assert.equal(saslPrep('\u0007', 'stored'), null);
  assert.equal(saslPrep('\u0627\u0031', 'stored'), null);
  assert.equal(saslPrep('a\u00A0b', 'stored'), 'a b');
  assert.equal(saslPrep('\u00AD', 'stored'), null); // maps to nothing: empty result fails
  assert.equal(saslPrep('\u0221', 'stored'), null); // unassigned in Unicode 3.2: refused for stored strings
  assert.equal(saslPrep('\u0221', 'query'), '\u0221'); // ...allowed for queries (user names)

  // The server looks up the prepared name: U+2168 (ROMAN NUMERAL NINE) and the soft hyphen.
  const users = { ix: await scramUser('p\u00E4ss', 'SHA-256', Buffer.from('s')) };
  const { step, port } = await roundTrip({ users, authcid: 'I\u00ADX', password: 'pa\u0308ss' });
  assert.equal(step.type, 'success', JSON.stringify(step)); // NFKC composes a + U+0308 to U+00E4
  assert.equal(port.calls[0]?.login, 'IX');
  const port2 = new FakeCredentialPort({});
  assert.match(failureReason(await scramSha256.start(ctx(port2)).step(b('n,,n=bad\u0007name,r=abc'))), /^invalid-username-encoding/);
});

void test('A2 SCRAM: step order is enforced', async () => {
  const port = new FakeCredentialPort({ alice: await scramUser('pw', 'SHA-256', Buffer.from('s')) });
  const ex = scramSha256.start(ctx(port));
  expectChallenge(await ex.step(b('n,,n=alice,r=abc')));
  assert.match(failureReason(await ex.step(null)), /client-final-message missing/);
  assert.match(failureReason(await ex.step(b('n,,n=alice,r=abc'))), /already finished/);
  // A second exchange: after success nothing more is accepted.
  const client = new ScramClient('SHA-256', { authcid: 'alice', password: 'pw' });
  const ex2 = scramSha256.start(ctx(port));
  const sf = await ex2.step(client.start().initial ?? Buffer.alloc(0));
  assert.equal(sf.type, 'challenge');
  if (sf.type === 'challenge') assert.equal((await ex2.step(await client.next(sf.data))).type, 'success');
  assert.match(failureReason(await ex2.step(b('c=biws'))), /already finished/);
});

// Malformed-input table: each row is a client-first-message (or a client-final-message after a
// good first one) and why it must be refused.
const MALFORMED_FIRST: Array<[string, string | Buffer, RegExp]> = [
  ['empty message (client sent "=")', '', /^invalid-encoding/],
  ['no gs2 header at all', 'n=user,r=abc', /^invalid-encoding/],
  ['only one comma', 'n,n=user', /^invalid-encoding/],
  ['unknown gs2 flag', 'x,,n=user,r=abc', /^invalid-encoding/],
  ['upper-case flag is not the flag', 'N,,n=user,r=abc', /^invalid-encoding/],
  ['empty channel-binding name', 'p=,,n=user,r=abc', /^invalid-encoding/],
  ['channel-binding name with a bad character', 'p=tls_unique,,n=user,r=abc', /^invalid-encoding/],
  ['authzid without a=', 'n,bob,n=user,r=abc', /^invalid-encoding/],
  ['empty authzid saslname', 'n,a=,n=user,r=abc', /^invalid-encoding/],
  ['authzid with a bare "="', 'n,a=b=ob,n=user,r=abc', /^invalid-encoding/],
  ['mandatory extension m= (RFC 5802: must be refused)', 'n,,m=ext,n=user,r=abc', /^extensions-not-supported/],
  ['user attribute missing', 'n,,r=abc', /^invalid-encoding/],
  ['empty user name', 'n,,n=,r=abc', /^invalid-username-encoding/],
  ['"=" not followed by 2C or 3D (RFC 5802 section 5.1 MUST fail)', 'n,,n=us=er,r=abc', /^invalid-username-encoding/],
  ['lower-case escape is not an escape', 'n,,n=us=2cer,r=abc', /^invalid-username-encoding/],
  ['NUL inside the user name', 'n,,n=us\0er,r=abc', /^invalid-username-encoding/],
  ['user name that fails SASLprep (control character)', 'n,,n=us\u0001er,r=abc', /^invalid-username-encoding/],
  ['user name that fails SASLprep (bidi mix)', 'n,,n=\u0627x\u0627,r=abc', /^invalid-username-encoding/],
  ['user name longer than SCRAM_MAX_NAME', `n,,n=${'u'.repeat(600)},r=abc`, /^invalid-username-encoding/],
  ['nonce missing', 'n,,n=user', /^invalid-encoding/],
  ['attributes out of order', 'n,,r=abc,n=user', /^invalid-encoding/],
  ['empty nonce', 'n,,n=user,r=', /^invalid-encoding/],
  ['nonce with a space (not printable per RFC 5802)', 'n,,n=user,r=ab c', /^invalid-encoding/],
  ['nonce with a non-ASCII character', 'n,,n=user,r=ab\u00e9', /^invalid-encoding/],
  ['nonce longer than SCRAM_MAX_NONCE', `n,,n=user,r=${'x'.repeat(600)}`, /^invalid-encoding/],
  ['malformed extension after the nonce', 'n,,n=user,r=abc,zz', /^invalid-encoding/],
  ['empty extension value', 'n,,n=user,r=abc,x=', /^invalid-encoding/],
  ['trailing comma', 'n,,n=user,r=abc,', /^invalid-encoding/],
  ['invalid UTF-8', Buffer.from([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xc3, 0x28, 0x2c, 0x72, 0x3d, 0x61]), /^invalid-encoding/],
  ['overlong UTF-8 encoding of "/"', Buffer.concat([b('n,,n=a'), Buffer.from([0xc0, 0xaf]), b(',r=abc')]), /^invalid-encoding/],
  ['longer than SCRAM_MAX_MESSAGE', `n,,n=user,r=abc,x=${'y'.repeat(9000)}`, /^invalid-encoding/],
];

void test('A2 SCRAM malformed client-first-message table', async () => {
  for (const [why, input, expected] of MALFORMED_FIRST) {
    const port = new FakeCredentialPort({});
    const step = await scramSha256.start(ctx(port)).step(typeof input === 'string' ? b(input) : input);
    assert.equal(step.type, 'failure', `${why}: ${JSON.stringify(step)}`);
    assert.match(failureReason(step), expected, why);
    assert.equal(port.calls.length, 0, why);
  }
});

const P32 = Buffer.alloc(32, 1).toString('base64');
const MALFORMED_FINAL: Array<[string, (nonce: string) => string | Buffer, RegExp]> = [
  ['empty message', () => '', /^invalid-encoding/],
  ['proof missing', (n) => `c=biws,r=${n}`, /^invalid-encoding/],
  ['channel binding missing', (n) => `r=${n},p=${P32}`, /^invalid-encoding/],
  ['nonce missing', () => `c=biws,p=${P32}`, /^invalid-encoding/],
  ['attributes out of order', (n) => `r=${n},c=biws,p=${P32}`, /^invalid-encoding/],
  ['c= with junk base64 (Node would skip it)', (n) => `c=bi!ws,r=${n},p=${P32}`, /^invalid-encoding/],
  ['c= with non-canonical padding bits', (n) => `c=bh==,r=${n},p=${P32}`, /^invalid-encoding/],
  ['proof not base64', (n) => `c=biws,r=${n},p=%%%%`, /^invalid-encoding/],
  ['empty proof', (n) => `c=biws,r=${n},p=`, /^invalid-encoding/],
  ['proof of the wrong length (SHA-1 size on SHA-256)', (n) => `c=biws,r=${n},p=${Buffer.alloc(20).toString('base64')}`, /^bad-credentials$/],
  ['second proof in the middle', (n) => `c=biws,r=${n},p=${P32},p=${P32}`, /^invalid-encoding/],
  ['nonce of another exchange', () => `c=biws,r=abcOTHER,p=${P32}`, /^other-error: nonce/],
  ['only the client part of the nonce', () => `c=biws,r=abc,p=${P32}`, /^other-error: nonce/],
  ['c= of another gs2 header', (n) => `c=${Buffer.from('y,,').toString('base64')},r=${n},p=${P32}`, /^channel-bindings-dont-match/],
  ['c= with binding data on a non-PLUS exchange', (n) => `c=${Buffer.concat([b('n,,'), CB]).toString('base64')},r=${n},p=${P32}`, /^channel-bindings-dont-match/],
  ['malformed extension before the proof', (n) => `c=biws,r=${n},junk,p=${P32}`, /^invalid-encoding/],
  ['invalid UTF-8', () => Buffer.from([0x63, 0x3d, 0xff, 0xfe]), /^invalid-encoding/],
  ['longer than SCRAM_MAX_MESSAGE', (n) => `c=biws,r=${n},x=${'y'.repeat(9000)},p=${P32}`, /^invalid-encoding/],
];

void test('A2 SCRAM malformed client-final-message table', async () => {
  for (const [why, make, expected] of MALFORMED_FINAL) {
    const port = new FakeCredentialPort({ user: await scramUser('pw', 'SHA-256', Buffer.from('s')) });
    const ex = scramSha256.start(ctx(port));
    const sf = expectChallenge(await ex.step(b('n,,n=user,r=abc')));
    const nonce = /^r=([^,]*)/.exec(sf)?.[1] ?? '';
    const input = make(nonce);
    const step = await ex.step(typeof input === 'string' ? b(input) : input);
    assert.equal(step.type, 'failure', `${why}: ${JSON.stringify(step)}`);
    assert.match(failureReason(step), expected, why);
    // Only a well-formed final message with the right binding reaches the port.
    assert.equal(port.calls.length, expected.source.includes('bad-credentials') ? 1 : 0, why);
  }
});

void test('A2 SCRAM fuzz: arbitrary bytes as client-first and client-final never throw or succeed', async () => {
  const port = new FakeCredentialPort({ user: await scramUser('pw', 'SHA-256', Buffer.from('s')) });
  const cb = { 'tls-exporter': CB };
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), fc.boolean(), async (a, f, plus) => {
      const ex = (plus ? scramSha256Plus : scramSha256).start(ctx(port, { channelBindings: cb, plusAdvertised: true }));
      const s1 = await ex.step(Buffer.from(a));
      assert.ok(s1.type === 'challenge' || s1.type === 'failure');
      if (s1.type === 'challenge') assert.notEqual((await ex.step(Buffer.from(f))).type, 'success');
    }),
    { numRuns: 400 },
  );
});

void test('A2 SCRAM fuzz: grammar-shaped messages with hostile fields only fail cleanly', async () => {
  const port = new FakeCredentialPort({ user: await scramUser('pw', 'SHA-1', Buffer.from('s')) });
  const field = fc.string({ maxLength: 12, unit: fc.constantFrom('u', 's', 'e', 'r', '=', ',', '2', 'C', '3', 'D', '\0', '\u00AD', '\u0627', '\u2168', 'é', ' ') });
  const first = fc.record({
    flag: fc.oneof({ arbitrary: fc.constantFrom('n', 'y', 'p=tls-exporter'), weight: 4 }, fc.constantFrom('p=tls-unique', 'p=bogus', '', 'p=', 'm')),
    authz: fc.oneof({ arbitrary: fc.constantFrom(null, 'bob', 'a=3Db'), weight: 3 }, field),
    user: fc.oneof({ arbitrary: fc.constantFrom('user', 'alice', 'a=2Cb'), weight: 3 }, field),
    nonce: fc.oneof({ arbitrary: fc.stringMatching(/^[a-zA-Z0-9+/]{1,12}$/), weight: 3 }, fc.string({ maxLength: 12 })),
    ext: fc.oneof({ arbitrary: fc.constantFrom(null, 'x=1'), weight: 3 }, field),
  }).map((r) => `${r.flag},${r.authz === null ? '' : `a=${r.authz}`},n=${r.user},r=${r.nonce}${r.ext === null ? '' : `,${r.ext}`}`);
  const final = fc.record({
    header: fc.constantFrom('n,,', 'y,,', 'p=tls-exporter,,', ''), withCb: fc.boolean(), nonceOk: fc.boolean(), junk: fc.string({ maxLength: 6 }),
    ext: fc.option(field), proof: fc.uint8Array({ minLength: 0, maxLength: 24 }),
  });
  let reachedFinal = 0;
  await fc.assert(
    fc.asyncProperty(first, final, fc.boolean(), async (f1, f2, plus) => {
      const ex = (plus ? scramSha1Plus : scramSha1).start(ctx(port, { channelBindings: { 'tls-exporter': CB }, plusAdvertised: plus }));
      const s1 = await ex.step(b(f1));
      if (s1.type !== 'challenge') {
        assert.equal(s1.type, 'failure');
        return;
      }
      reachedFinal++;
      const nonce = /^r=([^,]*)/.exec(s1.data.toString())?.[1] ?? '';
      const c = Buffer.concat([b(f2.header), f2.withCb ? CB : Buffer.alloc(0)]).toString('base64');
      const msg = `c=${c},r=${f2.nonceOk ? nonce : f2.junk}${f2.ext === null ? '' : `,${f2.ext}`},p=${Buffer.from(f2.proof).toString('base64')}`;
      const s2 = await ex.step(b(msg));
      assert.equal(s2.type, 'failure', msg);
    }),
    { numRuns: 500 },
  );
  // The generator must actually reach the second step, or this test would prove little
  // (about 18% of runs do: 90 of 500 on average, so 40 is six standard deviations below).
  assert.ok(reachedFinal > 40, `only ${reachedFinal} runs reached client-final`);
});
