// A2 A9: one SASLprep for SCRAM. The keys the password module derives from a clear password (what
// the engine hands the SCRAM mechanism for an account stored clear), the keys our SCRAM client
// computes, and those of GNU gsasl (Debian package gsasl: --mkpasswd, --client, --server) must
// agree for passwords that SASLprep changes, and all must refuse the same passwords.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { derive, saslPrep, type DerivedCredential } from '../../passwords/index.js';
import { toolOutput } from '../../passwords/testing/tools.js';
import { SaslSession } from '../driver.js';
import type { SaslContext, ScramAlgorithm } from '../mechanism.js';
import { FakeCredentialPort } from '../testing/fake-port.js';
import { ScramClient } from '../client/scram.js';
import { SaslClientError } from '../client/index.js';
import { createScramMechanism } from './scram.js';
import { requireGsasl, runGsaslClient, runGsaslServer } from '../test/gsasl-harness.js';

/** U+00A0 maps to SPACE (C.1.2), U+FB01 LATIN SMALL LIGATURE FI becomes "fi" under NFKC, U+00AD
 *  SOFT HYPHEN maps to nothing (B.1), U+200B ZERO WIDTH SPACE is in both B.1 and C.1.2 and
 *  becomes a SPACE as gsasl (libidn) makes it: a hand-written table once removed it instead. */
const PASSWORD = 'a\u00a0b\ufb01c\u00add\u200be';
const PREPARED = 'a bficd e';
const SALT = Buffer.from('mailward-saslprep-salt');
const ITERATIONS = 4096;

type StoredScram = Extract<DerivedCredential, { kind: 'scram' }>;

async function derivedKeys(alg: ScramAlgorithm, password: string): Promise<StoredScram> {
  const r = await derive(password, alg === 'SHA-1' ? 'scram-sha-1' : 'scram-sha-256', { scramSalt: SALT, scramIterations: ITERATIONS });
  assert.ok(r.available && r.value.kind === 'scram', `derive gave ${JSON.stringify(r)}`);
  return r.value;
}

function portWith(alg: ScramAlgorithm, k: StoredScram): FakeCredentialPort {
  return new FakeCredentialPort({ alice: { scram: { [alg]: { salt: k.salt, iterations: k.iterations, storedKey: k.storedKey, serverKey: k.serverKey } } } });
}

function ctx(port: FakeCredentialPort): SaslContext {
  return { serverName: 'mail.example.com', service: 'imap', secure: true, channelBindings: {}, plusAdvertised: false, options: { allowNtlmV1: false }, port };
}

for (const alg of ['SHA-1', 'SHA-256'] as const) {
  const mechanism = `SCRAM-${alg}`;

  void test(`A2 A9 ${mechanism}: a password SASLprep changes gives the same keys from derive(), our client, gsasl --mkpasswd, gsasl --client and --server`, async () => {
    requireGsasl();
    assert.equal(saslPrep(PASSWORD, 'stored'), PREPARED);
    const k = await derivedKeys(alg, PASSWORD);
    // The prepared string is what both sides hash: the raw and the prepared password give one key set.
    assert.deepEqual(await derivedKeys(alg, PREPARED), k);

    const mine = `{${mechanism}}${k.iterations},${k.salt.toString('base64')},${k.storedKey.toString('base64')},${k.serverKey.toString('base64')}`;
    const theirs = await toolOutput('gsasl', ['--mkpasswd', '--mechanism', mechanism, '--password', PASSWORD, '--salt', SALT.toString('base64'), '--iteration-count', String(ITERATIONS)]);
    assert.equal(mine, theirs);

    // Our client, given the raw password, against our server holding the derived keys: the proof
    // checks against StoredKey and the client verifies v= made from ServerKey.
    const port = portWith(alg, k);
    const ex = createScramMechanism(alg, false).start(ctx(port));
    const client = new ScramClient(alg, { authcid: 'alice', password: PASSWORD });
    const s1 = await ex.step(client.start().initial ?? Buffer.alloc(0));
    assert.equal(s1.type, 'challenge', JSON.stringify(s1));
    const s2 = s1.type === 'challenge' ? await ex.step(await client.next(s1.data)) : s1;
    assert.equal(s2.type, 'success', JSON.stringify(s2));
    assert.equal(client.finish(s2.type === 'success' ? s2.serverData ?? null : null), true);

    // gsasl --client, preparing the raw password itself, against our server holding the derived keys.
    const session = new SaslSession(ctx(portWith(alg, k)), { offered: [mechanism], successData: 'as-challenge' });
    const g = await runGsaslClient(session, { mechanism, authcid: 'alice', password: PASSWORD, noCb: true });
    assert.equal(g.reply.reply, 'success', JSON.stringify(g));
    assert.equal(g.exitCode, 0, g.stderr);

    // Our client against gsasl --server, both given the raw password.
    const s = await runGsaslServer(new ScramClient(alg, { authcid: 'alice', password: PASSWORD }), { mechanism, password: PASSWORD, noCb: true });
    assert.equal(s.accepted, true, JSON.stringify(s));
    assert.equal(s.serverVerified, true);
  });
}

void test('A2 A9 SCRAM: passwords SASLprep refuses are refused alike by derive(), our client and gsasl --mkpasswd', async () => {
  requireGsasl();
  const refused: [string, string][] = [
    ['a\u0001b', 'a control character (C.2.1)'],
    ['x\u0221', 'a code point unassigned in Unicode 3.2 (A.1), refused for stored strings'],
    ['\u0627\u0031', 'RandALCat first but not last (RFC 3454 section 6, bidi rule)'],
  ];
  for (const [pw, why] of refused) {
    assert.equal(saslPrep(pw, 'stored'), null, why);
    assert.deepEqual(await derive(pw, 'scram-sha-256', { scramSalt: SALT, scramIterations: ITERATIONS }), { available: false, reason: 'not-derivable' }, why);
    assert.throws(() => new ScramClient('SHA-256', { authcid: 'alice', password: pw }), SaslClientError, why);
    await assert.rejects(
      toolOutput('gsasl', ['--mkpasswd', '--mechanism', 'SCRAM-SHA-256', '--password', pw, '--salt', SALT.toString('base64'), '--iteration-count', String(ITERATIONS)]),
      /exited/, `gsasl accepted ${why}`);
  }
});
