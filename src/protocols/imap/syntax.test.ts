// The IMAP command assembler and scanner: what parses, what is refused and why, and fuzzing that
// shows hostile lines only produce clean values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IMAP_MAX_COMMAND_BYTES, IMAP_MAX_LITERAL, IMAP_MAX_LITERALS_PER_COMMAND, IMAP_MAX_TAG_LENGTH } from './limits.js';
import { feedLine, feedLiteral, type AssembleResult, type PendingCommand, type Token } from './syntax.js';

/** Runs a whole command: each element is a line; literals requested are taken from `literals`. */
function run(lines: Array<string | Buffer>, literals: Buffer[] = []): AssembleResult {
  let pending: PendingCommand | null = null;
  const lits = [...literals];
  for (const l of lines) {
    const r = feedLine(pending, typeof l === 'string' ? Buffer.from(l, 'latin1') : l);
    if (r.kind !== 'literal') return r;
    const data = lits.shift();
    if (!data) return r;
    const next = feedLiteral(r.pending, data);
    if ('kind' in next) throw new Error(next.reason);
    pending = next;
  }
  throw new Error('ran out of lines');
}

const str = (t: Token): unknown => (t.type === 'atom' ? t.value : t.type === 'string' ? `"${t.value.toString('latin1')}"` : t.items.map(str));

test('IMAP syntax: well-formed commands', () => {
  const rows: [string, Array<string | Buffer>, Buffer[], string, string, unknown[]][] = [
    ['no arguments', ['a1 NOOP'], [], 'a1', 'NOOP', []],
    ['case-insensitive name', ['a1 noOp'], [], 'a1', 'NOOP', []],
    ['`]` is allowed in tags (ASTRING-CHAR)', ['a]1 NOOP'], [], 'a]1', 'NOOP', []],
    ['atoms', ['t LOGIN alice secret'], [], 't', 'LOGIN', ['alice', 'secret']],
    ['quoted with escapes', ['t LOGIN "a b" "q\\"\\\\"'], [], 't', 'LOGIN', ['"a b"', '"q"\\"']],
    ['empty quoted string', ['t LOGIN "" ""'], [], 't', 'LOGIN', ['""', '""']],
    ['8-bit UTF-8 in a quoted string (RFC 9051 utf8-quoted)', [Buffer.from('t LOGIN "jörg" x', 'utf8')], [], 't', 'LOGIN', [`"${Buffer.from('jörg').toString('latin1')}"`, 'x']],
    ['synchronizing literals', ['t LOGIN {5}', ' {3}', ''], [Buffer.from('alice'), Buffer.from('p w')], 't', 'LOGIN', ['"alice"', '"p w"']],
    ['non-synchronizing literal', ['t LOGIN {5+}', ' x'], [Buffer.from('al\r\nc')], 't', 'LOGIN', ['"al\r\nc"', 'x']],
    ['empty literal', ['t LOGIN {0}', ' x'], [Buffer.alloc(0)], 't', 'LOGIN', ['""', 'x']],
    ['leading zeros in a literal size', ['t LOGIN {005}', ' x'], [Buffer.from('alice')], 't', 'LOGIN', ['"alice"', 'x']],
    ['list', ['t ID ("name" "x" "v" NIL)'], [], 't', 'ID', [['"name"', '"x"', '"v"', 'NIL']]],
    ['empty list', ['t ID ()'], [], 't', 'ID', [[]]],
    ['literal inside a list', ['t ID ("name" {2}', ')'], [Buffer.from('ab')], 't', 'ID', [['"name"', '"ab"']]],
    ['base64 initial response is an atom', ['t AUTHENTICATE PLAIN AGFsaWNlAHB3'], [], 't', 'AUTHENTICATE', ['PLAIN', 'AGFsaWNlAHB3']],
    ['"=" initial response', ['t AUTHENTICATE PLAIN ='], [], 't', 'AUTHENTICATE', ['PLAIN', '=']],
  ];
  for (const [why, lines, lits, tag, name, args] of rows) {
    const r = run(lines, lits);
    assert.equal(r.kind, 'command', `${why}: ${JSON.stringify(r)}`);
    if (r.kind !== 'command') continue;
    assert.equal(r.command.tag, tag, why);
    assert.equal(r.command.name, name, why);
    assert.deepEqual(r.command.args.map(str), args, why);
  }
});

