// A3: NTLM against an independent client, GNU gsasl 2.2 with libntlm (Debian package gsasl), raw
// mode. libntlm answers our Type 2 (TargetInfo included) with an NTLMv1 response, as INTEROP.md
// says of the clients here: accepted only when allowNtlmV1 is on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SaslSession } from '../driver.js';
import type { SaslContext } from '../mechanism.js';
import { FakeCredentialPort } from '../testing/fake-port.js';
import { ntHashOfText as ntHash } from '../../passwords/index.js';
import { requireGsasl, runGsaslClient, type GsaslOptions } from '../test/gsasl-harness.js';

const PASSWORD = 'Secr3t-pass';

async function run(allowNtlmV1: boolean, gsasl: Partial<GsaslOptions> = {}) {
  requireGsasl();
  const port = new FakeCredentialPort({ alice: { ntHash: ntHash(PASSWORD) } });
  const ctx: SaslContext = {
    serverName: 'mail.example.com', service: 'smtp', secure: false, channelBindings: {}, plusAdvertised: false,
    options: { allowNtlmV1 }, port,
  };
  const session = new SaslSession(ctx, { offered: ['NTLM'], successData: 'as-challenge' });
  const r = await runGsaslClient(session, { mechanism: 'NTLM', authcid: 'alice', password: PASSWORD, realm: '', ...gsasl });
  return { ...r, port };
}

void test('A3 NTLM: gsasl --client (libntlm, NTLMv1) against our server with allowNtlmV1 on', async () => {
  const r = await run(true);
  assert.equal(r.reply.reply, 'success', JSON.stringify(r));
  assert.equal(r.exitCode, 0, r.stderr);
  assert.deepEqual(r.port.calls.map((c) => [c.login, c.method]), [['alice', 'NTLM']]);
});

void test('A3 NTLM: gsasl --client without an initial response (IMAP-style empty first challenge)', async () => {
  const r = await run(true, { initialResponse: 'never' });
  assert.equal(r.reply.reply, 'success', JSON.stringify(r));
  assert.equal(r.exitCode, 0, r.stderr);
});

void test('A3 NTLM: gsasl --client with a wrong password is refused', async () => {
  const r = await run(true, { password: 'secr3t-pass' });
  assert.equal(r.reply.reply, 'failure', JSON.stringify(r));
  if (r.reply.reply === 'failure') assert.equal(r.reply.failure.status, 'bad-credentials');
  assert.equal(r.port.calls.length, 1);
});

void test('A3 NTLM: gsasl --client (NTLMv1) is refused when allowNtlmV1 is off, before any password check', async () => {
  const r = await run(false);
  assert.equal(r.reply.reply, 'failure', JSON.stringify(r));
  if (r.reply.reply === 'failure') assert.match(r.reply.failure.status === 'malformed' ? r.reply.failure.reason : '', /NTLMv1 is not allowed/);
  assert.equal(r.port.calls.length, 0);
});

void test('A3 NTLM: gsasl --client with user@domain: libntlm splits it, the port gets user@domain', async () => {
  const r = await run(true, { authcid: 'alice@example.org' });
  assert.equal(r.reply.reply, 'success', JSON.stringify(r));
  assert.equal(r.port.calls[0]?.login, 'alice@example.org');
});
