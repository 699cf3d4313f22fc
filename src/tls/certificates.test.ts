// T6: certificate attributes, self-signed, CSR, and the OpenSSL cross-check: our CSR passes
// `openssl req -verify`, an OpenSSL test CA signs it, the signed certificate is pasted back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync, writeFileSync } from 'node:fs';
import { generatePrivateKey } from './keys.js';
import {
  acceptCertificate, describeCertificatePem, generateSelfSigned, generateSigningRequest, validateAttributes,
  type CertificateAttributes, type DomainNames,
} from './certificates.js';
import { openssl, requireTool, tempDir } from './test/tools.js';

const domain: DomainNames = { name: 'example.test', aliases: ['mail.example.test', 'imap.example.test'] };
const attrs: CertificateAttributes = {
  commonName: 'Mail.Example.Test', country: 'de', province: 'Bayern', city: 'München',
  organization: 'Example, Inc.', unit: 'Mail Ops', email: 'postmaster@example.test',
};

test('T6: attributes are validated and normalised', () => {
  const ok = validateAttributes(attrs, domain);
  assert.equal(ok.status, 'ok');
  if (ok.status === 'ok') {
    assert.equal(ok.attributes.commonName, 'mail.example.test');
    assert.equal(ok.attributes.country, 'DE');
  }
  // Each row: a change to the good attributes, the field blamed, why the row exists.
  const rows: Array<[Partial<CertificateAttributes>, keyof CertificateAttributes, string]> = [
    [{ commonName: 'other.test' }, 'commonName', 'the CN must be the domain or one of its aliases (clients compare it)'],
    [{ commonName: '*.example.test' }, 'commonName', 'no wildcard CN from the form: the reference picks one name'],
    [{ commonName: '' }, 'commonName', 'the CN is required'],
    [{ country: 'Germany' }, 'country', 'the country is a two-letter code'],
    [{ country: 'QQ' }, 'country', 'a code ISO 3166 does not assign'],
    [{ country: 'UK' }, 'country', 'UK is not the ISO code of the United Kingdom (GB): CAs refuse it'],
    [{ email: '' }, 'email', 'the contact e-mail is required'],
    [{ email: 'postmaster' }, 'email', 'an e-mail address needs a domain'],
    [{ email: 'pöstmaster@example.test' }, 'email', 'emailAddress is an IA5String: ASCII only'],
    [{ email: 'a@b@example.test' }, 'email', 'two @ signs'],
    [{ city: 'Line\nbreak' }, 'city', 'control characters would corrupt the subject'],
    [{ organization: 'x'.repeat(65) }, 'organization', 'RFC 5280 ub-organization-name is 64'],
    [{ unit: 'y'.repeat(65) }, 'unit', 'RFC 5280 ub-organizational-unit-name is 64'],
    [{ province: 'z'.repeat(129) }, 'province', 'RFC 5280 ub-state-name is 128'],
  ];
  for (const [change, field, why] of rows) {
    const r = validateAttributes({ ...attrs, ...change }, domain);
    assert.equal(r.status, 'invalid', why);
    if (r.status === 'invalid') assert.ok(r.problems.some((p) => p.field === field), `${why}: ${JSON.stringify(r.problems)}`);
  }
  const minimal = validateAttributes({ commonName: 'example.test', email: 'a@example.test' }, domain);
  assert.equal(minimal.status, 'ok', 'only the CN and the e-mail are required');
});

test('T6: fuzz: attribute validation never throws and only accepts clean values', () => {
  fc.assert(fc.property(fc.record({ commonName: fc.string(), country: fc.string({ maxLength: 4 }), city: fc.string(), email: fc.string() }), (a) => {
    const r = validateAttributes(a, domain);
    if (r.status === 'ok') assert.ok(['example.test', 'mail.example.test', 'imap.example.test'].includes(r.attributes.commonName));
  }), { numRuns: 2000 });
});

test('T6: self-signed certificate: openssl x509 -text shows the attributes entered, SAN and serverAuth', async () => {
  requireTool('openssl', 'openssl');
  const t = tempDir('selfsigned');
  try {
    for (const kind of ['ecdsa-p256', 'rsa-2048'] as const) {
      const key = await generatePrivateKey(kind);
      const r = await generateSelfSigned(key.pkcs8Pem, attrs, domain);
      assert.equal(r.status, 'ok');
      if (r.status !== 'ok') return;
      writeFileSync(t.path('c.pem'), r.pem);
      const text = await openssl(['x509', '-in', t.path('c.pem'), '-noout', '-text', '-nameopt', 'utf8,sep_comma_plus_space']);
      assert.equal(text.code, 0, text.out);
      for (const s of ['C=DE', 'ST=Bayern', 'L=München', 'O=Example, Inc.', 'OU=Mail Ops', 'CN=mail.example.test', 'emailAddress=postmaster@example.test', 'DNS:mail.example.test', 'TLS Web Server Authentication', 'CA:FALSE']) {
        assert.ok(text.stdout.includes(s), `${kind}: ${s} in\n${text.stdout}`);
      }
      // Self-signed: it verifies against itself.
      const v = await openssl(['verify', '-CAfile', t.path('c.pem'), t.path('c.pem')]);
      assert.equal(v.code, 0, v.out);
      const d = describeCertificatePem(r.pem);
      assert.ok(d);
      assert.deepEqual(d.issuedTo.map((a) => `${a.label}:${a.value}`), ['Country:DE', 'Province:Bayern', 'City:München', 'Organization:Example, Inc.', 'Unit:Mail Ops', 'Common Name:mail.example.test', 'Contact:postmaster@example.test']);
      assert.deepEqual(d.issuedBy, d.issuedTo);
      assert.ok(d.validTill.getTime() - d.validFrom.getTime() > 390 * 86_400_000);
      const fp = (await openssl(['x509', '-in', t.path('c.pem'), '-noout', '-fingerprint', '-sha256'])).stdout;
      assert.ok(fp.includes(d.fingerprintSha256), `${fp} vs ${d.fingerprintSha256}`);
    }
  } finally { t.remove(); }
});

