import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { openssl, requireTool, tempDir } from '../../tls/test/tools.js';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { makeTestCertificate } from '../../tls/test-certificate.js';
import { channelBindings, serverEndPoint, TLS_EXPORTER_LABEL, TLS_EXPORTER_LENGTH } from './tls-info.js';

/** Makes a self-signed certificate with OpenSSL and returns its DER. */
async function cert(dir: ReturnType<typeof tempDir>, name: string, args: string[]): Promise<Buffer> {
  const r = await openssl(['req', '-x509', '-nodes', '-subj', '/CN=cb.test', '-days', '1', ...(args.includes('-key') ? [] : ['-keyout', dir.path(`${name}.key`)]), '-out', dir.path(`${name}.pem`), ...args]);
  assert.equal(r.code, 0, r.out);
  return new X509Certificate(readFileSync(dir.path(`${name}.pem`))).raw;
}

const sha = (alg: string, b: Buffer): Buffer => createHash(alg).update(b).digest();

test('A8 plumbing, RFC 5929 §4.1: tls-server-end-point hashes with the signature\'s hash, SHA-1 replaced by SHA-256, none for Ed25519 (Debian openssl)', async (t) => {
  requireTool('openssl', 'openssl');
  const dir = tempDir('cb');
  t.after(() => dir.remove());
  // One RSA key for the three RSA certificates: key generation is the slow part.
  const gen = await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', dir.path('rsa.key')]);
  assert.equal(gen.code, 0, gen.out);
  const rsa = ['-key', dir.path('rsa.key')];
  const sha1 = await cert(dir, 'sha1', [...rsa, '-sha1']);
  const sha384 = await cert(dir, 'sha384', [...rsa, '-sha384']);
  const pss512 = await cert(dir, 'pss', [...rsa, '-sha512', '-sigopt', 'rsa_padding_mode:pss']);
  const ecdsa256 = await cert(dir, 'ec', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-sha256']);
  const ed = await cert(dir, 'ed', ['-newkey', 'ed25519']);
  assert.deepEqual(serverEndPoint(sha1), sha('sha256', sha1), 'SHA-1 signatures use SHA-256');
  assert.deepEqual(serverEndPoint(sha384), sha('sha384', sha384));
  assert.deepEqual(serverEndPoint(pss512), sha('sha512', pss512), 'RSA-PSS: the hash from its parameters');
  assert.deepEqual(serverEndPoint(ecdsa256), sha('sha256', ecdsa256));
  assert.equal(serverEndPoint(ed), null, 'no single hash: undefined, not offered');
  assert.equal(serverEndPoint(Buffer.from('not a certificate')), null);
  assert.deepEqual(serverEndPoint(sha384), sha('sha384', sha384), 'cached answer is the same');
});

test('A2/A8: channel bindings are read from OpenSSL only when a SCRAM-PLUS exchange asks, once, and equal the peer\'s', async (t) => {
  const cert = await makeTestCertificate('cb.test');
  const der = new X509Certificate(cert.certPem).raw;
  const accepted = new Promise<TLSSocket>((resolve) => {
    const server = createServer({ key: cert.keyPem, cert: cert.certPem }, (s) => { resolve(s); });
    t.after(() => server.close());
    server.listen(0, '127.0.0.1', () => {
      const c = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', rejectUnauthorized: false });
      c.on('error', () => undefined);
      t.after(() => c.destroy());
      c.once('secureConnect', () => { client = c; });
    });
  });
  let client: TLSSocket | undefined;
  const s = await accepted;
  await new Promise((r) => setImmediate(r));
  let exports = 0;
  const real = s.exportKeyingMaterial.bind(s);
  s.exportKeyingMaterial = (...a: Parameters<TLSSocket['exportKeyingMaterial']>) => { exports++; return real(...a); };
  const cb = channelBindings(s, der);
  assert.deepEqual(Object.keys(cb).sort(), ['tls-exporter', 'tls-server-end-point'], 'what is offered is known without computing it');
  assert.equal(exports, 0, 'nothing exported before an exchange asks');
  const first = cb['tls-exporter'];
  assert.equal(cb['tls-exporter'], first, 'computed once');
  assert.equal(exports, 1);
  assert.ok(client);
  assert.deepEqual(first, client.exportKeyingMaterial(TLS_EXPORTER_LENGTH, TLS_EXPORTER_LABEL, Buffer.alloc(0)), 'the client derives the same value');
  assert.deepEqual(cb['tls-server-end-point'], sha('sha256', der), 'from the certificate the resolver handed over');
});
