// W3, S1: the CommuniGate Pro text format is read as CommuniGate documents it, and every malformed
// input fails with a FormatError that says where.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FORMAT_MAX_DEPTH, FORMAT_MAX_INPUT } from '../../core/limits.js';
import { isMailwardError } from '../../core/errors.js';
import {
  DataBlock, FormatError, IpAddress, TIME_FUTURE_MS, TIME_PAST_MS, dict, isDict, lineColumn, parse, parseDictionary,
  type CgValue,
} from './index.js';

void test('W3 S1: examples from CommuniGate Pro "Data Formats" parse to the documented values', () => {
  // Strings section: atoms, quoted strings, each escape the documentation shows.
  assert.equal(parse('MyName'), 'MyName');
  assert.equal(parse('My2ndName'), 'My2ndName');
  assert.equal(parse('"My Name with spaces and the . symbol"'), 'My Name with spaces and the . symbol');
  assert.equal(parse('"a \\"string\\" within string"'), 'a "string" within string');
  assert.equal(parse('"Single \\\\ backslash"'), 'Single \\ backslash');
  assert.equal(parse('"Line1\\eLine2"'), 'Line1\nLine2');
  assert.equal(parse('"TEXT3\\rTEXT67\\nTEXT78"'), 'TEXT3\rTEXT67\nTEXT78');
  assert.equal(parse('"Line1:\\tField1\\tField2\\eLine2:\\tField1\\tField2"'), 'Line1:\tField1\tField2\nLine2:\tField1\tField2');
  assert.equal(parse('"Using the \\012 (Vertical Tabulation) symbol"'), 'Using the \x0c (Vertical Tabulation) symbol');
  // DataBlocks section: "[HcqHfHI=] ... 5 binary data bytes: 0x1D 0xCA 0x87 0x7C 0x72".
  const block = parse('[HcqHfHI=]');
  assert.ok(block instanceof DataBlock);
  assert.deepEqual([...block.bytes], [0x1d, 0xca, 0x87, 0x7c, 0x72]);
  // Array and dictionary syntax rules: white space (spaces, tabs, line breaks) anywhere between
  // elements; keys are strings, case-sensitive.
  assert.deepEqual(parse('( Element1 ,\t"Element 2",\n( nested ) )'), ['Element1', 'Element 2', ['nested']]);
  assert.deepEqual(parse('{ Key = Value; key = "other value" ;\n Sub = { A = ( 1, 2 ); }; }'),
    dict({ Key: 'Value', key: 'other value', Sub: dict({ A: ['1', '2'] }) }));
});

void test('W3: CLI texts as CommuniGate\'s own CLI client writes them (no spaces, #-objects) parse', () => {
  const v = parse('{AccessModes=(Mail,POP,IMAP,WebMail);RealName="John \\"Jack\\" Smith";MaxAccountSize=100M;' +
    'Created=#T05-03-2021_14:02:09;LastAddress=#I[192.0.2.7]:4321;Quota=#-1;Alias=#NULL#;}');
  assert.deepEqual(v, dict({
    AccessModes: ['Mail', 'POP', 'IMAP', 'WebMail'], RealName: 'John "Jack" Smith', MaxAccountSize: '100M',
    Created: new Date(Date.UTC(2021, 2, 5, 14, 2, 9)), LastAddress: new IpAddress('192.0.2.7', 4321), Quota: -1, Alias: null,
  }));
});

void test('W3: #-objects: numbers, timestamps, IP addresses, null', () => {
  assert.equal(parse('#0'), 0);
  assert.equal(parse('#007'), 7);
  assert.equal(parse('#-5'), -5);
  assert.ok(Object.is(parse('#-0'), 0), '#-0 is 0, not -0');
  assert.equal(parse('#9007199254740991'), Number.MAX_SAFE_INTEGER);
  assert.equal(parse('#-9007199254740991'), -Number.MAX_SAFE_INTEGER);
  assert.equal(parse('#NULL#'), null);
  assert.deepEqual(parse('#T22-10-2006_12:34:56'), new Date(Date.UTC(2006, 9, 22, 12, 34, 56)));
  assert.deepEqual(parse('#T29-02-2024'), new Date(Date.UTC(2024, 1, 29)), 'date only: midnight GMT');
  const y50 = new Date(0); y50.setUTCFullYear(50, 0, 1);
  assert.deepEqual(parse('#T01-01-0050_00:00:00'), y50, 'two-digit years are not mapped to 19xx');
  assert.equal((parse('#TPAST') as Date).getTime(), TIME_PAST_MS);
  assert.equal((parse('#TFUTURE') as Date).getTime(), TIME_FUTURE_MS);
  assert.deepEqual(parse('#I[10.0.44.55]'), new IpAddress('10.0.44.55'));
  assert.deepEqual(parse('#I[2001:db8::a:80f]:25'), new IpAddress('2001:db8::a:80f', 25));
  assert.deepEqual(parse('( #1, #T01-01-2000, #I[::1], #NULL# )'), [1, new Date(Date.UTC(2000, 0, 1)), new IpAddress('::1'), null]);
});

