// W3, S1: what Mailward writes, it (and CommuniGate Pro) reads back unchanged: a property test over
// arbitrary values in both layouts, and the serializer's own rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FORMAT_MAX_DEPTH } from '../../core/limits.js';
import { isMailwardError } from '../../core/errors.js';
import { DataBlock, IpAddress, TIME_FUTURE_MS, TIME_PAST_MS, dict, parse, parseDictionary, serialize, type CgValue } from './index.js';
import { cgKey, cgString, cgValue } from './testing/arbitrary.js';

/** Runs per property: enough to reach deep nesting and rare characters, fast on 2 cores. */
const RUNS = 2000;

void test('W3 S1: round trip: parse(serialize(v)) deep-equals v for arbitrary values, compact and pretty', () => {
  fc.assert(fc.property(cgValue, (v) => {
    assert.deepStrictEqual(parse(serialize(v)), v);
    assert.deepStrictEqual(parse(serialize(v, { pretty: true })), v);
  }), { numRuns: RUNS });
});

void test('W3 S1: round trip of settings-file shaped dictionaries through parseDictionary', () => {
  const settings = fc.array(fc.tuple(cgKey, cgValue), { maxLength: 12 }).map((e) => dict(e));
  fc.assert(fc.property(settings, (d) => {
    assert.deepStrictEqual(parseDictionary(serialize(d, { pretty: true })), d);
    assert.deepStrictEqual(parseDictionary(serialize(d)), d);
  }), { numRuns: RUNS / 2 });
});

void test('W3: compact output is one line; pretty output has no raw control character inside a string', () => {
  fc.assert(fc.property(cgValue, (v) => {
    const c = serialize(v);
    assert.ok(!/[\r\n]/.test(c), `compact output has a line break: ${JSON.stringify(c)}`);
    // Both layouts: the only control characters are the pretty layout's own LF; nothing invisible.
    const hidden = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;
    assert.ok(!hidden.test(c), JSON.stringify(c));
    assert.ok(!hidden.test(serialize(v, { pretty: true })));
  }), { numRuns: RUNS / 2 });
});

void test('W3: strings: atoms only for letters and digits, documented escapes otherwise', () => {
  assert.equal(serialize('MyName'), 'MyName');
  assert.equal(serialize('My2ndName'), 'My2ndName');
  assert.equal(serialize(''), '""');
  assert.equal(serialize('user@example.com'), '"user@example.com"', 'quoted although the parser reads it unquoted: CommuniGate documents letters and digits');
  assert.equal(serialize('a "b" \\ c'), '"a \\"b\\" \\\\ c"');
  assert.equal(serialize('L1\nL2\r\tx'), '"L1\\eL2\\r\\tx"', 'LF is written as \\e, CommuniGate\'s end of line');
  assert.equal(serialize('\0\x01\x1f\x7f'), '"\\000\\001\\031\\127"');
  assert.equal(serialize('Grüße 世界 😀'), '"Grüße 世界 😀"', 'UTF-8 text is written as is');
  assert.equal(serialize('a\u202eb'), '"a\\226\\128\\174b"', 'a bidi override is shown, not obeyed');
  assert.equal(serialize('\x85'), '"\\194\\133"');
  assert.equal(serialize('#NULL#'), '"#NULL#"');
});

void test('W3: numbers, null, dates, data blocks, IP addresses', () => {
  assert.equal(serialize(0), '#0');
  assert.equal(serialize(-0), '#0');
  assert.equal(serialize(-17), '#-17');
  assert.equal(serialize(Number.MAX_SAFE_INTEGER), '#9007199254740991');
  assert.equal(serialize(null), '#NULL#');
  assert.equal(serialize(new Date(Date.UTC(2006, 9, 22, 12, 34, 56))), '#T22-10-2006_12:34:56');
  assert.equal(serialize(new Date(Date.UTC(2006, 9, 22, 12, 34, 56, 999))), '#T22-10-2006_12:34:56', 'milliseconds are dropped');
  assert.equal(serialize(new Date('0001-02-03T04:05:06Z')), '#T03-02-0001_04:05:06');
  assert.equal(serialize(new Date(TIME_PAST_MS)), '#TPAST');
  assert.equal(serialize(new Date(TIME_FUTURE_MS)), '#TFUTURE');
  assert.equal(serialize(new DataBlock(Buffer.from([0x1d, 0xca, 0x87, 0x7c, 0x72]))), '[HcqHfHI=]');
  assert.equal(serialize(new DataBlock(new Uint8Array())), '[]');
  assert.equal(serialize(new IpAddress('192.0.2.1')), '#I[192.0.2.1]');
  assert.equal(serialize(new IpAddress('2001:db8::1', 993)), '#I[2001:db8::1]:993');
});

