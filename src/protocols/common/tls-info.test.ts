import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { openssl, requireTool, tempDir } from '../../tls/test/tools.js';
import { serverEndPoint } from './tls-info.js';

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