void test('W3: adjacent quoted strings and adjacent data blocks join (the CLI splits long ones)', () => {
  assert.equal(parse('"abc" "def"\n  "ghi"'), 'abcdefghi');
  assert.deepEqual(parse('{ "long" "key" = x; }'), dict({ longkey: 'x' }));
  assert.deepEqual((parse('[SGVs bG8=] \n [IQ==]') as DataBlock).bytes.toString(), 'Hello!');
  assert.deepEqual((parse('[]') as DataBlock).bytes.length, 0);
  assert.deepEqual((parse('[\n  SGVsbG8h\n  ]') as DataBlock).bytes.toString(), 'Hello!');
});

void test('W3: \\nnn escapes are bytes: runs from 128 up are UTF-8; non-ASCII text is UTF-8 as is', () => {
  assert.equal(parse('"\\208\\159\\209\\128\\208\\184\\208\\178\\208\\181\\209\\130"'), 'Привет');
  assert.equal(parse('"a\\065\\226\\130\\172b"'), 'aA€b');
  assert.equal(parse('"Grüße, 世界 😀"'), 'Grüße, 世界 😀');
  assert.equal(parse('"\\000"'), '\0');
  assert.equal(parse('"tab\there"'), 'tab\there', 'a raw TAB is printable enough');
});

void test('W3 S1: comments are white space: // to end of line and /* */; # is not a comment', () => {
  const text = [
    '// Mailward settings',
    '{',
    '  /* the real name',
    '     spans lines */',
    '  RealName = "A // not a comment /* either */"; // trailing',
    '  Keys = ( a /* inline */ , b );',
    '}',
    '// end',
  ].join('\n');
  assert.deepEqual(parseDictionary(text), dict({ RealName: 'A // not a comment /* either */', Keys: ['a', 'b'] }));
  assert.throws(() => parse('# a shell-style comment\n{}'), FormatError);
});

void test('W3 S1: dictionaries are null-prototype; __proto__ and constructor are plain keys', () => {
  const v = parseDictionary('{ __proto__ = { polluted = YES; }; constructor = x; "hasOwnProperty" = y; }');
  assert.equal(Object.getPrototypeOf(v), null);
  assert.deepEqual(Object.keys(v), ['__proto__', 'constructor', 'hasOwnProperty']);
  assert.ok(isDict(v.__proto__));
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
  assert.equal(v.constructor, 'x');
});

void test('W3: atoms: letters and digits, plus . _ - @ as CommuniGate\'s CLI clients read them', () => {
  assert.deepEqual(parse('( user@example.com, host-1.example.net, a_b, -1, 10M )'),
    ['user@example.com', 'host-1.example.net', 'a_b', '-1', '10M']);
  assert.deepEqual(parse('{ Dots.In.Key = 1; }'), dict({ 'Dots.In.Key': '1' }));
});

void test('W3: a byte-order mark at the start of a file is skipped; white space around the value is fine', () => {
  assert.deepEqual(parseDictionary('\ufeff{ A = b; }\r\n'), dict({ A: 'b' }));
  assert.equal(parse(' \t\r\n x \n'), 'x');
  assert.deepEqual(parse('{}'), dict());
  assert.deepEqual(parse('( )'), []);
});

void test('W3: lineColumn counts CR, LF and CRLF as one line end and columns in code points', () => {
  assert.deepEqual(lineColumn('a\r\nb\rc\nd', 7), { line: 4, column: 1 });
  assert.deepEqual(lineColumn('😀😀x', 4), { line: 1, column: 3 });
});

interface BadRow {
  input: string;
  /** Why this row exists: the mistake or attack it stands for. */
  why: string;
  line: number;
  column: number;
  code?: 'format.syntax' | 'format.limit';
  /** A word the message must contain, so the message helps. */
  says?: string;
  dictionary?: boolean;
}

