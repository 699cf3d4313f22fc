// A3, A9: NTLM and MSN server exchange: MS-NLMP 4.2 AUTHENTICATE messages replayed against a
// pinned challenge, NTLMv1 only when allowed, login name mapping, negotiation, malformed-input
// table, fuzzing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { SaslContext, SaslStep } from '../mechanism.js';
import { FakeCredentialPort, type FakeUser } from '../testing/fake-port.js';
import { challengeFlags, createNtlmMechanism, msn, netbiosName, ntlm, ntlmLogin } from './ntlm.js';
import { ntHashOfText as ntHash } from '../../passwords/index.js';
import { lmV2Response, ntProofStr, ntlmV1EssResponse, ntlmV1Response, ntlmV2Temp, ntowfV2 } from './ntlm/crypto.js';
import { NTLM_FLAGS as F, NTLM_SIGNATURE, buildAuthenticate, type AuthenticateParams } from './ntlm/messages.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const SERVER_CHALLENGE = hex('0123456789abcdef');
const CLIENT_CHALLENGE = hex('aaaaaaaaaaaaaaaa');

function ctx(port: FakeCredentialPort, allowNtlmV1 = false, serverName = 'mail.example.com'): SaslContext {
  return { serverName, service: 'smtp', secure: false, channelBindings: {}, plusAdvertised: false, options: { allowNtlmV1 }, port };
}

const users = (): Record<string, FakeUser> => ({ user: { ntHash: ntHash('Password') }, oneway: {} });

/** NEGOTIATE_MESSAGE: 16 bytes (signature, type, flags) or the 32-byte form with empty fields. */
function type1(flags: number, long = true): Buffer {
  const b = Buffer.alloc(long ? 32 : 16);
  NTLM_SIGNATURE.copy(b);
  b.writeUInt32LE(1, 8);
  b.writeUInt32LE(flags >>> 0, 12);
  return b;
}

function failureReason(s: SaslStep): string {
  assert.equal(s.type, 'failure', JSON.stringify(s));
  if (s.type !== 'failure') return '';
  return s.failure.status === 'malformed' ? s.failure.reason : s.failure.status;
}

/** Runs Type 1 then Type 3 with the server challenge pinned to MS-NLMP's 0123456789abcdef. */
async function exchange(t1Flags: number, t3: Buffer, opts: { allowNtlmV1?: boolean; port?: FakeCredentialPort; name?: 'NTLM' | 'MSN' } = {}) {
  const port = opts.port ?? new FakeCredentialPort(users());
  const mech = createNtlmMechanism(opts.name ?? 'NTLM', { serverChallenge: () => SERVER_CHALLENGE });
  const ex = mech.start(ctx(port, opts.allowNtlmV1 ?? false));
  const empty = await ex.step(null);
  assert.deepEqual(empty, { type: 'challenge', data: Buffer.alloc(0) });
  const t2 = await ex.step(type1(t1Flags));
  assert.equal(t2.type, 'challenge');
  const step = await ex.step(t3);
  return { step, port, t2: t2.type === 'challenge' ? t2.data : Buffer.alloc(0) };
}

// MS-NLMP 4.2.2.3: the NTLMv1 AUTHENTICATE_MESSAGE (User / Domain / COMPUTER, password "Password").
const MS_NLMP_V1_AUTHENTICATE = hex(`
  4e544c4d53535000 03000000 18001800 6c000000 18001800 84000000 0c000c00 48000000
  08000800 54000000 10001000 5c000000 10001000 9c000000 358280e2 0501280a0000000f
  44006f006d00610069006e00 5500730065007200 43004f004d0050005500540045005200
  98def7b87f88aa5dafe2df779688a172def11c7d5ccdef13
  67c43011f30298a2ad35ece64f16331c44bdbed927841f94
  518822b1b3f350c8958682ecbb3e3cb7`);

// MS-NLMP 4.2.4.3: the NTLMv2 AUTHENTICATE_MESSAGE.
const MS_NLMP_V2_AUTHENTICATE = hex(`
  4e544c4d535350000300000018001800 6c00000054005400840000000c000c00
  48000000080008005400000010001000 5c00000010001000d8000000358288e2
  0501280a0000000f44006f006d006100 69006e00550073006500720043004f00
  4d005000550054004500520086c35097 ac9cec102554764a57cccc19aaaaaaaa
  aaaaaaaa68cd0ab851e51c96aabc927b ebef6a1c010100000000000000000000
  00000000aaaaaaaaaaaaaaaa00000000 02000c0044006f006d00610069006e00
  01000c00530065007200760065007200 0000000000000000c5dad2544fc97990
  94ce1ce90bc9d03e`);

