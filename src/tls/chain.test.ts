// T7: CA chains - each certificate parses; every link is checked and a missing one is a warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkChain, describeChain } from './chain.js';
import { makeTestPki } from './test/pki.js';
import { requireTool } from './test/tools.js';

test('T7: a complete chain (intermediate, root last) has no warnings and is shown as a table', async () => {
  requireTool('openssl', 'openssl');
  const pki = await makeTestPki();
  try {
    const leaf = await pki.issue({ name: 'a.test', aliases: [] }, { commonName: 'a.test', email: 'pm@a.test' });
    const r = checkChain(pki.intermediatePem + pki.rootPem, { certificatePem: leaf.certPem });
    assert.equal(r.status, 'ok');
    if (r.status !== 'ok') return;
    assert.deepEqual(r.warnings, []);
    assert.equal(r.rows.length, 2);
    assert.deepEqual(r.rows.map((row) => [row.issuedTo.map((a) => a.value).join('/'), row.issuedBy.map((a) => a.value).join('/')]), [
      ['Mailward Tests/Test Intermediate CA', 'Mailward Tests/Test Root CA'],
      ['Mailward Tests/Test Root CA', 'Mailward Tests/Test Root CA'],
    ]);
    assert.ok(r.rows.every((row) => row.validFrom < row.validTill));
    assert.deepEqual(describeChain(r.pem).map((row) => row.subject), r.rows.map((row) => row.subject));

    // Each row: chain text, the warnings expected, why the row exists.
    const rows: Array<[string, string[], string]> = [
      [pki.rootPem, ['missing-link'], 'the intermediate is missing: the root does not certify the domain certificate'],
      [pki.rootPem + pki.intermediatePem, ['missing-link', 'missing-link'], 'root first: wrong order breaks both links'],
      [leaf.certPem + pki.intermediatePem + pki.rootPem, ['contains-domain-certificate'], 'a full-chain bundle pasted'],
    ];
    for (const [text, kinds, why] of rows) {
      const c = checkChain(text, { certificatePem: leaf.certPem });
      assert.equal(c.status, 'ok', `${why}: a warning never refuses`);
      if (c.status === 'ok') assert.deepEqual(c.warnings.map((w) => w.kind), kinds, why);
    }
    // A certificate that is not a CA and does not link.
    const other = await pki.issue({ name: 'b.test', aliases: [] }, { commonName: 'b.test', email: 'pm@b.test' });
    const c = checkChain(other.certPem, { certificatePem: leaf.certPem });
    assert.deepEqual(c.status === 'ok' && c.warnings.map((w) => w.kind), ['missing-link', 'not-a-ca']);
    // Dates.
    const late = checkChain(pki.intermediatePem + pki.rootPem, { certificatePem: leaf.certPem, now: new Date(Date.now() + 30 * 86_400_000) });
    assert.deepEqual(late.status === 'ok' && late.warnings.map((w) => w.kind), ['expired', 'expired']);
    // Refusals: an unparsable certificate anywhere, or nothing.
    const broken = pki.rootPem.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA');
    const b = checkChain(pki.intermediatePem + broken);
    assert.equal(b.status, 'refused');
    if (b.status === 'refused') assert.equal(b.index, 1);
    assert.equal(checkChain('').status, 'refused');
    assert.equal(checkChain('-----BEGIN PRIVATE KEY-----\nMAMCAQE=\n-----END PRIVATE KEY-----\n').status, 'refused');
  } finally { pki.remove(); }
});

test('T7: fuzz: mutated chains only produce ok/refused values', async () => {
  requireTool('openssl', 'openssl');
  const pki = await makeTestPki();
  try {
    const text = pki.intermediatePem + pki.rootPem;
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(text.length - 1), fc.constantFrom('A', 'z', '-', '\n', '=', '+')), { maxLength: 4 }), (muts) => {
      const chars = [...text];
      for (const [i, ch] of muts) chars[i] = ch;
      const r = checkChain(chars.join(''));
      assert.ok(r.status === 'ok' || r.status === 'refused');
    }), { numRuns: 300 });
  } finally { pki.remove(); }
});
