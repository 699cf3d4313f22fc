// T5: private keys - generate, import pasted PEM keys made by OpenSSL, Key Test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { generatePrivateKey, importPrivateKeyPem, keyTest, KEY_KINDS, type KeyGenProgress } from './keys.js';
import { writeSecretFile, SECRET_FILE_MODE } from './secret-file.js';
import { openssl, requireTool, tempDir } from './test/tools.js';

test('T5: every key kind is generated off the event loop, as PKCS#8, and passes the Key Test', async () => {
  const ticks: KeyGenProgress[] = [];
  let loopTicks = 0;
  const loop = setInterval(() => { loopTicks += 1; }, 5);
  const keys = await Promise.all(KEY_KINDS.map((k) => generatePrivateKey(k, { onProgress: (p) => ticks.push(p), progressIntervalMs: 10 })));
  clearInterval(loop);
  const expected = { 'rsa-2048': 'RSA 2048', 'rsa-3072': 'RSA 3072', 'rsa-4096': 'RSA 4096', 'ecdsa-p256': 'ECDSA P-256', 'ecdsa-p384': 'ECDSA P-384' };
  for (const [i, k] of keys.entries()) {
    const kind = KEY_KINDS[i] as keyof typeof expected;
    assert.equal(k.info.description, expected[kind]);
    assert.match(k.pkcs8Pem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.deepEqual(await keyTest(k.pkcs8Pem), { ok: true, text: 'Verification String is OK' });
  }
  // RSA 4096 takes far longer than 10 ms: progress was reported and the loop kept running.
  assert.ok(ticks.some((t) => t.kind === 'rsa-4096' && t.elapsedMs > 0), 'progress ticks for the slow key');
  assert.ok(loopTicks >= 3, `the event loop ran during generation (${loopTicks} ticks)`);
});

test('T5: keys pasted in PKCS#1, PKCS#8 and SEC1 (made by OpenSSL) import and normalise to PKCS#8', async () => {
  requireTool('openssl', 'openssl');
  const t = tempDir('keys');
  try {
    const rows: Array<[string[], 'pkcs1' | 'pkcs8' | 'sec1', string, string]> = [
      [['genrsa', '-traditional', '-out', t.path('k1'), '2048'], 'pkcs1', 'RSA 2048', 'BEGIN RSA PRIVATE KEY'],
      [['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', t.path('k2')], 'pkcs8', 'RSA 2048', 'BEGIN PRIVATE KEY'],
      [['ecparam', '-genkey', '-name', 'prime256v1', '-out', t.path('k3')], 'sec1', 'ECDSA P-256', 'BEGIN EC PRIVATE KEY'],
      [['ecparam', '-genkey', '-name', 'secp384r1', '-noout', '-out', t.path('k4')], 'sec1', 'ECDSA P-384', 'BEGIN EC PRIVATE KEY'],
      [['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', t.path('k5')], 'pkcs8', 'ECDSA P-256', 'BEGIN PRIVATE KEY'],
    ];
    for (const [args, format, description, header] of rows) {
      const r = await openssl(args);
      assert.equal(r.code, 0, r.out);
      const pem = readFileSync(args[args.indexOf('-out') + 1] as string, 'utf8');
      assert.ok(pem.includes(header), `${args.join(' ')} wrote ${header}`);
      const imported = await importPrivateKeyPem(pem);
      assert.equal(imported.status, 'ok', JSON.stringify(imported));
      if (imported.status !== 'ok') continue;
      assert.equal(imported.format, format);
      assert.equal(imported.info.description, description);
      assert.match(imported.pkcs8Pem, /^-----BEGIN PRIVATE KEY-----/);
      // Same key: OpenSSL sees the normalised PKCS#8 as the key it made.
      assert.ok(createPrivateKey(imported.pkcs8Pem).equals(createPrivateKey(pem)));
      assert.deepEqual(await keyTest(imported.pkcs8Pem), { ok: true, text: 'Verification String is OK' });
    }
  } finally { t.remove(); }
});

test('T5: encrypted, broken, weak and unsupported keys give clear error values', async () => {
  requireTool('openssl', 'openssl');
  const t = tempDir('badkeys');
  try {
    await openssl(['genrsa', '-traditional', '-aes256', '-passout', 'pass:secret', '-out', t.path('enc1'), '2048']);
    await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-aes256', '-pass', 'pass:secret', '-out', t.path('enc8')]);
    await openssl(['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', t.path('ec')]);
    await openssl(['ec', '-in', t.path('ec'), '-aes256', '-passout', 'pass:secret', '-out', t.path('enc-ec')]);
    await openssl(['genrsa', '-traditional', '-out', t.path('rsa1024'), '1024']);
    const good = readFileSync(t.path('ec'), 'utf8');
    const lines = good.trim().split('\n');
    const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({ type: 'sec1', format: 'pem' }) as string;
    const body = lines.slice(1, -1).join('');
    const flipped = `${lines[0]}\n${Buffer.from(Buffer.from(body, 'base64').map((b, i) => (i === 8 ? b ^ 0xff : b))).toString('base64')}\n${lines[lines.length - 1]}\n`;
    // Each row: pasted text, expected status, a word the message must contain, why the row exists.
    const rows: Array<[string, string, RegExp, string]> = [
      [readFileSync(t.path('enc1'), 'utf8'), 'encrypted', /passphrase/, 'PKCS#1 with OpenSSL legacy encryption (Proc-Type header)'],
      [readFileSync(t.path('enc8'), 'utf8'), 'encrypted', /passphrase/, 'PKCS#8 EncryptedPrivateKeyInfo'],
      [readFileSync(t.path('enc-ec'), 'utf8'), 'encrypted', /passphrase/, 'SEC1 with legacy encryption'],
      [`${lines[0]}\n${body.slice(0, 40)}\n${lines[lines.length - 1]}\n`, 'malformed', /damaged|base64/, 'a truncated paste'],
      [flipped, 'malformed', /damaged/, 'a damaged private scalar: OpenSSL loads it, the Key Test catches it'],
      [lines.slice(0, -1).join('\n'), 'malformed', /END/, 'the END line missing'],
      ['', 'malformed', /no PEM private key/, 'an empty field'],
      ['hello', 'malformed', /no PEM private key/, 'not PEM at all'],
      [good + good, 'malformed', /more than one/, 'two keys pasted'],
      [readFileSync(t.path('rsa1024'), 'utf8'), 'weak', /2048/, 'a 1024-bit RSA key'],
      [ed, 'unsupported', /RSA or ECDSA/, 'Ed25519: few mail clients verify it in certificates'],
      [secp256k1, 'unsupported', /P-256/, 'a curve TLS does not use'],
    ];
    for (const [text, status, words, why] of rows) {
      const r = await importPrivateKeyPem(text);
      assert.equal(r.status, status, `${why}: ${JSON.stringify(r)}`);
      if (r.status !== 'ok') assert.match(r.message, words, why);
    }
    const k = await generatePrivateKey('ecdsa-p256');
    const cert = (await openssl(['req', '-x509', '-new', '-key', writeTmp(t.path('k.pem'), k.pkcs8Pem), '-subj', '/CN=x', '-days', '1'])).stdout;
    assert.match(JSON.stringify(await importPrivateKeyPem(cert)), /certificate, not a private key/);
    const kt = await keyTest('garbage');
    assert.equal(kt.ok, false);
    assert.match(kt.text, /^Verification String is NOT OK/);
  } finally { t.remove(); }
});

function writeTmp(path: string, text: string): string { writeFileSync(path, text); return path; }

test('T5: fuzz: hostile pastes only produce result values', async () => {
  const header = fc.constantFrom('-----BEGIN PRIVATE KEY-----\n', '-----BEGIN RSA PRIVATE KEY-----\n', '-----BEGIN EC PRIVATE KEY-----\n', '-----BEGIN ENCRYPTED PRIVATE KEY-----\n');
  const footer = fc.constantFrom('\n-----END PRIVATE KEY-----\n', '\n-----END RSA PRIVATE KEY-----\n', '\n-----END EC PRIVATE KEY-----\n', '');
  await fc.assert(fc.asyncProperty(header, fc.uint8Array({ maxLength: 300 }), footer, async (h, bytes, f) => {
    const r = await importPrivateKeyPem(h + Buffer.from(bytes).toString('base64') + f);
    assert.ok(['ok', 'malformed', 'encrypted', 'unsupported', 'weak'].includes(r.status));
  }), { numRuns: 1500 });
});

test('T5: key files are written mode 0600, atomically', async () => {
  const t = tempDir('secret');
  try {
    const p = t.path('domain.key');
    await writeSecretFile(p, 'first');
    await writeSecretFile(p, 'second');
    assert.equal(readFileSync(p, 'utf8'), 'second');
    assert.equal(statSync(p).mode & 0o777, SECRET_FILE_MODE);
  } finally { t.remove(); }
});