const UNICODE_T1 = F.UNICODE | F.NTLM | F.REQUEST_TARGET;

void test('A3 NTLM: MS-NLMP 4.2.4.3 NTLMv2 AUTHENTICATE message is accepted against challenge 0123456789abcdef', async () => {
  const { step, port } = await exchange(UNICODE_T1 | F.EXTENDED_SESSIONSECURITY, MS_NLMP_V2_AUTHENTICATE);
  assert.equal(step.type, 'success', JSON.stringify(step));
  if (step.type === 'success') assert.equal(step.authcid, 'User');
  assert.deepEqual(port.calls.map((c) => [c.login, c.method, c.clearText]), [['User', 'NTLM', false]]);
});

void test('A3 NTLM: MS-NLMP 4.2.2.3 NTLMv1 AUTHENTICATE message: accepted only when allowNtlmV1 is on', async () => {
  const on = await exchange(UNICODE_T1, MS_NLMP_V1_AUTHENTICATE, { allowNtlmV1: true });
  assert.equal(on.step.type, 'success', JSON.stringify(on.step));
  const off = await exchange(UNICODE_T1, MS_NLMP_V1_AUTHENTICATE, { allowNtlmV1: false });
  assert.match(failureReason(off.step), /NTLMv1 is not allowed/);
  assert.equal(off.port.calls.length, 0);
});

void test('A3 NTLM: NTLMv1 with extended session security (MS-NLMP 4.2.3 responses)', async () => {
  const t3 = buildAuthenticate({
    flags: F.UNICODE | F.NTLM | F.EXTENDED_SESSIONSECURITY, user: 'User', domain: 'Domain', workstation: 'COMPUTER',
    lm: Buffer.concat([CLIENT_CHALLENGE, Buffer.alloc(16)]), nt: hex('7537f803ae367128ca458204bde7caf81e97ed2683267232'),
  });
  const ok = await exchange(UNICODE_T1 | F.EXTENDED_SESSIONSECURITY, t3, { allowNtlmV1: true });
  assert.equal(ok.step.type, 'success', JSON.stringify(ok.step));
  // The same response without ESS negotiated is a different computation and must fail.
  const noEss = await exchange(UNICODE_T1, t3, { allowNtlmV1: true });
  assert.equal(failureReason(noEss.step), 'bad-credentials');
  const off = await exchange(UNICODE_T1 | F.EXTENDED_SESSIONSECURITY, t3, { allowNtlmV1: false });
  assert.match(failureReason(off.step), /NTLMv1 is not allowed/);
});

/** A client computing NTLMv2 against our real (random) challenge, reading it from our Type 2. */
function v2Client(t2: Buffer, p: { user: string; domain: string; password: string; flags?: number }): Buffer {
  const challenge = t2.subarray(24, 32);
  const tiLen = t2.readUInt16LE(40);
  const tiOff = t2.readUInt32LE(44);
  const targetInfo = t2.subarray(tiOff, tiOff + tiLen);
  const key = ntowfV2(ntHash(p.password), p.user, p.domain);
  const cc = Buffer.from('0102030405060708', 'hex');
  const temp = ntlmV2Temp(Buffer.from('0090d336b734c301', 'hex'), cc, targetInfo);
  return buildAuthenticate({
    flags: p.flags ?? F.UNICODE | F.NTLM, user: p.user, domain: p.domain, workstation: 'WS',
    lm: lmV2Response(key, challenge, cc), nt: Buffer.concat([ntProofStr(key, challenge, temp), temp]),
  });
}

async function liveV2(p: Parameters<typeof v2Client>[1], t1Flags = UNICODE_T1, port = new FakeCredentialPort(users()), name: 'NTLM' | 'MSN' = 'NTLM') {
  const ex = (name === 'NTLM' ? ntlm : msn).start(ctx(port));
  const t2 = await ex.step(type1(t1Flags));
  assert.equal(t2.type, 'challenge');
  const data = t2.type === 'challenge' ? t2.data : Buffer.alloc(0);
  return { step: await ex.step(v2Client(data, p)), port, t2: data };
}

