// T8: host names as SNI, domains and certificates carry them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { certificateNameCovers, normalizeCertificateName, normalizeHostname } from './names.js';

test('T8: host names are normalised (case, trailing dot, IDNA)', () => {
  assert.equal(normalizeHostname('Mail.Example.COM.'), 'mail.example.com');
  assert.equal(normalizeHostname('bücher.example'), 'xn--bcher-kva.example');
});

// Each row: input, why it is not a host name.
const bad: Array<[string, string]> = [
  ['', 'empty SNI'],
  ['.', 'the root alone'],
  ['a..b', 'an empty label'],
  ['-a.example', 'a label starting with a hyphen'],
  ['a_b.example', 'underscore is not allowed in host names (RFC 952/1123)'],
  ['127.0.0.1', 'an IP literal: RFC 6066 forbids it in SNI'],
  [`${'a'.repeat(64)}.example`, 'a label longer than 63 octets'],
  [`${'a.'.repeat(127)}com`, 'a name longer than 253 octets'],
  ['a b.example', 'a space'],
  ['*.example.com', 'a wildcard is a certificate name, not a host name'],
];
for (const [input, why] of bad) test(`T8: not a host name: ${why}`, () => assert.equal(normalizeHostname(input), null));

test('T8: wildcards cover exactly one left-most label', () => {
  assert.equal(normalizeCertificateName('*.Example.com'), '*.example.com');
  assert.equal(normalizeCertificateName('*.com'), null);
  assert.equal(normalizeCertificateName('f*.example.com'), null);
  assert.ok(certificateNameCovers('*.example.com', 'foo.example.com'));
  assert.ok(!certificateNameCovers('*.example.com', 'example.com'));
  assert.ok(!certificateNameCovers('*.example.com', 'a.b.example.com'));
  assert.ok(certificateNameCovers('a.example.com', 'a.example.com'));
  assert.ok(!certificateNameCovers('a.example.com', 'b.example.com'));
});

test('T8: fuzz: any string normalises to null or a valid name, never throws', () => {
  fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => {
    const n = normalizeHostname(s);
    if (n !== null) assert.equal(normalizeHostname(n), n);
    const c = normalizeCertificateName(s);
    if (c !== null) assert.ok(c.startsWith('*.') || normalizeHostname(c) === c);
  }), { numRuns: 3000 });
});
