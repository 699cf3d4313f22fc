// W3, S1: a megabyte of valid text parses in bounded time, and a megabyte of hostile text fails fast.
// The bounds are generous guards against quadratic behaviour, not benchmarks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FORMAT_MAX_DEPTH } from '../../core/limits.js';
import { DataBlock, FormatError, dict, isDict, parse, parseDictionary, serialize, type CgDict, type CgValue } from './index.js';

const MB = 1024 * 1024;
/** Far above what 1 MB takes when parsing is linear (tens of ms), far below what quadratic takes. */
const BOUND_MS = 2000;

function timed<T>(f: () => T): { value: T; ms: number } {
  const started = performance.now();
  const value = f();
  return { value, ms: performance.now() - started };
}

function bigDocument(): { text: string; expected: CgDict } {
  const d = dict();
  // Many small entries: the common shape of a big settings file.
  for (let i = 0; i < 8000; i++) d[`Key${i}`] = dict({ RealName: `User number ${i} "quoted" \\ é`, Modes: ['Mail', 'POP', `#${i}`], Size: i });
  // Long strings with escapes all along, and a long data block.
  d.LongText = 'line of text with a tab\tand a quote " and a newline\n'.repeat(4000);
  d.LongAtom = 'a'.repeat(100_000);
  d.Blob = new DataBlock(Buffer.alloc(120_000, 0xa5));
  // Deep but legal nesting, many times.
  let deep: CgValue = 'bottom';
  for (let i = 1; i < FORMAT_MAX_DEPTH; i++) deep = i % 2 === 0 ? [deep] : dict({ k: deep });
  for (let i = 0; i < 200; i++) d[`Deep${i}`] = deep;
  return { text: serialize(d, { pretty: true }), expected: d };
}

void test('W3 S1: over 1 MB of valid settings (many entries, long strings, deep nesting) parses well within the bound', (t) => {
  const { text, expected } = bigDocument();
  assert.ok(text.length > MB, `document is ${text.length} chars`);
  const { value, ms } = timed(() => parseDictionary(text, { source: 'big.settings' }));
  assert.ok(ms < BOUND_MS, `parse took ${ms.toFixed(0)} ms`);
  assert.deepStrictEqual(value, expected);
  const compact = serialize(expected);
  const again = timed(() => parse(compact));
  assert.ok(again.ms < BOUND_MS, `compact parse took ${again.ms.toFixed(0)} ms`);
  assert.ok(isDict(again.value));
  const written = timed(() => serialize(expected, { pretty: true }));
  assert.ok(written.ms < BOUND_MS, `serialize took ${written.ms.toFixed(0)} ms`);
  t.diagnostic(`pretty ${text.length} chars parsed in ${ms.toFixed(0)} ms; compact ${compact.length} chars in ${again.ms.toFixed(0)} ms; serialized in ${written.ms.toFixed(0)} ms`);
});

interface Hostile { name: string; text: string; code: 'format.syntax' | 'format.limit' }

const N = 1_000_000;
const HOSTILE: Hostile[] = [
  { name: '1e6 opening parentheses (stack exhaustion of a recursive parser)', text: '('.repeat(N), code: 'format.limit' },
  { name: '1e6 opening braces with keys', text: '{a='.repeat(N / 3), code: 'format.limit' },
  { name: 'an unterminated string of 1e6 characters', text: '"' + 'a'.repeat(N), code: 'format.syntax' },
  { name: 'an unterminated string full of escapes', text: '"' + '\\\\'.repeat(N / 2), code: 'format.syntax' },
  { name: 'an unterminated data block', text: '[' + 'QUJD'.repeat(N / 4), code: 'format.syntax' },
  { name: 'an unterminated comment', text: '{ /*' + ' *'.repeat(N / 2), code: 'format.syntax' },
  { name: '1e6 digits after #', text: '#' + '9'.repeat(N), code: 'format.limit' },
  { name: '1e6 adjacent quoted strings, then garbage', text: '"a" '.repeat(N / 4) + '!', code: 'format.syntax' },
  { name: 'an array of 500,000 elements missing its close', text: '(' + 'a,'.repeat(N / 2) + 'a', code: 'format.syntax' },
  { name: 'a dictionary whose last key repeats the first', text: '{' + Array.from({ length: 100_000 }, (_, i) => `k${i}=v;`).join('') + 'k0=v;}', code: 'format.syntax' },
  { name: '1e6 line breaks then an error (position computed once)', text: '{' + '\n'.repeat(N) + '}}', code: 'format.syntax' },
  { name: 'a long comment-only file', text: '// x\n'.repeat(N / 5), code: 'format.syntax' },
];

void test('W3 S1: about 1 MB of hostile input fails fast with FormatError', (t) => {
  for (const h of HOSTILE) {
    const { value: error, ms } = timed(() => { try { parse(h.text); return undefined; } catch (e) { return e; } });
    assert.ok(error instanceof FormatError, `${h.name}: ${String(error)}`);
    assert.equal(error.code, h.code, `${h.name}: ${error.message}`);
    assert.ok(ms < BOUND_MS, `${h.name} took ${ms.toFixed(0)} ms`);
    t.diagnostic(`${h.name}: ${h.text.length} chars, ${error.code} in ${ms.toFixed(1)} ms`);
  }
});
