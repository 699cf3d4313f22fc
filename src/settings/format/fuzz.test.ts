// W3, S1: hostile input (random text, and valid documents with bytes inserted, deleted or flipped)
// only ever yields a value or a FormatError with a sane position: no other exception, no hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FormatError, parse, parseDictionary, serialize, type CgValue } from './index.js';
import { cgValue } from './testing/arbitrary.js';

/** Runs per property: thousands of inputs per kind, a few seconds in all on 2 cores. */
const RUNS = 3000;
/** No single parse of these small inputs may take longer: a hang or a blow-up shows here. */
const SLOW_MS = 250;

/** The characters the grammar reacts to, so random text reaches deep into the parser. */
const SYNTAX = ['{', '}', '(', ')', '[', ']', '"', '\\', '=', ';', ',', '#', 'T', 'I', 'NULL', '#NULL#', '#T', '#I[',
  '/', '*', '//', '/*', '*/', '\n', '\r', ' ', '\t', '-', '_', ':', '0', '1', '9', 'a', 'Z', '.', '@', '<', '\ufeff',
  '\ud800', '\udc00', '😀', '\0', '\x7f', 'e', 'r', 'n', 't', '255', '256', '=='];

/** Parses and checks the outcome; returns what happened, for statistics. */
function attempt(text: string, dictionary: boolean): 'value' | 'error' {
  const source = 'fuzz.settings';
  const started = performance.now();
  try {
    const v = dictionary ? parseDictionary(text, { source }) : parse(text, { source });
    // A value that came out must be writable and read back the same.
    assert.deepStrictEqual(parse(serialize(v as CgValue)), v);
    return 'value';
  } catch (e) {
    if (!(e instanceof FormatError)) throw new Error(`not a FormatError for ${JSON.stringify(text)}: ${String(e)}`, { cause: e });
    assert.ok(e.code === 'format.syntax' || e.code === 'format.limit');
    const lines = text.split(/\r\n|\r|\n/);
    assert.ok(Number.isInteger(e.line) && e.line >= 1 && e.line <= lines.length, `line ${e.line} of ${lines.length}`);
    const lineLength = [...(lines[e.line - 1] ?? '')].length;
    assert.ok(Number.isInteger(e.column) && e.column >= 1 && e.column <= lineLength + 1, `column ${e.column} of ${lineLength}`);
    assert.equal(e.source, source);
    assert.ok(e.message.startsWith(`${source}:${e.line}:${e.column}: `));
    return 'error';
  } finally {
    const took = performance.now() - started;
    assert.ok(took < SLOW_MS, `parse of ${text.length} chars took ${took.toFixed(1)} ms`);
  }
}

const syntaxSoup = fc.array(fc.constantFrom(...SYNTAX), { maxLength: 60 }).map((a) => a.join(''));

void test('W3 S1: fuzz: random text gives a value or a FormatError, never anything else', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 80 }), fc.boolean(), (s, d) => { attempt(s, d); }), { numRuns: RUNS });
  fc.assert(fc.property(fc.string({ unit: 'binary-ascii', maxLength: 80 }), fc.boolean(), (s, d) => { attempt(s, d); }), { numRuns: RUNS });
});

void test('W3 S1: fuzz: random sequences of the grammar\'s own tokens', () => {
  let values = 0;
  fc.assert(fc.property(syntaxSoup, fc.boolean(), (s, d) => { if (attempt(s, d) === 'value') values++; }), { numRuns: RUNS * 2 });
  assert.ok(values > 0, 'some token soups are valid, so the fuzzer reaches past the first error');
});

type Mutation = { kind: 'insert'; at: number; text: string } | { kind: 'delete'; at: number; count: number } | { kind: 'flip'; at: number; bit: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...SYNTAX), fc.string({ unit: 'binary', maxLength: 3 })) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 15 }) }),
);

function mutate(text: string, ms: Mutation[]): string {
  let t = text;
  for (const m of ms) {
    const at = t.length === 0 ? 0 : m.at % (t.length + 1);
    if (m.kind === 'insert') t = t.slice(0, at) + m.text + t.slice(at);
    else if (m.kind === 'delete') t = t.slice(0, at) + t.slice(at + m.count);
    else if (at < t.length) t = t.slice(0, at) + String.fromCharCode(t.charCodeAt(at) ^ (1 << m.bit)) + t.slice(at + 1);
  }
  return t;
}

void test('W3 S1: fuzz: valid documents with bytes inserted, deleted or flipped', () => {
  const outcomes = { value: 0, error: 0 };
  fc.assert(fc.property(cgValue, fc.boolean(), fc.array(mutation, { minLength: 1, maxLength: 4 }), (v, pretty, ms) => {
    const text = mutate(serialize(v, { pretty }), ms);
    outcomes[attempt(text, false)]++;
    attempt(text, true);
  }), { numRuns: RUNS });
  assert.ok(outcomes.error > RUNS / 10 && outcomes.value > RUNS / 20, `mutations should both break and keep documents: ${JSON.stringify(outcomes)}`);
});

void test('W3 S1: fuzz: every prefix of a valid document parses or fails cleanly (a file cut short by a crash)', () => {
  fc.assert(fc.property(cgValue, fc.boolean(), (v, pretty) => {
    const text = serialize(v, { pretty });
    for (let i = 0; i < text.length; i += Math.max(1, Math.floor(text.length / 40))) attempt(text.slice(0, i), false);
  }), { numRuns: RUNS / 10 });
});