test('T6: CSR passes openssl req -verify; an OpenSSL CA signs it; pasted back it is accepted; a foreign one is refused', async () => {
  requireTool('openssl', 'openssl');
  const t = tempDir('csr');
  try {
    const key = await generatePrivateKey('ecdsa-p256');
    const csr = await generateSigningRequest(key.pkcs8Pem, attrs, domain);
    assert.equal(csr.status, 'ok');
    if (csr.status !== 'ok') return;
    writeFileSync(t.path('req.pem'), csr.pem);
    const v = await openssl(['req', '-in', t.path('req.pem'), '-noout', '-verify', '-text', '-nameopt', 'utf8,sep_comma_plus_space']);
    assert.equal(v.code, 0, v.out);
    assert.match(v.out, /verify OK/);
    assert.match(v.stdout, /C=DE, ST=Bayern, L=München, O=Example, Inc\., OU=Mail Ops, CN=mail\.example\.test, emailAddress=postmaster@example\.test/);
    assert.match(v.stdout, /DNS:mail\.example\.test/);

    // An OpenSSL test CA signs the request, copying the requested extensions.
    assert.equal((await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', t.path('ca.key'), '-out', t.path('ca.pem'), '-subj', '/CN=Mailward Test CA', '-days', '2'])).code, 0);
    const sign = await openssl(['x509', '-req', '-in', t.path('req.pem'), '-CA', t.path('ca.pem'), '-CAkey', t.path('ca.key'), '-CAcreateserial', '-days', '2', '-copy_extensions', 'copy', '-out', t.path('signed.pem')]);
    assert.equal(sign.code, 0, sign.out);
    const signed = readFileSync(t.path('signed.pem'), 'utf8');
    const accepted = acceptCertificate(signed, key.pkcs8Pem, domain);
    assert.equal(accepted.status, 'ok', JSON.stringify(accepted));
    if (accepted.status !== 'ok') return;
    assert.deepEqual(accepted.warnings, []);
    assert.deepEqual(accepted.description.issuedBy.map((a) => `${a.label}:${a.value}`), ['Common Name:Mailward Test CA']);
    assert.equal(accepted.description.issuedTo.find((a) => a.label === 'Contact')?.value, 'postmaster@example.test');

    // Warnings, not refusals: dates and names.
    assert.deepEqual(acceptCertificate(signed, key.pkcs8Pem, domain, { now: new Date(Date.now() + 10 * 86_400_000) }).status === 'ok'
      && (acceptCertificate(signed, key.pkcs8Pem, domain, { now: new Date(Date.now() + 10 * 86_400_000) }) as { warnings: Array<{ kind: string }> }).warnings.map((w) => w.kind), ['expired']);
    const early = acceptCertificate(signed, key.pkcs8Pem, domain, { now: new Date(Date.now() - 86_400_000) });
    assert.deepEqual(early.status === 'ok' ? early.warnings.map((w) => w.kind) : early, ['not-yet-valid']);
    const other = acceptCertificate(signed, key.pkcs8Pem, { name: 'other.test', aliases: [] });
    assert.deepEqual(other.status === 'ok' ? other.warnings.map((w) => w.kind) : other, ['name-mismatch']);

    // Refusals: another key's certificate, several certificates, a key, garbage.
    const otherKey = await generatePrivateKey('ecdsa-p256');
    const refused = acceptCertificate(signed, otherKey.pkcs8Pem, domain);
    assert.equal(refused.status === 'refused' && refused.reason, 'key-mismatch');
    const rows: Array<[string, string, string]> = [
      [signed + readFileSync(t.path('ca.pem'), 'utf8'), 'several', 'a bundle pasted: the chain has its own field'],
      [key.pkcs8Pem, 'malformed', 'the key pasted into the certificate field'],
      ['', 'none', 'an empty field'],
      [signed.replace(/[A-Za-z]{10}\n/, 'AAAAAAAAAA\n'), 'malformed', 'a damaged certificate'],
    ];
    for (const [text, reason, why] of rows) {
      const r = acceptCertificate(text, key.pkcs8Pem, domain);
      assert.equal(r.status === 'refused' && r.reason, reason, `${why}: ${JSON.stringify(r)}`);
    }
  } finally { t.remove(); }
});

test('T6: fuzz: pasted certificate text only produces ok/refused values', async () => {
  const key = await generatePrivateKey('ecdsa-p256');
  const self = await generateSelfSigned(key.pkcs8Pem, attrs, domain);
  assert.equal(self.status, 'ok');
  const body = self.status === 'ok' ? self.pem.split('\n').slice(1, -2).join('') : '';
  const der = Buffer.from(body, 'base64');
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(der.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(der.length), (muts, cut) => {
    const b = Buffer.from(der.subarray(0, Math.max(cut, 1)));
    for (const [i, v] of muts) if (i < b.length) b[i] = v;
    const pem = `-----BEGIN CERTIFICATE-----\n${b.toString('base64')}\n-----END CERTIFICATE-----\n`;
    const r = acceptCertificate(pem, key.pkcs8Pem, domain);
    assert.ok(r.status === 'ok' || r.status === 'refused');
  }), { numRuns: 400 });
});