void test('A3 NTLM and MSN: NTLMv2 against a random challenge; wrong password fails with one port call', async () => {
  for (const name of ['NTLM', 'MSN'] as const) {
    const good = await liveV2({ user: 'user', domain: 'WORKGROUP', password: 'Password' }, UNICODE_T1, undefined, name);
    assert.equal(good.step.type, 'success', JSON.stringify(good.step));
    assert.equal(good.port.calls[0]?.method, name);
    const bad = await liveV2({ user: 'user', domain: 'WORKGROUP', password: 'password' }, UNICODE_T1, undefined, name);
    assert.equal(failureReason(bad.step), 'bad-credentials');
    assert.equal(bad.port.calls.length, 1);
  }
  assert.deepEqual([ntlm.name, ntlm.advertiseGroup, ntlm.needs, ntlm.clearText, msn.name, msn.advertiseGroup], ['NTLM', 'ntlm', 'lookup-credentials', false, 'MSN', 'msn']);
});

void test('A3 NTLM: NTLMv1 and NTLMv1-ESS against a random challenge, as libntlm and curl answer', async () => {
  for (const ess of [false, true]) {
    for (const allowNtlmV1 of [true, false]) {
      const port = new FakeCredentialPort(users());
      const ex = ntlm.start(ctx(port, allowNtlmV1));
      const t2 = await ex.step(type1(UNICODE_T1 | (ess ? F.EXTENDED_SESSIONSECURITY : 0)));
      assert.equal(t2.type, 'challenge');
      const challenge = t2.type === 'challenge' ? t2.data.subarray(24, 32) : Buffer.alloc(8);
      const cc = Buffer.from('1122334455667788', 'hex');
      const nt = ess ? ntlmV1EssResponse(ntHash('Password'), challenge, cc) : ntlmV1Response(ntHash('Password'), challenge);
      const lm = ess ? Buffer.concat([cc, Buffer.alloc(16)]) : Buffer.alloc(24);
      const step = await ex.step(buildAuthenticate({ flags: F.UNICODE | F.NTLM, user: 'user', domain: 'MAIL', workstation: '', lm, nt }));
      if (allowNtlmV1) assert.equal(step.type, 'success', `ess=${ess}: ${JSON.stringify(step)}`);
      else assert.match(failureReason(step), /NTLMv1 is not allowed/);
    }
  }
});

void test('A3 NTLM: the challenge is random per exchange', async () => {
  const a = await liveV2({ user: 'user', domain: 'D', password: 'Password' });
  const b = await liveV2({ user: 'user', domain: 'D', password: 'Password' });
  assert.notDeepEqual(a.t2.subarray(24, 32), b.t2.subarray(24, 32));
});

void test('A3 NTLM: OEM (non-Unicode) clients get an OEM Type 2 and may send OEM names', async () => {
  const { step, t2 } = await liveV2({ user: 'user', domain: 'WORKGROUP', password: 'Password', flags: F.OEM | F.NTLM }, F.OEM | F.NTLM | F.REQUEST_TARGET);
  const flags = t2.readUInt32LE(20);
  assert.equal(flags & F.UNICODE, 0);
  assert.notEqual(flags & F.OEM, 0);
  assert.equal(t2.subarray(48, 48 + t2.readUInt16LE(12)).toString('latin1'), 'MAIL');
  assert.equal(step.type, 'success', JSON.stringify(step));
});

