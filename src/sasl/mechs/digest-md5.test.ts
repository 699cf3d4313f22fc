import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  buildDigestChallenge, createDigestMd5, digestMd5, digestMd5Values, DIGEST_MAX_DIRECTIVES, DIGEST_MAX_RESPONSE,
  DIGEST_MAX_VALUE, parseDirectives, passwordOctets,
} from './digest-md5.js';
import { assertFailure, fuzzMechanism, hostileInput, last, makeCtx, runSteps } from '../test/mech-helpers.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

/*
 * RFC 2831 §4 examples (chris / secret at elwood.innosoft.com). The values below were recomputed
 * here from the §2.1.2.1 / §2.1.3 formulas and agree with the RFC's own IMAP and ACAP examples.
 * The erratum commonly cited about these digests is RFC 3920 erratum 1406: XMPP copied
 * d388dad9.../ea40f603... next to different inputs, so they match no password there; in RFC 2831
 * itself they are right.
 */
const IMAP = {
  nonce: 'OA6MG9tEQGm2hh',
  cnonce: 'OA6MHXh6VqTrRk',
  response: 'd388dad90d4bbd760a152321f2143af7',
  rspauth: 'ea40f60335c427b5527b84dbabcdfffd',
};
const ACAP = {
  nonce: 'OA9BSXrbuRhWay',
  cnonce: 'OA9BSuZWMSpW8m',
  response: '6084c6db3fede7352c551284490fd0fc',
  rspauth: '2f0b3d7c3c2e486600ef710726aa2eae',
};
const ELWOOD = { serverName: 'elwood.innosoft.com', service: 'imap' };
const imapMech = createDigestMd5(() => IMAP.nonce);

function rfcResponse(extra: Partial<Record<string, string>> = {}, drop: string[] = []): string {
  const d: Record<string, string> = {
    charset: 'utf-8',
    username: '"chris"',
    realm: '"elwood.innosoft.com"',
    nonce: `"${IMAP.nonce}"`,
    nc: '00000001',
    cnonce: `"${IMAP.cnonce}"`,
    'digest-uri': '"imap/elwood.innosoft.com"',
    response: IMAP.response,
    qop: 'auth',
  };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) d[k] = v;
  return Object.entries(d).filter(([k]) => !drop.includes(k)).map(([k, v]) => `${k}=${v}`).join(',');
}

void test('A2 DIGEST-MD5: RFC 2831 §4 known answers (IMAP and ACAP examples)', () => {
  const common = { username: b('chris'), realm: b('elwood.innosoft.com'), password: b('secret'), nc: '00000001', qop: 'auth' };
  assert.deepEqual(digestMd5Values({ ...common, nonce: IMAP.nonce, cnonce: IMAP.cnonce, digestUri: 'imap/elwood.innosoft.com' }), { response: IMAP.response, rspauth: IMAP.rspauth });
  assert.deepEqual(digestMd5Values({ ...common, nonce: ACAP.nonce, cnonce: ACAP.cnonce, digestUri: 'acap/elwood.innosoft.com' }), { response: ACAP.response, rspauth: ACAP.rspauth });
});

void test('A2 DIGEST-MD5: RFC 2831 IMAP exchange through the mechanism, rspauth as final data', async () => {
  const ctx = makeCtx({ ...ELWOOD });
  const steps = await runSteps(imapMech, ctx, [null, b(rfcResponse())]);
  const ch = steps[0];
  assert.equal(ch?.type, 'challenge');
  // curl cancels when charset/algorithm are quoted: they must be bare tokens.
  if (ch?.type === 'challenge') assert.equal(ch.data.toString(), 'realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",charset=utf-8,algorithm=md5-sess');
  const s = last(steps);
  assert.equal(s.type, 'success', JSON.stringify(s));
  if (s.type === 'success') {
    assert.equal(s.authcid, 'chris');
    assert.equal(s.serverData?.toString(), `rspauth=${IMAP.rspauth}`);
  }
  assert.deepEqual(ctx.port.calls.map((c) => [c.login, c.method, c.clearText]), [['chris', 'DIGEST-MD5', false]]);
});

