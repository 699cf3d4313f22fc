import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SaslSession } from '../driver.js';
import type { SaslContext } from '../mechanism.js';
import { FakeCredentialPort } from '../testing/fake-port.js';
import { plainClient } from '../client/plain.js';
import { requireGsasl, runGsaslClient, runGsaslServer } from './gsasl-harness.js';

function ctx(port: FakeCredentialPort): SaslContext {
  return { serverName: 'mail.example.com', service: 'imap', secure: true, channelBindings: {}, plusAdvertised: false, options: { allowNtlmV1: false }, port };
}
const users = { tim: { password: 'tanstaaftanstaaf' } };

test('A1 PLAIN: gsasl client against our server, good password', async () => {
  requireGsasl();
  const port = new FakeCredentialPort(users);
  const s = new SaslSession(ctx(port), { offered: ['PLAIN'], successData: 'as-challenge' });
  const r = await runGsaslClient(s, { mechanism: 'PLAIN', authcid: 'tim', password: 'tanstaaftanstaaf' });
  assert.equal(r.reply.reply, 'success', JSON.stringify(r));
  assert.equal(r.exitCode, 0, r.stderr);
});

test('A1 PLAIN: our client against gsasl server', async () => {
  requireGsasl();
  const r = await runGsaslServer(plainClient({ authcid: 'tim', password: 'tanstaaftanstaaf' }), { mechanism: 'PLAIN', password: 'tanstaaftanstaaf' });
  assert.equal(r.accepted, true, JSON.stringify(r));
  const bad = await runGsaslServer(plainClient({ authcid: 'tim', password: 'nope' }), { mechanism: 'PLAIN', password: 'tanstaaftanstaaf' });
  assert.equal(bad.accepted, false, JSON.stringify(bad));
});