void test('A3 NTLM: Type 2 layout, flags and TargetInfo', async () => {
  const { t2 } = await liveV2({ user: 'user', domain: 'D', password: 'Password' }, UNICODE_T1 | F.EXTENDED_SESSIONSECURITY | F.SIGN | F.SEAL | F.KEY_EXCH | F.VERSION | F.NEGOTIATE_128);
  assert.deepEqual(t2.subarray(0, 8), NTLM_SIGNATURE);
  assert.equal(t2.readUInt32LE(8), 2);
  const flags = t2.readUInt32LE(20);
  for (const f of [F.UNICODE, F.NTLM, F.TARGET_INFO, F.REQUEST_TARGET, F.TARGET_TYPE_SERVER, F.EXTENDED_SESSIONSECURITY, F.NEGOTIATE_128]) assert.notEqual(flags & f, 0, f.toString(16));
  for (const f of [F.SIGN, F.SEAL, F.KEY_EXCH, F.VERSION, F.OEM]) assert.equal(flags & f, 0, f.toString(16));
  assert.equal(t2.subarray(t2.readUInt32LE(16), t2.readUInt32LE(16) + t2.readUInt16LE(12)).toString('utf16le'), 'MAIL');
  const ti = t2.subarray(t2.readUInt32LE(44), t2.readUInt32LE(44) + t2.readUInt16LE(40));
  const pairs: Array<[number, string]> = [];
  for (let at = 0; at + 4 <= ti.length;) {
    const id = ti.readUInt16LE(at);
    const len = ti.readUInt16LE(at + 2);
    pairs.push([id, ti.subarray(at + 4, at + 4 + len).toString('utf16le')]);
    at += 4 + len;
  }
  assert.deepEqual(pairs, [[2, 'MAIL'], [1, 'MAIL'], [4, 'example.com'], [3, 'mail.example.com'], [0, '']]);
  assert.equal(challengeFlags(0) & F.OEM, F.OEM);
  assert.equal(netbiosName('averyveryverylonghostname.example.com'), 'AVERYVERYVERYLO');
  assert.equal(netbiosName('192.0.2.1'), 'MAILWARD');
  assert.equal(netbiosName(''), 'MAILWARD');
});

void test('A3 NTLM: login name mapping (user, user@domain, DOMAIN\\user, DNS-like domain field)', async () => {
  assert.equal(ntlmLogin('alice', '', 'MAIL'), 'alice');
  assert.equal(ntlmLogin('alice', 'WORKGROUP', 'MAIL'), 'alice');
  assert.equal(ntlmLogin('alice', 'MAIL', 'MAIL'), 'alice');
  assert.equal(ntlmLogin('alice', 'example.com', 'MAIL'), 'alice@example.com');
  assert.equal(ntlmLogin('alice@example.org', 'example.com', 'MAIL'), 'alice@example.org');
  assert.equal(ntlmLogin('CORP\\alice', '', 'MAIL'), 'alice');
  assert.equal(ntlmLogin('corp.example\\alice', '', 'MAIL'), 'alice@corp.example');
  assert.equal(ntlmLogin('alice', 'not a domain.', 'MAIL'), 'alice');
  // The port receives the mapped name; NTOWFv2 still uses the fields as sent.
  const { step, port } = await liveV2({ user: 'USER', domain: 'example.com', password: 'Password' });
  assert.equal(step.type, 'success', JSON.stringify(step));
  assert.equal(port.calls[0]?.login, 'USER@example.com');
});

void test('A9 NTLM: an account without an NT hash (one-way password) and an unknown user fail cleanly', async () => {
  const oneWay = await liveV2({ user: 'oneway', domain: 'D', password: 'Password' });
  assert.equal(failureReason(oneWay.step), 'bad-credentials');
  const unknown = await liveV2({ user: 'nobody', domain: 'D', password: 'Password' });
  assert.equal(failureReason(unknown.step), 'unknown');
});

void test('A3 NTLM: step order', async () => {
  const port = new FakeCredentialPort(users());
  const ex = ntlm.start(ctx(port));
  await ex.step(type1(UNICODE_T1));
  assert.match(failureReason(await ex.step(null)), /Type 3 message missing/);
  assert.match(failureReason(await ex.step(MS_NLMP_V2_AUTHENTICATE)), /already finished/);
  // A Type 3 where Type 1 is expected, a Type 1 where Type 3 is expected.
  assert.match(failureReason(await ntlm.start(ctx(port)).step(MS_NLMP_V2_AUTHENTICATE)), /expected a type 1 message/);
  const ex2 = ntlm.start(ctx(port));
  await ex2.step(type1(UNICODE_T1));
  assert.match(failureReason(await ex2.step(type1(UNICODE_T1))), /expected a type 3 message|shorter/);
  assert.equal(port.calls.length, 0);
});