void test('A2 DIGEST-MD5: the live challenge has a fresh random nonce and the server name as realm', async () => {
  const nonces = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const s = last(await runSteps(digestMd5, makeCtx(), [null]));
    assert.equal(s.type, 'challenge');
    if (s.type !== 'challenge') return;
    const p = parseDirectives(s.data.toString('latin1'));
    assert.ok(p.ok);
    if (!p.ok) return;
    assert.equal(p.directives.get('realm'), 'mail.example.com');
    assert.equal(p.directives.get('qop'), 'auth');
    assert.match(p.directives.get('nonce') ?? '', /^[A-Za-z0-9+/]{32}$/);
    nonces.add(p.directives.get('nonce') ?? '');
  }
  assert.equal(nonces.size, 20);
});

void test('A2 DIGEST-MD5: name@domain user names, authzid, no realm, no charset (ISO 8859-1)', async () => {
  const nonce = 'n0nce';
  const mech = createDigestMd5(() => nonce);
  const make = (o: { user: string; password: string; realm?: string; authzid?: string; charset: boolean }): string => {
    const cnonce = 'c1';
    const uri = 'imap/mail.example.com';
    const userOctets = o.charset ? b(o.user) : Buffer.from(o.user, 'latin1');
    const v = digestMd5Values({
      username: userOctets, realm: b(o.realm ?? ''), password: passwordOctets(b(o.password), o.charset), nonce, cnonce, nc: '00000001', qop: 'auth', digestUri: uri,
      ...(o.authzid !== undefined ? { authzid: b(o.authzid) } : {}),
    });
    const parts = [`username="${userOctets.toString('latin1')}"`, `nonce="${nonce}"`, `cnonce="${cnonce}"`, 'nc=00000001', 'qop=auth', `digest-uri="${uri}"`, `response=${v.response}`];
    if (o.realm !== undefined) parts.push(`realm="${o.realm}"`);
    if (o.authzid !== undefined) parts.push(`authzid="${o.authzid}"`);
    if (o.charset) parts.push('charset=utf-8');
    return parts.join(',');
  };
  const ok = async (text: Buffer | string): Promise<ReturnType<typeof last>> => last(await runSteps(mech, makeCtx(), [null, typeof text === 'string' ? b(text) : text]));
  let s = await ok(make({ user: 'bob@example.com', password: 'bobpass', realm: 'mail.example.com', charset: true }));
  assert.equal(s.type, 'success', JSON.stringify(s));
  if (s.type === 'success') assert.equal(s.authcid, 'bob@example.com');
  // RFC 2831: a missing realm is hashed as the empty string.
  assert.equal((await ok(make({ user: 'bob', password: 'bobpass', charset: true }))).type, 'success');
  s = await ok(make({ user: 'boss', password: 'bosspass', realm: 'mail.example.com', authzid: 'bob', charset: true }));
  assert.equal(s.type, 'success', JSON.stringify(s));
  if (s.type === 'success') assert.equal(s.authzid, 'bob');
  // bob may not act for boss: the port refuses, the mechanism does not decide.
  assertFailure(await ok(make({ user: 'bob', password: 'bobpass', realm: 'mail.example.com', authzid: 'boss', charset: true })), 'bad-credentials');
  // Without charset=utf-8 the client hashes ISO 8859-1 ("pässwörd" as latin1 octets).
  const latin = make({ user: 'unicode', password: 'pässwörd', realm: 'mail.example.com', charset: false });
  assert.equal((await ok(Buffer.from(latin, 'latin1'))).type, 'success');
  // ...and with charset=utf-8, UTF-8.
  assert.equal((await ok(make({ user: 'unicode', password: 'pässwörd', realm: 'mail.example.com', charset: true }))).type, 'success');
});

void test('A2 A9 DIGEST-MD5: wrong password → bad-credentials; one-way stored password fails cleanly', async () => {
  const wrong = rfcResponse({ response: '00000000000000000000000000000000' });
  assertFailure(last(await runSteps(imapMech, makeCtx({ ...ELWOOD }), [null, b(wrong)])), 'bad-credentials');
  const ctx = makeCtx({ ...ELWOOD });
  assertFailure(last(await runSteps(imapMech, ctx, [null, b(rfcResponse({ username: '"oneway"' }))])), 'bad-credentials');
  assert.equal(ctx.port.calls.length, 1);
});

