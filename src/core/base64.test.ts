import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeBase64Strict } from './base64.js';

test('A1 P3 strict base64: malformed-input table (each row says why)', () => {
  const rows: [string, string, string | null][] = [
    ['canonical, no padding needed', 'YWJj', 'abc'],
    ['canonical, one pad character', 'YWI=', 'ab'],
    ['canonical, two pad characters', 'YQ==', 'a'],
    ['empty text is zero bytes', '', ''],
    ['length 1 mod 4 can never be base64', 'YWJjZ', null],
    ['padding alone encodes nothing', '====', null],
    ['text after the padding: Node stops at "=" and would drop it', 'YQ==YQ==', null],
    ['a MIME line break inside: Node skips it, so "YW\\nJj" would equal "YWJj"', 'YW\nJj', null],
    ['a space inside: skipped by Node the same way', 'YW Jj', null],
    ['base64url "-" and "_": another alphabet, another spelling of the same bytes', 'Y-_j', null],
    ['unused bits set in a one-pad group: "YWJ=" would also read as "ab"', 'YWJ=', null],
    ['unused bits set in a two-pad group: "YR==" would also read as "a"', 'YR==', null],
    ['missing padding: a second spelling of the same bytes', 'YQ', null],
    ['a non-ASCII letter', 'YW\u00e9j', null],
  ];
  for (const [why, text, expected] of rows) {
    const got = decodeBase64Strict(text);
    assert.equal(got === null ? null : got.toString('latin1'), expected, why);
  }
});

test('A1 P3 strict base64 fuzz: every byte string round-trips; any text decodes to null or to bytes whose encoding is that text', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
    const b = Buffer.from(bytes);
    assert.deepEqual(decodeBase64Strict(b.toString('base64')), b);
  }), { numRuns: 500 });
  const alphabet = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \r\n\u00e9'.split(''));
  for (const text of [fc.string({ unit: alphabet, maxLength: 64 }), fc.string({ unit: 'binary', maxLength: 64 })]) {
    fc.assert(fc.property(text, (s) => {
      const got = decodeBase64Strict(s);
      if (got !== null) assert.equal(got.toString('base64'), s);
    }), { numRuns: 2000 });
  }
});