const V2 = MS_NLMP_V2_AUTHENTICATE;
function patched(base: Buffer, edits: Array<[number, 'u16' | 'u32' | 'u8', number]>, truncate?: number): Buffer {
  const b = Buffer.from(base.subarray(0, truncate ?? base.length));
  for (const [at, kind, v] of edits) {
    if (kind === 'u16') b.writeUInt16LE(v, at);
    else if (kind === 'u32') b.writeUInt32LE(v >>> 0, at);
    else b[at] = v;
  }
  return b;
}
const t3With = (p: Partial<AuthenticateParams>): Buffer => buildAuthenticate({
  flags: F.UNICODE | F.NTLM, user: 'User', domain: 'Domain', workstation: 'W', lm: Buffer.alloc(0), nt: Buffer.alloc(0), ...p,
});

// Malformed AUTHENTICATE messages, each with why it exists. The NTLMv2 message of MS-NLMP 4.2.4.3
// is the base: field triples at 12 (LM), 20 (NT), 28 (domain), 36 (user), 44 (workstation), 52 (key).
const MALFORMED_TYPE3: Array<[string, Buffer, RegExp]> = [
  ['empty message', Buffer.alloc(0), /shorter/],
  ['truncated inside the fixed header', V2.subarray(0, 40), /shorter/],
  ['wrong signature', patched(V2, [[0, 'u8', 0x4f]]), /signature/],
  ['message type 2 (a reflected CHALLENGE)', patched(V2, [[8, 'u32', 2]]), /expected a type 3/],
  ['NT response runs past the end (truncated payload)', patched(V2, [], V2.length - 20), /NtChallengeResponse runs past the end/],
  ['NT offset beyond the buffer', patched(V2, [[24, 'u32', 0xfffffff0]]), /NtChallengeResponse runs past the end/],
  ['user offset pointing into the fixed header (aliasing)', patched(V2, [[40, 'u32', 8]]), /UserName offset points into the fixed header/],
  ['user length over NTLM_MAX_NAME_BYTES', patched(V2, [[36, 'u16', 600]]), /UserName longer than its limit/],
  ['domain length over NTLM_MAX_NAME_BYTES', patched(V2, [[28, 'u16', 0xffff]]), /DomainName longer than its limit/],
  ['workstation runs past the end', patched(V2, [[48, 'u32', V2.length - 2]]), /Workstation runs past the end/],
  ['LM response longer than 24 bytes', patched(V2, [[12, 'u16', 25]]), /LmChallengeResponse longer than its limit/],
  ['NT response over NTLM_MAX_NT_RESPONSE', patched(V2, [[20, 'u16', 4000]]), /NtChallengeResponse longer than its limit/],
  ['session key longer than 16 bytes', patched(V2, [[52, 'u16', 17]]), /EncryptedRandomSessionKey longer/],
  ['odd-length UTF-16 user name', patched(V2, [[36, 'u16', 7]]), /odd length/],
  ['unpaired surrogate in the user name', t3With({ user: '\ud800x', nt: Buffer.alloc(24) }), /not valid UTF-16/],
  ['control character in the user name (log forging)', t3With({ user: 'us\ner', nt: Buffer.alloc(24) }), /control characters/],
  ['NUL in an OEM domain name', t3With({ flags: F.OEM | F.NTLM, domain: 'a\0b', nt: Buffer.alloc(24) }), /control characters/],
  ['empty user name (anonymous)', t3With({ user: '', nt: Buffer.alloc(24) }), /anonymous/],
  ['anonymous flag', t3With({ flags: F.UNICODE | F.NTLM | F.ANONYMOUS, nt: Buffer.alloc(24) }), /anonymous/],
  ['LM-only response (no NT response)', t3With({ lm: Buffer.alloc(24) }), /no NT response/],
  ['NT response of 16 bytes (neither v1 nor v2)', t3With({ nt: Buffer.alloc(16) }), /impossible length/],
  ['NTLMv2 response shorter than the blob header', t3With({ nt: Buffer.alloc(40, 1) }), /too short/],
  ['NTLMv2 blob with an unknown version', patched(V2, [[132 + 16, 'u8', 2]]), /unknown version/],
  ['user name "\\" alone maps to nothing', t3With({ user: 'CORP\\', nt: Buffer.concat([Buffer.alloc(16), Buffer.from([1, 1]), Buffer.alloc(34)]) }), /no user name/],
  ['longer than NTLM_MAX_MESSAGE', Buffer.concat([V2, Buffer.alloc(9000)]), /longer than NTLM_MAX_MESSAGE/],
];

