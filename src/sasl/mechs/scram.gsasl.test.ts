// A2, A9: SCRAM against an independent peer, GNU gsasl (Debian package gsasl), in raw mode:
// gsasl --client against our server, our client against gsasl --server; SHA-1, SHA-256, -PLUS
// with channel-binding bytes we supply, wrong password, wrong binding, a binding type we lack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SaslSession, type SuccessDataMode } from '../driver.js';
import type { ChannelBindingType, SaslContext, ScramAlgorithm } from '../mechanism.js';
import { FakeCredentialPort, type FakeUser } from '../testing/fake-port.js';
import { ScramClient } from '../client/scram.js';
import { scramKeys } from '../../passwords/index.js';
import { requireGsasl, runGsaslClient, runGsaslServer, type GsaslOptions } from '../test/gsasl-harness.js';

const PASSWORD = 'tr0ub4dor&3';
const EXPORTER = Buffer.from('f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff', 'hex');
const UNIQUE = Buffer.from('0a0b0c0d0e0f101112131415', 'hex');

async function users(): Promise<Record<string, FakeUser>> {
  const salt = Buffer.from('mailward-test-salt');
  const k1 = await scramKeys('SHA-1', Buffer.from(PASSWORD), salt, 4096);
  const k256 = await scramKeys('SHA-256', Buffer.from(PASSWORD), salt, 4096);
  return {
    alice: {
      scram: {
        'SHA-1': { salt, iterations: 4096, storedKey: k1.storedKey, serverKey: k1.serverKey },
        'SHA-256': { salt, iterations: 4096, storedKey: k256.storedKey, serverKey: k256.serverKey },
      },
      mayActFor: ['bob'],
    },
  };
}

interface Setup {
  mechanism: string;
  serverCb?: Partial<Record<ChannelBindingType, Buffer>>;
  plusAdvertised?: boolean;
  successData?: SuccessDataMode;
  gsasl?: Partial<GsaslOptions>;
}

async function ourServer(s: Setup) {
  requireGsasl();
  const port = new FakeCredentialPort(await users());
  const ctx: SaslContext = {
    serverName: 'mail.example.com', service: 'imap', secure: true, channelBindings: s.serverCb ?? {},
    plusAdvertised: s.plusAdvertised ?? false, options: { allowNtlmV1: false }, port,
  };
  const session = new SaslSession(ctx, { offered: [s.mechanism], successData: s.successData ?? 'as-challenge' });
  const r = await runGsaslClient(session, { mechanism: s.mechanism, authcid: 'alice', password: PASSWORD, ...s.gsasl });
  return { ...r, port };
}