void test('A2 DIGEST-MD5: accepted without the verify call (OS/external password) → no fake rspauth', async () => {
  const ctx = makeCtx({ ...ELWOOD });
  ctx.port.authenticate = async () => ({ status: 'ok', account: 'chris', domain: 'example.com', source: 'os' });
  assertFailure(last(await runSteps(imapMech, ctx, [null, b(rfcResponse())])), 'temporary-failure');
});

void test('A2 DIGEST-MD5: directive parser — quoted strings, escapes, LWS, empty elements', () => {
  const p = parseDirectives(' a = "x\\"y\\\\z" ,, B=tok ,c="",d="q,r" , ');
  assert.ok(p.ok, JSON.stringify(p));
  if (p.ok) assert.deepEqual([...p.directives], [['a', 'x"y\\z'], ['b', 'tok'], ['c', ''], ['d', 'q,r']]);
  const ch = parseDirectives(buildDigestChallenge('we"ird\\host', 'n'));
  assert.ok(ch.ok);
  if (ch.ok) assert.equal(ch.directives.get('realm'), 'we"ird\\host');
});

void test('A2 DIGEST-MD5: malformed-input table (each row says why)', async () => {
  const rows: [string, string | Buffer, string][] = [
    ['duplicate directive: two parsers could see different values', rfcResponse() + ',username="other"', 'duplicate directive username'],
    ['duplicate after case folding: names are case-insensitive', rfcResponse() + ',Response=' + IMAP.response, 'duplicate directive response'],
    ['unterminated quoted string at the end', rfcResponse() + ',authzid="abc', 'unterminated quoted string'],
    ['a stray quote swallows the next directive, leaving text after the string', rfcResponse({ username: '"chris' }), 'expected "," after username'],
    ['backslash at the very end', 'username="chris\\', 'unterminated escape'],
    ['text after a value without a comma', rfcResponse() + ' junk', 'expected "," after qop'],
    ['a bare word as a directive', rfcResponse() + ',junk', 'expected "=" after junk'],
    ['missing comma between directives', 'username="chris" nonce="x"', 'expected "," after username'],
    ['directive without a name', '=x', 'expected a directive name'],
    ['empty token value', 'nc=,' + rfcResponse({}, ['nc']), 'empty value for nc'],
    ['control character inside a quoted string', rfcResponse({ username: '"ch\x01ris"' }), 'control character in quoted string'],
    ['NUL anywhere', rfcResponse() + '\0', 'NUL in response'],
    ['value over the limit', rfcResponse({ cnonce: `"${'c'.repeat(DIGEST_MAX_VALUE + 1)}"` }), 'cnonce too long'],
    ['too many directives: parser probing', rfcResponse() + Array.from({ length: DIGEST_MAX_DIRECTIVES }, (_, i) => `,x${i}=1`).join(''), 'too many directives'],
    ['whole response over RFC 2831\'s 4096-octet cap', rfcResponse() + ',x="' + 'a'.repeat(DIGEST_MAX_RESPONSE) + '"', 'response too long'],
    ['missing username', rfcResponse({}, ['username']), 'missing username'],
    ['missing nonce', rfcResponse({}, ['nonce']), 'missing nonce'],
    ['missing cnonce', rfcResponse({}, ['cnonce']), 'missing cnonce'],
    ['missing nc', rfcResponse({}, ['nc']), 'missing nc'],
    ['missing digest-uri (RFC 2831: required)', rfcResponse({}, ['digest-uri']), 'missing digest-uri'],
    ['missing response', rfcResponse({}, ['response']), 'missing response'],
    ['another nonce: replay of a response to an old challenge', rfcResponse({ nonce: '"OA6MG9tEQGm2hX"' }), 'nonce mismatch'],
    ['nc other than 1: we do not support subsequent authentication', rfcResponse({ nc: '00000002' }), 'nonce count is not 00000001'],
    ['empty cnonce: the client must contribute entropy', rfcResponse({ cnonce: '""' }), 'empty cnonce'],
    ['qop=auth-int: a security layer we did not offer', rfcResponse({ qop: 'auth-int' }), 'qop not offered'],
    ['qop=auth-conf', rfcResponse({ qop: 'auth-conf' }), 'qop not offered'],
    ['charset other than utf-8', rfcResponse({ charset: 'iso-8859-1' }), 'unsupported charset'],
    ['realm we did not offer', rfcResponse({ realm: '"evil.example"' }), 'realm not offered'],
    ['digest-uri for another service: cross-protocol replay', rfcResponse({ 'digest-uri': '"smtp/elwood.innosoft.com"' }), 'digest-uri service mismatch'],
    ['digest-uri for another host: response captured elsewhere', rfcResponse({ 'digest-uri': '"imap/evil.example"' }), 'digest-uri host mismatch'],
    ['digest-uri with another serv-name', rfcResponse({ 'digest-uri': '"imap/elwood.innosoft.com/other"' }), 'digest-uri serv-name mismatch'],
    ['digest-uri without a host', rfcResponse({ 'digest-uri': '"imap"' }), 'malformed digest-uri'],
    ['digest-uri with too many parts', rfcResponse({ 'digest-uri': '"imap/a/b/c"' }), 'malformed digest-uri'],
    ['response not 32 hex digits', rfcResponse({ response: 'd388dad90d4bbd760a152321f2143af' }), 'response is not 32 hex digits'],
    ['empty username', rfcResponse({ username: '""' }), 'bad username'],
    ['username with CRLF: log and backend injection', rfcResponse({ username: '"chris\r\nx"' }), 'bad username'],
    ['username not UTF-8 although charset=utf-8', Buffer.concat([b('username="'), Buffer.from([0xff]), b('",' + rfcResponse({}, ['username']))]), 'bad username'],
    ['authzid with a control character', rfcResponse({ authzid: '"a\tb"' }), 'bad authzid'],
  ];
  for (const [why, text, reason] of rows) {
    const ctx = makeCtx({ ...ELWOOD });
    const s = last(await runSteps(imapMech, ctx, [null, typeof text === 'string' ? b(text) : text]));
    assert.equal(s.type, 'failure', why);
    if (s.type === 'failure') assert.deepEqual(s.failure, { status: 'malformed', reason }, why);
    assert.equal(ctx.port.calls.length, 0, why);
  }
  // Not malformed: an unknown auth-param is ignored (RFC 2831 §2.1.2 auth-param).
  assert.equal(last(await runSteps(imapMech, makeCtx({ ...ELWOOD }), [null, b(rfcResponse({ 'x-future': '"1"' }))])).type, 'success');
});

