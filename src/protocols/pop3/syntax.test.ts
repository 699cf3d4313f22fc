// The POP3 line parser: what parses, the malformed-input table (each row says why), and fuzzing
// that shows hostile octets only produce clean values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { POP3_MAX_KEYWORD } from './limits.js';
import { parsePop3Line, printableArgs } from './syntax.js';

test('POP3 syntax: well-formed lines', () => {
  const rows: [string, string, string, string[], string][] = [
    ['CAPA', 'CAPA', '', [], 'no argument'],
    ['capa', 'CAPA', '', [], 'keywords are case-insensitive'],
    ['USER alice', 'USER', 'alice', ['alice'], 'one argument'],
    ['APOP clara 0123', 'APOP', 'clara 0123', ['clara', '0123'], 'two arguments'],
    ['PASS with  two  spaces ', 'PASS', 'with  two  spaces ', ['with', '', 'two', '', 'spaces', ''], 'PASS keeps the raw rest; the split shows empty arguments'],
    ['AUTH PLAIN =', 'AUTH', 'PLAIN =', ['PLAIN', '='], 'empty initial response'],
  ];
  for (const [input, keyword, rest, args, why] of rows) {
    const r = parsePop3Line(Buffer.from(input, 'latin1'));
    assert.ok(r.ok, why);
    if (!r.ok) continue;
    assert.equal(r.line.keyword, keyword, why);
    assert.equal(r.line.rest.toString('latin1'), rest, why);
    assert.deepEqual(r.line.args, args, why);
  }
  assert.equal(printableArgs(['PLAIN', '=']), true);
  assert.equal(printableArgs(['PLAIN', '']), false, 'an empty argument is two spaces in a row');
  assert.equal(printableArgs(['PL\x01AIN']), false);
});

test('POP3 syntax: malformed-input table (each row says why it exists)', () => {
  const rows: [Buffer, string, string][] = [
    [Buffer.from(''), 'empty line', 'an empty line is not a command'],
    [Buffer.from(' CAPA'), 'line starts with a space', 'a leading space leaves no keyword'],
    [Buffer.from('CAPA '), 'trailing space', 'a keyword followed by nothing: ambiguous (PASS with an empty password)'],
    [Buffer.from('CA1PA'), 'invalid keyword', 'keywords are letters only'],
    [Buffer.from('C\x01APA'), 'invalid keyword', 'control character in the keyword'],
    [Buffer.from('\xffCAPA', 'latin1'), 'invalid keyword', '8-bit octet in the keyword'],
    [Buffer.from('X'.repeat(POP3_MAX_KEYWORD + 1)), 'invalid keyword', 'over-long keyword: garbage, not a command'],
    [Buffer.from('PASS a\0b', 'latin1'), 'NUL in arguments', 'NUL is never valid, not even in a password'],
    [Buffer.from('\r'), 'invalid keyword', 'a bare CR left by a sloppy client'],
  ];
  for (const [input, reason, why] of rows) {
    const r = parsePop3Line(input);
    assert.deepEqual(r, { ok: false, reason }, why);
  }
});

test('POP3 syntax fuzz: random octets never throw; a parsed line keeps its octets', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (a) => {
    const input = Buffer.from(a);
    const r = parsePop3Line(input);
    if (!r.ok) { assert.ok(r.reason.length > 0); return; }
    assert.match(r.line.keyword, /^[A-Z]{1,16}$/);
    if (r.line.rest.length > 0) assert.ok(Buffer.concat([Buffer.from(`${r.line.keyword} `), r.line.rest]).equals(Buffer.from(input.toString('latin1').replace(/^[A-Za-z]+/, (k) => k.toUpperCase()), 'latin1')));
    assert.ok(!r.line.rest.includes(0));
  }), { numRuns: 5000 });
});