const BAD: BadRow[] = [
  { input: '', why: 'an empty file is not an empty dictionary: a truncated write must not read as "no settings"', line: 1, column: 1, says: 'empty' },
  { input: '// only a comment\n', why: 'comments alone are still empty', line: 2, column: 1, says: 'empty' },
  { input: '{ a = b;', why: 'file cut short after an entry', line: 1, column: 9, says: 'unterminated' },
  { input: '{ a = b }', why: 'missing ; after the last value (JSON habit)', line: 1, column: 9, says: "';'" },
  { input: '{ a b; }', why: 'missing =', line: 1, column: 5, says: "'='" },
  { input: '{ a = ; }', why: 'a key without a value', line: 1, column: 7, says: 'value' },
  { input: '{ #1 = a; }', why: 'keys are strings, a number is not a key', line: 1, column: 3, says: 'key' },
  { input: 'abc def', why: 'trailing garbage after the one value', line: 1, column: 5, says: 'after the end' },
  { input: '{ k = 1;\n  k = 2; }', why: 'a duplicate key would let a later line silently override a setting', line: 2, column: 3, says: 'duplicate' },
  { input: '{ k = 1; "k" = 2; }', why: 'a quoted key equal to an atom key is the same key', line: 1, column: 10, says: 'duplicate' },
  { input: '{ a = "abc\n  ; }', why: 'unterminated string: the error is on its own line, not at end of file', line: 1, column: 11, says: 'line break' },
  { input: '"abc', why: 'unterminated string at end of input points at its opening quote', line: 1, column: 1, says: 'unterminated' },
  { input: '"a\\qb"', why: 'unknown escape (only the documented ones)', line: 1, column: 3, says: 'escape' },
  { input: '"abc\\', why: 'a backslash at the very end of input', line: 1, column: 1, says: 'unterminated' },
  { input: '"\\256"', why: '\\nnn is a byte: 256 does not fit', line: 1, column: 2, says: '255' },
  { input: '"\\12x"', why: '\\nnn needs three digits', line: 1, column: 2, says: 'three' },
  { input: '"caf\\233"', why: 'byte escapes from 128 up must be UTF-8 (here Latin-1 é), or text would be garbled', line: 1, column: 5, says: 'UTF-8' },
  { input: '"a\x01b"', why: 'a raw control character in a string (write \\nnn)', line: 1, column: 3, says: 'control' },
  { input: '"\ud800x"', why: 'an unpaired surrogate is not text and cannot be written as UTF-8', line: 1, column: 2, says: 'surrogate' },
  { input: '(a,)', why: 'a trailing comma in an array', line: 1, column: 4, says: 'value' },
  { input: '(a b)', why: 'a missing comma in an array', line: 1, column: 4, says: "','" },
  { input: '(a, b', why: 'an unterminated array', line: 1, column: 6, says: 'unterminated' },
  { input: '(a}', why: 'a closing brace that does not match', line: 1, column: 3, says: "')'" },
  { input: '{a=b;)', why: 'a closing parenthesis that does not match', line: 1, column: 6, says: 'key' },
  { input: '(a = b)', why: '= inside an array', line: 1, column: 4 },
  { input: '[ab$c]', why: 'a non-base64 character in a data block', line: 1, column: 4, says: 'base64' },
  { input: '[abcde]', why: 'a base64 length that cannot be', line: 1, column: 1, says: 'length' },
  { input: '[ab=c]', why: 'padding in the middle of a data block', line: 1, column: 1, says: 'padding' },
  { input: '[abc', why: 'an unterminated data block', line: 1, column: 1, says: 'unterminated' },
  { input: '{ /* note', why: 'an unterminated comment', line: 1, column: 3, says: 'comment' },
  { input: '{ / }', why: 'a lone slash is not a comment', line: 1, column: 3, says: 'key' },
  { input: '#9007199254740993', why: 'a number beyond 2^53 would silently lose precision', line: 1, column: 1, code: 'format.limit', says: 'range' },
  { input: '#12345678901234567890123', why: 'a long digit run stops at the limit', line: 1, column: 1, code: 'format.limit', says: 'range' },
  { input: '#', why: 'a lone #', line: 1, column: 1, says: "'#'" },
  { input: '#-', why: 'a sign without digits', line: 1, column: 1, says: 'digits' },
  { input: '#12.5', why: 'fractions are not numbers of this format', line: 1, column: 4 },
  { input: '#NUL', why: 'a misspelt #NULL#', line: 1, column: 1, says: "'#'" },
  { input: '#T31-02-2021', why: 'a date that does not exist', line: 1, column: 1, says: 'no such date' },
  { input: '#T01-01-2021_24:00:00', why: 'an hour that does not exist', line: 1, column: 1, says: 'no such date' },
  { input: '#T1-02-2021', why: 'a one-digit day', line: 1, column: 4, says: 'digits' },
  { input: '#T01/02/2021', why: 'the wrong separator', line: 1, column: 5, says: "'-'" },
  { input: '#TPASTX', why: 'PAST glued to an atom is not #TPAST', line: 1, column: 3, says: 'digits' },
  { input: '#I[1.2.3]', why: 'not an IPv4 address', line: 1, column: 1, says: 'IPv4' },
  { input: '#I[1.2.3.4]:70000', why: 'a port out of range', line: 1, column: 13, says: 'port' },
  { input: '#I[1.2.3.4', why: 'an unterminated address', line: 1, column: 1, says: 'unterminated' },
  { input: `#I[${'1'.repeat(100)}]`, why: 'an address too long to be one is not scanned to its end', line: 1, column: 1, says: 'too long' },
  { input: '<x/>', why: 'XML objects are a CommuniGate type Mailward does not support', line: 1, column: 1, says: 'XML' },
  { input: '{\r\n a = b\r\n}', why: 'CRLF files: positions count CRLF as one line end', line: 3, column: 1, says: "';'" },
  { input: '"😀😀" x', why: 'columns count characters, not UTF-16 units', line: 1, column: 6 },
  { input: '('.repeat(FORMAT_MAX_DEPTH + 1), why: 'nesting beyond FORMAT_MAX_DEPTH (stack/memory exhaustion)', line: 1, column: FORMAT_MAX_DEPTH + 1, code: 'format.limit', says: 'nesting' },
  { input: '(a)', why: 'a settings file must be a dictionary', line: 1, column: 1, dictionary: true, says: 'dictionary' },
  { input: '', why: 'an empty settings file', line: 1, column: 1, dictionary: true, says: 'empty' },
];