test('IMAP syntax: malformed-input table (each row says why it exists)', () => {
  const rows: [Array<string | Buffer>, Buffer[], string, boolean, string][] = [
    // [lines, literals, reason, closes, why this row exists]
    [[''], [], 'missing or invalid tag', false, 'an empty line has no tag: answered with an untagged BAD'],
    [['+1 NOOP'], [], 'missing or invalid tag', false, '"+" cannot be in a tag (it would read as a continuation)'],
    [['a*b NOOP'], [], 'invalid tag', false, 'list wildcards are not tag characters; the tag is not echoed'],
    [['a1'], [], 'missing command', false, 'a tag alone'],
    [['a1 '], [], 'missing command name', false, 'a trailing space and no name'],
    [['a1  NOOP'], [], 'missing command name', false, 'two spaces: RFC 9051 has exactly one'],
    [['a1 NOOP '], [], 'expected a value', false, 'trailing space after the name'],
    [['a1 LOGIN a  b'], [], 'unexpected character', false, 'double space between arguments'],
    [[`${'t'.repeat(IMAP_MAX_TAG_LENGTH + 1)} NOOP`], [], 'tag too long', false, 'tags are echoed: bounded against amplification'],
    [['a1 LOGIN "abc'], [], 'unterminated quoted string', false, 'quote never closed'],
    [['a1 LOGIN "a\\b" x'], [], 'invalid escape in quoted string', false, 'only \\" and \\\\ are escapes'],
    [['a1 LOGIN "a\\'], [], 'invalid escape in quoted string', false, 'a backslash at the very end'],
    [[Buffer.from('a1 LOGIN "a\0b" x', 'latin1')], [], 'control character in quoted string', false, 'NUL is never part of a quoted string'],
    [[Buffer.from('a1 LOGIN "a\rb" x', 'latin1')], [], 'control character in quoted string', false, 'a bare CR in a quoted string'],
    [['a1 LOGIN {5}x'], [], 'literal marker not at end of line', false, 'the literal octets follow CRLF, nothing may follow the marker'],
    [['a1 LOGIN {}'], [], 'invalid literal', false, 'no size'],
    [['a1 LOGIN {-1}'], [], 'invalid literal', false, 'negative size'],
    [['a1 LOGIN {5++}'], [], 'invalid literal', false, 'double plus'],
    [['a1 LOGIN {1x}'], [], 'invalid literal', false, 'letters in the size'],
    [[`a1 LOGIN {${IMAP_MAX_LITERAL + 1}}`], [], 'literal too large', false, 'synchronizing literal over the limit: refused before the client sends it'],
    [[`a1 LOGIN {${IMAP_MAX_LITERAL + 1}+}`], [], 'literal too large', true, 'LITERAL-: non-synchronizing over 4096 must close (the octets are coming)'],
    [['a1 LOGIN {1000000000000000000000000+}'], [], 'literal too large', true, 'a size that does not fit a number'],
    [['a1 LOGIN "x {3+}'], [], 'unterminated quoted string', true, 'malformed, but still ends in {n+}: the client sends 3 octets we must not read as a command'],
    [['a1 LOGIN {3}', ''], [Buffer.from('a\0b')], 'NUL in literal', false, 'CHAR8 excludes NUL'],
    [['a1 LOGIN {3}', 'x'], [Buffer.from('abc')], 'unexpected character', false, 'the literal must be followed by a space or the end'],
    [['a1 ID (("a"))'], [], 'ID', false, 'nesting is parsed (then refused by ID itself)'],
    [['a1 ID ((((("a")))))'], [], 'lists nested too deeply', false, 'depth bound'],
    [['a1 ID ("a"'], [], 'unterminated list', false, 'list not closed'],
    [['a1 ID "a")'], [], 'unexpected character', false, 'close without open'],
    [['a1 ID ( "a")'], [], 'unexpected character', false, 'space after ('],
    [[Buffer.from('a1 LOGIN al\xffce x', 'latin1')], [], 'unexpected character', false, '8-bit octets are not atom characters'],
    [['a1 LOGIN %'], [], 'unexpected character', false, 'list wildcard is not an atom'],
    [['a1 NO\x01OP'], [], 'unexpected character', false, 'control character in the name'],
  ];
  for (const [lines, lits, reason, closes, why] of rows) {
    const r = run(lines, lits);
    if (reason === 'ID') { assert.equal(r.kind, 'command', why); continue; }
    assert.equal(r.kind, 'bad', `${why}: ${JSON.stringify(r)}`);
    if (r.kind !== 'bad') continue;
    assert.equal(r.reason, reason, why);
    assert.equal(r.close, closes, why);
  }
});

