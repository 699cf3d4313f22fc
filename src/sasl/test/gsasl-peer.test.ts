/**
 * GNU gsasl (Debian package gsasl) as the independent peer: its client against our server
 * mechanisms through the wire driver, and our client mechanisms against its server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SaslSession, type SaslReply, type SuccessDataMode } from '../driver.js';
import { plainClient } from '../client/plain.js';
import { loginClient } from '../client/login.js';
import { cramMd5Client } from '../client/cram-md5.js';
import { makeCtx } from './mech-helpers.js';
import { requireGsasl, runGsaslClient, runGsaslServer, type GsaslClientRunResult, type GsaslOptions, type SaslServerPeer } from './gsasl-harness.js';

const HOST = 'mail.example.com';

function server(successData: SuccessDataMode = 'as-challenge', service = 'imap') {
  const ctx = makeCtx({ serverName: HOST, service });
  const session = new SaslSession(ctx, { offered: ['PLAIN', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5'], successData });
  return { ctx, session };
}

function status(r: SaslReply): string {
  return r.reply === 'failure' ? r.failure.status : r.reply;
}

async function peer(o: GsaslOptions, successData: SuccessDataMode = 'as-challenge', service = 'imap'): Promise<GsaslClientRunResult & { calls: number }> {
  requireGsasl();
  const { ctx, session } = server(successData, service);
  const r = await runGsaslClient(session, o);
  return { ...r, calls: ctx.port.calls.length };
}

const DIGEST: Partial<GsaslOptions> = { service: 'imap', hostname: HOST, realm: HOST, qop: 'qop-auth' };

void test('A1 gsasl client → our PLAIN: success (with and without SASL-IR), wrong password', async () => {
  let r = await peer({ mechanism: 'PLAIN', authcid: 'tim', password: 'tanstaaftanstaaf' });
  assert.equal(status(r.reply), 'success', JSON.stringify(r.transcript));
  assert.equal(r.exitCode, 0, r.stderr);
  r = await peer({ mechanism: 'PLAIN', authcid: 'tim', password: 'tanstaaftanstaaf', initialResponse: 'never' });
  assert.equal(status(r.reply), 'success', JSON.stringify(r.transcript));
  r = await peer({ mechanism: 'PLAIN', authcid: 'tim', password: 'wrong' });
  assert.equal(status(r.reply), 'bad-credentials');
  assert.notEqual(r.exitCode, 0, 'gsasl is left without a success');
  assert.equal(r.calls, 1);
});

void test('A1 gsasl client → our PLAIN: authzid (-z) is granted only through the port', async () => {
  let r = await peer({ mechanism: 'PLAIN', authcid: 'boss', password: 'bosspass', authzid: 'bob' });
  assert.equal(status(r.reply), 'success', JSON.stringify(r.transcript));
  assert.equal(r.reply.reply === 'success' && r.reply.outcome.authzAccount, 'bob');
  r = await peer({ mechanism: 'PLAIN', authcid: 'bob', password: 'bobpass', authzid: 'boss' });
  assert.equal(status(r.reply), 'bad-credentials');
});

void test('A1 gsasl client → our LOGIN: success, wrong password', async () => {
  let r = await peer({ mechanism: 'LOGIN', authcid: 'tim', password: 'tanstaaftanstaaf' });
  assert.equal(status(r.reply), 'success', JSON.stringify(r.transcript));
  assert.equal(r.exitCode, 0, r.stderr);
  // gsasl sends the user name as an initial response (like smtplib); without SASL-IR (IMAP
  // without the capability) the same bytes answer our "Username:" challenge.
  assert.equal(r.transcript[1]?.line, Buffer.from('tim').toString('base64'));
  r = await peer({ mechanism: 'LOGIN', authcid: 'tim', password: 'tanstaaftanstaaf', initialResponse: 'never' });
  assert.equal(status(r.reply), 'success', JSON.stringify(r.transcript));
  r = await peer({ mechanism: 'LOGIN', authcid: 'tim', password: 'wrong' });
  assert.equal(status(r.reply), 'bad-credentials');
});

void test('A2 A9 gsasl client → our CRAM-MD5: success, wrong password, one-way stored account', async () => {
  let r = await peer({ mechanism: 'CRAM-MD5', authcid: 'tim', password: 'tanstaaftanstaaf' });
  assert.equal(status(r.reply), 'success', JSON.stringify(r.transcript));
  assert.equal(r.exitCode, 0, r.stderr);
  r = await peer({ mechanism: 'CRAM-MD5', authcid: 'tim', password: 'wrong' });
  assert.equal(status(r.reply), 'bad-credentials');
  r = await peer({ mechanism: 'CRAM-MD5', authcid: 'oneway', password: 'anything' });
  assert.equal(status(r.reply), 'bad-credentials');
});

void test('A2 gsasl client → our DIGEST-MD5: success with rspauth verified by gsasl, both final-data modes', async () => {
  for (const mode of ['as-challenge', 'with-success'] as const) {
    const r = await peer({ mechanism: 'DIGEST-MD5', authcid: 'chris', password: 'secret', ...DIGEST }, mode);
    assert.equal(status(r.reply), 'success', `${mode}: ${JSON.stringify(r.transcript)}`);
    assert.equal(r.exitCode, 0, `${mode}: gsasl must accept our rspauth: ${r.stderr}`);
  }
  // name@domain and an authzid the port allows.
  const r = await peer({ mechanism: 'DIGEST-MD5', authcid: 'boss@example.com', password: 'bosspass', authzid: 'bob', ...DIGEST });
  assert.equal(status(r.reply), 'success', JSON.stringify(r.transcript));
  assert.equal(r.exitCode, 0, r.stderr);
});

void test('A2 A9 gsasl client → our DIGEST-MD5: wrong password, one-way account, wrong service, wrong host', async () => {
  let r = await peer({ mechanism: 'DIGEST-MD5', authcid: 'chris', password: 'wrong', ...DIGEST });
  assert.equal(status(r.reply), 'bad-credentials');
  r = await peer({ mechanism: 'DIGEST-MD5', authcid: 'oneway', password: 'x', ...DIGEST });
  assert.equal(status(r.reply), 'bad-credentials');
  r = await peer({ mechanism: 'DIGEST-MD5', authcid: 'chris', password: 'secret', ...DIGEST, service: 'smtp' });
  assert.deepEqual(r.reply.reply === 'failure' && r.reply.failure, { status: 'malformed', reason: 'digest-uri service mismatch' });
  r = await peer({ mechanism: 'DIGEST-MD5', authcid: 'chris', password: 'secret', ...DIGEST, hostname: 'evil.example' });
  assert.deepEqual(r.reply.reply === 'failure' && r.reply.failure, { status: 'malformed', reason: 'digest-uri host mismatch' });
  assert.equal(r.calls, 0);
});

void test('A2 gsasl client → DIGEST-MD5: a forged rspauth is caught by gsasl (the exit code is a real check)', async () => {
  requireGsasl();
  const { session } = server('as-challenge');
  // Relay that flips one hex digit of rspauth on its way to gsasl.
  const tamper: SaslServerPeer = {
    start: (m, ir) => session.start(m, ir),
    respond: async (line) => {
      const r = await session.respond(line);
      if (r.reply !== 'challenge') return r;
      const text = Buffer.from(r.base64, 'base64').toString();
      if (!text.startsWith('rspauth=')) return r;
      const forged = text.slice(0, -1) + (text.endsWith('0') ? '1' : '0');
      return { reply: 'challenge', base64: Buffer.from(forged).toString('base64') };
    },
  };
  const r = await runGsaslClient(tamper, { mechanism: 'DIGEST-MD5', authcid: 'chris', password: 'secret', ...DIGEST });
  assert.notEqual(r.exitCode, 0, JSON.stringify(r.transcript));
});

void test('A1 A2 our clients → gsasl server: PLAIN, LOGIN, CRAM-MD5 success and wrong password', async () => {
  requireGsasl();
  const cases = [
    ['PLAIN', plainClient],
    ['LOGIN', loginClient],
    ['CRAM-MD5', cramMd5Client],
  ] as const;
  for (const [mechanism, make] of cases) {
    const ok = await runGsaslServer(make({ authcid: 'tim', password: 'tanstaaftanstaaf' }), { mechanism, authcid: 'tim', password: 'tanstaaftanstaaf' });
    assert.equal(ok.accepted, true, `${mechanism}: ${JSON.stringify(ok)}`);
    assert.equal(ok.clientError, undefined);
    const bad = await runGsaslServer(make({ authcid: 'tim', password: 'wrong' }), { mechanism, authcid: 'tim', password: 'tanstaaftanstaaf' });
    assert.equal(bad.accepted, false, `${mechanism} wrong password: ${JSON.stringify(bad)}`);
  }
});