void test('W3: compact layout is the CLI\'s; pretty layout puts each entry on its own indented line', () => {
  const v = dict({
    RealName: 'John Smith', AccessModes: ['Mail', 'POP', 'IMAP'], Empty: dict(), None: [],
    Rules: [[1, 'Rule 1', dict({ Action: 'Stop' })]],
    Cert: new DataBlock(Buffer.alloc(100, 7)),
  });
  assert.equal(serialize(v),
    '{RealName="John Smith";AccessModes=(Mail,POP,IMAP);Empty={};None=();Rules=((#1,"Rule 1",{Action=Stop;}));' +
    `Cert=[${Buffer.alloc(100, 7).toString('base64')}];}`);
  const b64 = Buffer.alloc(100, 7).toString('base64');
  assert.equal(serialize(v, { pretty: true }), [
    '{',
    '  RealName = "John Smith";',
    '  AccessModes = (Mail, POP, IMAP);',
    '  Empty = {};',
    '  None = ();',
    '  Rules = (',
    '    (',
    '      #1,',
    '      "Rule 1",',
    '      {',
    '        Action = Stop;',
    '      }',
    '    )',
    '  );',
    '  Cert = [',
    `    ${b64.slice(0, 76)}`,
    `    ${b64.slice(76)}`,
    '  ];',
    '}',
    '',
  ].join('\n'));
});

void test('W3: values outside the format are refused as bugs, deep or cyclic values as format.limit', () => {
  const bad: unknown[] = [Number.NaN, Infinity, 1.5, 2 ** 53, undefined, () => 1, Symbol('s'), 10n, new Date(Number.NaN),
    new Date('+010000-01-01T00:00:00Z'), '\ud800', 'a\udc00', new Map(), Buffer.from('x'), true];
  for (const b of bad) {
    assert.throws(() => serialize(b as CgValue), (e: unknown) => isMailwardError(e, 'internal'), String(typeof b));
    assert.throws(() => serialize([dict({ k: b as CgValue })], { pretty: true }), (e: unknown) => isMailwardError(e, 'internal'));
  }
  let deep: CgValue = 'x';
  for (let i = 0; i < FORMAT_MAX_DEPTH; i++) deep = [deep];
  assert.deepStrictEqual(parse(serialize(deep)), deep, 'the deepest legal value round-trips');
  assert.throws(() => serialize([deep]), (e: unknown) => isMailwardError(e, 'format.limit'));
  const cyclic: CgValue[] = [];
  cyclic.push(cyclic);
  assert.throws(() => serialize(cyclic), (e: unknown) => isMailwardError(e, 'format.limit'));
  const d = dict();
  d.self = d;
  assert.throws(() => serialize(d, { pretty: true }), (e: unknown) => isMailwardError(e, 'format.limit'));
});

void test('W3: plain objects serialize like dictionaries and come back as null-prototype ones', () => {
  const plain = { a: 'b', n: [1] } as Record<string, CgValue>;
  assert.deepStrictEqual(parse(serialize(plain)), dict({ a: 'b', n: [1] }));
});

void test('W3: any string survives as a dictionary key and as a value', () => {
  fc.assert(fc.property(cgString, cgString, (k, s) => {
    const d = dict([[k, s]]);
    assert.deepStrictEqual(parse(serialize(d)), d);
  }), { numRuns: RUNS });
});
