// T5-T7: the PEM reader behind every paste (keys, certificates, chains).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePem, toPem, PEM_MAX_BLOCKS, PEM_MAX_INPUT } from './pem.js';

const der = Buffer.from('3003020101', 'hex');
const good = toPem('CERTIFICATE', der);

test('T6: a block round-trips, text around blocks is ignored, CRLF and indentation accepted', () => {
  const pasted = `Bag Attributes\r\n  friendlyName: x\r\n  ${good.replace(/\n/g, '\r\n  ')}trailing words\n${toPem('PRIVATE KEY', Buffer.from([1, 2, 3]))}`;
  const r = parsePem(pasted);
  assert.equal(r.status, 'ok');
  if (r.status !== 'ok') return;
  assert.deepEqual(r.blocks.map((b) => b.label), ['CERTIFICATE', 'PRIVATE KEY']);
  assert.deepEqual(r.blocks[0]?.der, der);
});

test('T5: RFC 1421 headers of legacy encrypted keys are read', () => {
  const text = '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\nMAMCAQE=\n-----END RSA PRIVATE KEY-----\n';
  const r = parsePem(text);
  assert.equal(r.status, 'ok');
  if (r.status === 'ok') assert.equal(r.blocks[0]?.headers['proc-type'], '4,ENCRYPTED');
});

// Each row: input, why the row exists.
const malformed: Array<[string, string]> = [
  ['-----BEGIN CERTIFICATE-----\nMAMCAQE=\n', 'a block cut off before its END line (truncated paste)'],
  ['-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END PRIVATE KEY-----\n', 'mismatched END label: two pastes run together'],
  ['-----END CERTIFICATE-----\n', 'an END line alone: the top of the paste is missing'],
  ['-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n', 'an empty block would decode to zero bytes'],
  ['-----BEGIN CERTIFICATE-----\nMAMC*QE=\n-----END CERTIFICATE-----\n', 'non-base64 characters: Buffer.from would silently skip them'],
  ['-----BEGIN CERTIFICATE-----\nMAMCAQ\n-----END CERTIFICATE-----\n', 'base64 of a length no encoder produces (lost characters)'],
  ['-----BEGIN CERTIFICATE-----\nMA==MCAQE=\n-----END CERTIFICATE-----\n', 'padding in the middle: two blocks glued together'],
  ['-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----BEGIN CERTIFICATE-----\n', 'a BEGIN inside a block'],
  [good.repeat(PEM_MAX_BLOCKS + 1), 'more blocks than any real chain: bounds the signature checks that follow'],
  ['x'.repeat(PEM_MAX_INPUT + 1), 'an oversized paste is refused before it is scanned'],
];
for (const [input, why] of malformed) {
  test(`T6: malformed PEM is an error value: ${why}`, () => {
    const r = parsePem(input);
    assert.equal(r.status, 'error', why);
  });
}

test('T6: no blocks at all is not an error for the reader (callers say what was missing)', () => {
  assert.deepEqual(parsePem('just text'), { status: 'ok', blocks: [] });
});

test('T6: fuzz: hostile text only ever yields ok or error values', () => {
  const pieces = fc.constantFrom('-----BEGIN CERTIFICATE-----', '-----END CERTIFICATE-----', '-----BEGIN X-----', '\n', '\r\n', 'MAMCAQE=', '====', 'Proc-Type: 4,ENCRYPTED', ':', '-----', 'AAAA', ' ');
  fc.assert(fc.property(fc.array(fc.oneof(pieces, fc.string({ maxLength: 20 })), { maxLength: 40 }), (parts) => {
    const r = parsePem(parts.join(''));
    assert.ok(r.status === 'ok' || r.status === 'error');
    if (r.status === 'ok') for (const b of r.blocks) assert.ok(b.der.length > 0);
  }), { numRuns: 2000 });
});