void test('W3 S1: malformed-input table: each row fails with FormatError at the expected line and column', () => {
  for (const row of BAD) {
    const label = `${JSON.stringify(row.input.slice(0, 40))} (${row.why})`;
    let caught: unknown;
    try {
      if (row.dictionary === true) parseDictionary(row.input, { source: 'row.settings' });
      else parse(row.input, { source: 'row.settings' });
    } catch (e) { caught = e; }
    assert.ok(caught instanceof FormatError, `no FormatError for ${label}: ${String(caught)}`);
    assert.equal(caught.code, row.code ?? 'format.syntax', `code for ${label}: ${caught.message}`);
    assert.deepEqual([caught.line, caught.column], [row.line, row.column], `position for ${label}: ${caught.message}`);
    assert.equal(caught.source, 'row.settings');
    assert.ok(caught.message.startsWith(`row.settings:${row.line}:${row.column}: `), caught.message);
    if (row.says !== undefined) assert.ok(caught.message.includes(row.says), `message for ${label} should say ${row.says}: ${caught.message}`);
    assert.ok(isMailwardError(caught, caught.code));
  }
});

void test('W3: deepest legal nesting parses; depth counts arrays and dictionaries alike', () => {
  let text = 'x';
  for (let i = 0; i < FORMAT_MAX_DEPTH; i++) text = i % 2 === 0 ? `(${text})` : `{k=${text};}`;
  let v: CgValue = parse(text);
  let depth = 0;
  while (v !== 'x') { v = Array.isArray(v) ? (v[0] as CgValue) : ((v as Record<string, CgValue>).k as CgValue); depth++; }
  assert.equal(depth, FORMAT_MAX_DEPTH);
});

void test('W3: errors without a source name start with line:column; error text never echoes the input', () => {
  try { parse('{ Password = "hunter2secret" x }'); assert.fail('no error'); }
  catch (e) {
    assert.ok(e instanceof FormatError);
    assert.equal(e.source, undefined);
    assert.match(e.message, /^1:30: /);
    assert.ok(!e.message.includes('hunter2'));
  }
  try { parse('\u202e'); assert.fail('no error'); }
  catch (e) { assert.ok(e instanceof FormatError); assert.ok(e.message.includes('U+202E'), e.message); }
});

void test('W3 S1: input over FORMAT_MAX_INPUT bytes is refused before parsing (format.limit)', () => {
  const big = ' '.repeat(FORMAT_MAX_INPUT) + 'x';
  assert.throws(() => parse(big), (e: unknown) => e instanceof FormatError && e.code === 'format.limit' && e.line === 1 && e.column === 1);
  // Fewer UTF-16 units than the limit but more UTF-8 bytes: the limit is in bytes.
  const wide = `"${'€'.repeat(Math.floor(FORMAT_MAX_INPUT / 3) + 1)}"`;
  assert.ok(wide.length < FORMAT_MAX_INPUT);
  assert.throws(() => parse(wide), (e: unknown) => e instanceof FormatError && e.code === 'format.limit');
});