for (const alg of ['SHA-1', 'SHA-256'] as const) {
  const mechanism = `SCRAM-${alg}`;
  for (const successData of ['as-challenge', 'with-success'] as const) {
    void test(`A2 ${mechanism}: gsasl --client against our server (final data ${successData}); gsasl verifies v=`, async () => {
      const r = await ourServer({ mechanism, successData, gsasl: { noCb: true } });
      assert.equal(r.reply.reply, 'success', JSON.stringify(r));
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.port.calls.length, 1);
    });
  }

  void test(`A2 ${mechanism}: gsasl --client with a wrong password is refused`, async () => {
    const r = await ourServer({ mechanism, gsasl: { noCb: true, password: 'wrong' } });
    assert.equal(r.reply.reply, 'failure', JSON.stringify(r));
    if (r.reply.reply === 'failure') assert.equal(r.reply.failure.status, 'bad-credentials');
    assert.notEqual(r.exitCode, 0);
  });

  void test(`A2 ${mechanism}: gsasl --client with authzid (-z), without an initial response`, async () => {
    const r = await ourServer({ mechanism, gsasl: { noCb: true, authzid: 'bob', initialResponse: 'never' } });
    assert.equal(r.reply.reply, 'success', JSON.stringify(r));
    if (r.reply.reply === 'success') assert.equal(r.reply.authzid, 'bob');
    assert.equal(r.exitCode, 0, r.stderr);
  });

  // Not here: the "y" flag. In raw mode gsasl 2.2 given binding data for a non-PLUS SCRAM fails
  // locally ("Error authenticating user") instead of sending "y"; the downgrade rule is tested
  // with our own client in scram.test.ts.

  for (const [type, data] of [['tls-exporter', EXPORTER], ['tls-unique', UNIQUE]] as const) {
    void test(`A2 ${mechanism}-PLUS: gsasl --client with ${type} binding bytes; right and wrong binding`, async () => {
      const good = await ourServer({ mechanism: `${mechanism}-PLUS`, plusAdvertised: true, serverCb: { [type]: data }, gsasl: { channelBinding: { type, data } } });
      assert.equal(good.reply.reply, 'success', JSON.stringify(good));
      assert.equal(good.exitCode, 0, good.stderr);
      const other = Buffer.from(data);
      other[0] = (other[0] ?? 0) ^ 0xff;
      const bad = await ourServer({ mechanism: `${mechanism}-PLUS`, plusAdvertised: true, serverCb: { [type]: other }, gsasl: { channelBinding: { type, data } } });
      assert.equal(bad.reply.reply, 'failure', JSON.stringify(bad));
      if (bad.reply.reply === 'failure') assert.match(bad.reply.failure.status === 'malformed' ? bad.reply.failure.reason : '', /^channel-bindings-dont-match/);
      assert.notEqual(bad.exitCode, 0);
      assert.equal(bad.port.calls.length, 0);
    });
  }

  void test(`A2 ${mechanism}-PLUS: gsasl --client binding with a type this connection lacks is refused`, async () => {
    // gsasl prefers tls-exporter; the server only has tls-unique (as on TLS 1.2).
    const r = await ourServer({ mechanism: `${mechanism}-PLUS`, plusAdvertised: true, serverCb: { 'tls-unique': UNIQUE }, gsasl: { channelBinding: { type: 'tls-exporter', data: EXPORTER } } });
    assert.equal(r.reply.reply, 'failure', JSON.stringify(r));
    if (r.reply.reply === 'failure') assert.match(r.reply.failure.status === 'malformed' ? r.reply.failure.reason : '', /^unsupported-channel-binding-type/);
  });

  void test(`A2 ${mechanism}: our client against gsasl --server; right password accepted and v= verified, wrong refused`, async () => {
    requireGsasl();
    const good = await runGsaslServer(new ScramClient(alg as ScramAlgorithm, { authcid: 'alice', password: PASSWORD }), { mechanism, password: PASSWORD, noCb: true });
    assert.equal(good.accepted, true, JSON.stringify(good));
    assert.equal(good.serverVerified, true);
    assert.equal(good.clientError, undefined);
    const bad = await runGsaslServer(new ScramClient(alg as ScramAlgorithm, { authcid: 'alice', password: 'wrong' }), { mechanism, password: PASSWORD, noCb: true });
    assert.equal(bad.accepted, false, JSON.stringify(bad));
  });

  void test(`A2 ${mechanism}-PLUS: our client against gsasl --server with tls-exporter bytes; right and wrong binding`, async () => {
    requireGsasl();
    const cb = { type: 'tls-exporter' as const, data: EXPORTER };
    const good = await runGsaslServer(new ScramClient(alg as ScramAlgorithm, { authcid: 'alice', password: PASSWORD }, { plus: true, channelBinding: cb }),
      { mechanism: `${mechanism}-PLUS`, password: PASSWORD, channelBinding: cb });
    assert.equal(good.accepted, true, JSON.stringify(good));
    assert.equal(good.serverVerified, true);
    const bad = await runGsaslServer(new ScramClient(alg as ScramAlgorithm, { authcid: 'alice', password: PASSWORD }, { plus: true, channelBinding: { type: 'tls-exporter', data: Buffer.alloc(32, 1) } }),
      { mechanism: `${mechanism}-PLUS`, password: PASSWORD, channelBinding: cb });
    assert.equal(bad.accepted, false, JSON.stringify(bad));
  });
}