test('IMAP syntax: limits on literals per command and on command size', () => {
  let r: AssembleResult = feedLine(null, Buffer.from('t ID ({1+}'));
  for (let i = 1; r.kind === 'literal'; i++) {
    r = feedLine(feedLiteral(r.pending, Buffer.from('x')) as PendingCommand, Buffer.from(' {1+}'));
    if (i > IMAP_MAX_LITERALS_PER_COMMAND + 1) break;
  }
  assert.deepEqual(r.kind === 'bad' && [r.reason, r.close], ['too many literals', true]);
  const big = feedLine(null, Buffer.from(`t ID ("${'x'.repeat(IMAP_MAX_COMMAND_BYTES)}")`));
  assert.deepEqual(big.kind === 'bad' && [big.code, big.close], ['TOOBIG', false]);
  const wrong = feedLine(null, Buffer.from('t LOGIN {3}'));
  assert.ok(wrong.kind === 'literal');
  assert.deepEqual(feedLiteral(wrong.pending, Buffer.from('ab')), { kind: 'bad', reason: 'literal of the wrong size' });
});

// ---- fuzzing ------------------------------------------------------------------------------------

test('IMAP syntax fuzz: random octets never throw and give a well-formed result', () => {
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 4 }), fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 4 }), (lines, lits) => {
    let pending: PendingCommand | null = null;
    for (const [i, l] of lines.entries()) {
      const r = feedLine(pending, Buffer.from(l));
      if (r.kind === 'command') { assert.ok(r.command.tag.length > 0 && r.command.name.length > 0); return; }
      if (r.kind === 'bad') { assert.ok(r.reason.length > 0); return; }
      assert.ok(r.pending.expect.size <= IMAP_MAX_LITERAL);
      const lit = Buffer.from(lits[i] ?? []);
      const next = feedLiteral(r.pending, lit);
      if ('kind' in next) { assert.notEqual(lit.length, r.pending.expect.size); return; }
      pending = next;
    }
  }), { numRuns: 3000 });
});

/** Arguments a client could send, with how it sends them. */
const argArb: fc.Arbitrary<{ wire: 'atom' | 'quoted' | 'sync' | 'nonsync'; value: Buffer }> = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9!#$&'+,\-./:;<=>?@^_`|~\]]{1,12}$/).map((s) => ({ wire: 'atom' as const, value: Buffer.from(s) })),
  fc.uint8Array({ maxLength: 20 }).map((a) => ({ wire: 'quoted' as const, value: Buffer.from(a.filter((c) => c !== 0 && c !== 13 && c !== 10)) })),
  fc.uint8Array({ maxLength: 40 }).map((a) => ({ wire: 'sync' as const, value: Buffer.from(a.map((c) => c || 1)) })),
  fc.uint8Array({ maxLength: 40 }).map((a) => ({ wire: 'nonsync' as const, value: Buffer.from(a.map((c) => c || 1)) })),
);

test('IMAP syntax fuzz: any command a client can write parses back to the same arguments', () => {
  fc.assert(fc.property(fc.array(argArb, { maxLength: 6 }), (args) => {
    const lines: Buffer[] = [];
    const lits: Buffer[] = [];
    let cur: Buffer[] = [Buffer.from('t1 LOGIN')];
    for (const a of args) {
      cur.push(Buffer.from(' '));
      if (a.wire === 'atom') cur.push(a.value);
      else if (a.wire === 'quoted') cur.push(Buffer.from('"'), Buffer.from([...a.value].flatMap((c) => (c === 0x22 || c === 0x5c ? [0x5c, c] : [c]))), Buffer.from('"'));
      else {
        cur.push(Buffer.from(`{${a.value.length}${a.wire === 'nonsync' ? '+' : ''}}`));
        lines.push(Buffer.concat(cur));
        lits.push(a.value);
        cur = [];
      }
    }
    lines.push(Buffer.concat(cur));
    const r = run(lines, lits);
    assert.equal(r.kind, 'command', JSON.stringify(r));
    if (r.kind !== 'command') return;
    assert.deepEqual(r.command.args.map((t) => (t.type === 'atom' ? Buffer.from(t.value, 'latin1') : t.type === 'string' ? t.value : null)), args.map((a) => a.value));
  }), { numRuns: 2000 });
});