void test('A3 NTLM malformed Type 3 table', async () => {
  for (const [why, t3, expected] of MALFORMED_TYPE3) {
    const { step, port } = await exchange(UNICODE_T1, t3, { allowNtlmV1: true });
    assert.equal(step.type, 'failure', `${why}: ${JSON.stringify(step)}`);
    assert.match(failureReason(step), expected, why);
    assert.equal(port.calls.length, 0, why);
  }
});

const MALFORMED_TYPE1: Array<[string, Buffer, RegExp]> = [
  ['empty (client sent "=")', Buffer.alloc(0), /shorter/],
  ['only the signature', NTLM_SIGNATURE, /shorter/],
  ['wrong signature', Buffer.concat([Buffer.from('NTLMSSP!'), type1(UNICODE_T1).subarray(8)]), /signature/],
  ['type 3 instead of type 1', patched(type1(UNICODE_T1), [[8, 'u32', 3]]), /expected a type 1/],
  ['domain field runs past the end', patched(type1(UNICODE_T1), [[16, 'u16', 10], [20, 'u32', 32]]), /domain runs past the end/],
  ['workstation field aliasing the header', patched(type1(UNICODE_T1), [[24, 'u16', 4], [28, 'u32', 0]]), /workstation offset points into the fixed header/],
  ['domain longer than NTLM_MAX_NAME_BYTES', patched(type1(UNICODE_T1), [[16, 'u16', 1000], [20, 'u32', 32]]), /domain longer than its limit/],
  ['a whole base64 line of junk', Buffer.alloc(9000, 0x41), /longer than NTLM_MAX_MESSAGE/],
];

void test('A3 NTLM malformed Type 1 table (and the short 16-byte form is accepted)', async () => {
  for (const [why, t1, expected] of MALFORMED_TYPE1) {
    const step = await ntlm.start(ctx(new FakeCredentialPort({}))).step(t1);
    assert.match(failureReason(step), expected, why);
  }
  const short = await ntlm.start(ctx(new FakeCredentialPort({}))).step(type1(UNICODE_T1, false));
  assert.equal(short.type, 'challenge');
});

void test('A3 NTLM fuzz: arbitrary bytes as Type 1 and Type 3 never throw or succeed', async () => {
  const port = new FakeCredentialPort(users());
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 400 }), fc.boolean(), async (a, b, allowV1) => {
      const ex = ntlm.start(ctx(port, allowV1));
      const s1 = await ex.step(Buffer.from(a));
      assert.ok(s1.type === 'challenge' || s1.type === 'failure');
      const ex2 = ntlm.start(ctx(port, allowV1));
      await ex2.step(type1(UNICODE_T1));
      assert.notEqual((await ex2.step(Buffer.from(b))).type, 'success');
    }),
    { numRuns: 400 },
  );
});

void test('A3 NTLM fuzz: mutated real AUTHENTICATE messages only fail cleanly or verify', async () => {
  const port = new FakeCredentialPort(users());
  const base = [MS_NLMP_V1_AUTHENTICATE, MS_NLMP_V2_AUTHENTICATE];
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(0, 1), fc.array(fc.tuple(fc.nat({ max: 220 }), fc.nat({ max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat({ max: 230 }),
      async (which, edits, cut) => {
        const msg = Buffer.from((base[which] ?? V2).subarray(0, Math.max(cut, 64)));
        for (const [at, v] of edits) if (at < msg.length) msg[at] = v;
        const { step } = await exchange(UNICODE_T1, msg, { allowNtlmV1: true, port });
        assert.ok(step.type === 'failure' || step.type === 'success');
        // An edit elsewhere (session key, workstation, the case of the user name) may still
        // verify; a message whose NT response bytes changed never does.
        const [from, to] = which === 0 ? [0x84, 0x9c] : [0x84, 0xd8];
        const ntIntact = msg.length >= to && msg.subarray(from, to).equals((base[which] ?? V2).subarray(from, to));
        if (step.type === 'success') assert.ok(ntIntact, `verified with a changed NT response: ${JSON.stringify(edits)}`);
      },
    ),
    { numRuns: 400 },
  );
});