void test('A2 DIGEST-MD5: initial response and steps after completion fail', async () => {
  assertFailure(last(await runSteps(imapMech, makeCtx({ ...ELWOOD }), [b(rfcResponse())])), 'malformed', 'subsequent authentication not supported');
  const ctx = makeCtx({ ...ELWOOD });
  const ex = imapMech.start(ctx);
  await ex.step(null);
  assert.equal((await ex.step(b(rfcResponse()))).type, 'success');
  assertFailure(await ex.step(Buffer.alloc(0)), 'malformed', 'step after completion');
  assert.equal(ctx.port.calls.length, 1);
});

void test('A2 DIGEST-MD5: fuzz — hostile bytes at every step give clean steps', async () => {
  const alphabet = [
    fc.constantFrom('username', 'realm', 'nonce', 'cnonce', 'nc', 'qop', 'digest-uri', 'response', 'authzid', 'charset'),
    fc.constantFrom('=', ',', '"', '\\', ' ', '\t', '\r\n', '/', 'auth', 'utf-8', '00000001', 'imap/mail.example.com'),
    fc.string({ maxLength: 6 }),
  ];
  await fuzzMechanism(digestMd5, hostileInput(alphabet, 800));
  // Parser alone, with mutations of a valid response.
  fc.assert(fc.property(fc.string({ maxLength: 300 }), fc.nat(400), (ins, at) => {
    const base = rfcResponse();
    const text = base.slice(0, at) + ins + base.slice(at);
    const p = parseDirectives(text);
    assert.equal(typeof p.ok, 'boolean');
  }), { numRuns: 500 });
});
