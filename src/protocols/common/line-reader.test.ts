import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { INPUT_LIMITS, LineReader, type InputLimits, type ReaderItem } from './line-reader.js';

type Out = { kind: 'line'; text: string } | { kind: 'literal'; text: string } | { kind: 'too-long' };

/** The toy "session" rule used throughout: a line ending in {n} announces a literal of n bytes. */
const LITERAL_RE = /\{(\d{1,6})\}$/;

function show(item: ReaderItem): Out {
  if (item.kind === 'too-long') return { kind: 'too-long' };
  return item.kind === 'line' ? { kind: 'line', text: item.line.toString('latin1') } : { kind: 'literal', text: item.data.toString('latin1') };
}

/** Feeds chunks, draining after each, following the {n} literal rule. */
function runReader(limits: InputLimits, chunks: Buffer[]): { out: Out[]; maxHeld: number } {
  const r = new LineReader(limits);
  const out: Out[] = [];
  let maxHeld = 0;
  for (const c of chunks) {
    r.push(c);
    for (let item = r.next(); item !== null; item = r.next()) {
      const o = show(item);
      out.push(o);
      if (o.kind === 'line') {
        const m = LITERAL_RE.exec(o.text);
        if (m && Number(m[1]) <= limits.maxLiteralBytes) assert.equal(r.setMode({ kind: 'literal', size: Number(m[1]) }).status, 'ok');
      }
    }
    // Invariant: after draining, what is held is less than one line (plus a CR) or one literal.
    const bound = r.mode.kind === 'literal' ? r.mode.size : limits.maxLineBytes + 1;
    assert.ok(r.buffered <= bound, `held ${r.buffered} bytes, bound ${bound}`);
    maxHeld = Math.max(maxHeld, r.buffered);
  }
  return { out, maxHeld };
}

/** A non-incremental model of the same rules, over the whole input at once. */
function reference(limits: InputLimits, input: Buffer): Out[] {
  const out: Out[] = [];
  let pos = 0;
  let literal = -1;
  for (;;) {
    if (literal >= 0) {
      if (input.length - pos < literal) return out;
      out.push({ kind: 'literal', text: input.subarray(pos, pos + literal).toString('latin1') });
      pos += literal;
      literal = -1;
      continue;
    }
    const lf = input.indexOf(0x0a, pos);
    if (lf < 0) {
      if (input.length - pos > limits.maxLineBytes + 1) out.push({ kind: 'too-long' });
      return out;
    }
    let end = lf;
    if (end > pos && input[end - 1] === 0x0d) end -= 1;
    if (end - pos > limits.maxLineBytes) out.push({ kind: 'too-long' });
    else {
      const text = input.subarray(pos, end).toString('latin1');
      out.push({ kind: 'line', text });
      const m = LITERAL_RE.exec(text);
      if (m && Number(m[1]) <= limits.maxLiteralBytes) literal = Number(m[1]);
    }
    pos = lf + 1;
  }
}

const L = (s: string): Buffer => Buffer.from(s, 'latin1');
const small: InputLimits = { maxLineBytes: 8, maxLiteralBytes: 16 };

// Each row: why it exists, the chunks as sent, and what the session must see.
const TABLE: Array<{ why: string; chunks: string[]; expect: Out[] }> = [
  { why: 'CRLF ends a line and is not part of it', chunks: ['a\r\n'], expect: [{ kind: 'line', text: 'a' }] },
  { why: 'a bare LF ends a line too (telnet, scripts)', chunks: ['a\n'], expect: [{ kind: 'line', text: 'a' }] },
  { why: 'a CR not before LF stays for the session to judge (no line splitting on CR)', chunks: ['a\rb\n'], expect: [{ kind: 'line', text: 'a\rb' }] },
  { why: 'an empty line is a line (SASL empty response, SMTP blank)', chunks: ['\r\n', '\n'], expect: [{ kind: 'line', text: '' }, { kind: 'line', text: '' }] },
  { why: 'input without a terminator is not a line yet', chunks: ['abc'], expect: [] },
  { why: 'a line of exactly the limit is accepted', chunks: ['12345678\r\n'], expect: [{ kind: 'line', text: '12345678' }] },
  { why: 'one byte over the limit is too long', chunks: ['123456789\r\n', 'ok\n'], expect: [{ kind: 'too-long' }, { kind: 'line', text: 'ok' }] },
  { why: 'the CR of a limit-long line may arrive alone: not mistaken for an over-long line', chunks: ['12345678', '\r', '\n'], expect: [{ kind: 'line', text: '12345678' }] },
  { why: 'CRLF split across chunks is still one terminator', chunks: ['ab\r', '\ncd\n'], expect: [{ kind: 'line', text: 'ab' }, { kind: 'line', text: 'cd' }] },
  { why: 'an endless line is reported once and its remainder skipped to the LF', chunks: ['1234567890', 'abcdefghij', 'klmnop', 'q\r\nok\r\n'], expect: [{ kind: 'too-long' }, { kind: 'line', text: 'ok' }] },
  { why: 'an over-long line arriving byte by byte is reported once', chunks: [...'abcdefghijklmnopqrstuvwxyz'.split(''), '\n', 'x\n'], expect: [{ kind: 'too-long' }, { kind: 'line', text: 'x' }] },
  { why: 'NUL and 8-bit bytes pass through: the session decides what is malformed', chunks: ['a\u0000\u00ff\n'], expect: [{ kind: 'line', text: 'a\u0000\u00ff' }] },
  { why: 'a literal is read by size, CRLFs inside it are data', chunks: ['x {4}\r\n', 'a\r\nb', ' end\r\n'], expect: [{ kind: 'line', text: 'x {4}' }, { kind: 'literal', text: 'a\r\nb' }, { kind: 'line', text: ' end' }] },
  { why: 'a literal may arrive in the same chunk as its announcement', chunks: ['x {2}\r\nhi\r\n'], expect: [{ kind: 'line', text: 'x {2}' }, { kind: 'literal', text: 'hi' }, { kind: 'line', text: '' }] },
  { why: 'a literal of size 0 is complete at once', chunks: ['x {0}\r\n\r\n'], expect: [{ kind: 'line', text: 'x {0}' }, { kind: 'literal', text: '' }, { kind: 'line', text: '' }] },
  { why: 'a literal longer than the line limit is fine (its own limit applies)', chunks: ['{16}\n', '0123456789abcdef'], expect: [{ kind: 'line', text: '{16}' }, { kind: 'literal', text: '0123456789abcdef' }] },
];

for (const row of TABLE) {
  test(`line reader: ${row.why}`, () => {
    assert.deepEqual(runReader(small, row.chunks.map(L)).out, row.expect);
    assert.deepEqual(reference(small, L(row.chunks.join(''))), row.expect, 'the reference model agrees');
  });
}

test('line reader: a literal over the limit, negative or fractional is refused by setMode', () => {
  const r = new LineReader(small);
  assert.deepEqual(r.setMode({ kind: 'literal', size: 17 }), { status: 'too-large', limit: 16 });
  assert.equal(r.setMode({ kind: 'literal', size: -1 }).status, 'invalid');
  assert.equal(r.setMode({ kind: 'literal', size: 1.5 }).status, 'invalid');
  assert.equal(r.setMode({ kind: 'literal', size: Number.NaN }).status, 'invalid');
  assert.equal(r.mode.kind, 'line', 'a refused mode leaves line mode');
  const none = new LineReader({ maxLineBytes: 10, maxLiteralBytes: 0 });
  assert.equal(none.setMode({ kind: 'literal', size: 1 }).status, 'too-large', 'a protocol without literals refuses any');
});

test('T1: discard drops everything pipelined, including a half-read line and literal mode', () => {
  const r = new LineReader(small);
  r.push(L('STARTTLS\r\nEVIL\r\nhal'));
  assert.deepEqual(show(r.next()!), { kind: 'line', text: 'STARTTLS' });
  assert.equal(r.discard(), 'EVIL\r\nhal'.length);
  assert.equal(r.next(), null);
  r.setMode({ kind: 'literal', size: 3 });
  r.push(L('ab'));
  r.discard();
  assert.equal(r.mode.kind, 'line');
  r.push(L('ok\n'));
  assert.deepEqual(show(r.next()!), { kind: 'line', text: 'ok' });
});

test('line reader: takeRemaining hands over pipelined bytes, without the rest of an over-long line', () => {
  const r = new LineReader(small);
  r.push(L('a LOGIN x y\r\nb SELECT INBOX\r\nc N'));
  assert.equal(r.next()?.kind, 'too-long'); // "a LOGIN x y" is 11 bytes > 8
  const r2 = new LineReader({ maxLineBytes: 64, maxLiteralBytes: 0 });
  r2.push(L('a LOGIN x y\r\nb SELECT INBOX\r\nc N'));
  assert.deepEqual(show(r2.next()!), { kind: 'line', text: 'a LOGIN x y' });
  assert.equal(r2.takeRemaining().toString(), 'b SELECT INBOX\r\nc N');
  assert.equal(r2.buffered, 0);
  const r3 = new LineReader(small);
  r3.push(L('0123456789abc'));
  assert.equal(r3.next()?.kind, 'too-long');
  r3.push(L('def\r\nNEXT\r\n'));
  assert.equal(r3.takeRemaining().toString(), 'NEXT\r\n');
});

test('line reader: limits are named per service and sane', () => {
  for (const [svc, l] of Object.entries(INPUT_LIMITS)) {
    assert.ok(l.maxLineBytes >= 512, `${svc}: RFC 5321/2449 command lines fit`);
    assert.ok(l.maxLiteralBytes >= 0);
  }
  assert.ok(INPUT_LIMITS.SMTP.maxLineBytes >= 12_288, 'RFC 4954 AUTH lines fit');
  assert.ok(INPUT_LIMITS.IMAP.maxLiteralBytes >= 1024, 'a LOGIN password literal fits');
  assert.throws(() => new LineReader({ maxLineBytes: 0, maxLiteralBytes: 0 }), RangeError);
});

test('line reader: never quadratic - a 256 KiB line in 1-byte chunks, and 200k tiny lines', () => {
  const big: InputLimits = { maxLineBytes: 1024 * 1024, maxLiteralBytes: 0 };
  const r = new LineReader(big);
  const one = Buffer.from('x');
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 256 * 1024; i++) { r.push(one); assert.equal(r.next(), null); }
  r.push(Buffer.from('\r\n'));
  const item = r.next();
  assert.equal(item?.kind === 'line' ? item.line.length : -1, 256 * 1024);
  const r2 = new LineReader(big);
  const tiny = Buffer.from('a\n');
  let n = 0;
  for (let i = 0; i < 200_000; i++) { r2.push(tiny); for (let it = r2.next(); it !== null; it = r2.next()) n++; }
  assert.equal(n, 200_000);
  // A quadratic scan would be ~3e10 byte visits here (minutes); linear work is well under a second.
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.ok(ms < 3000, `took ${ms} ms`);
});

/** Inputs built from the bytes that matter (CR, LF, braces, digits) plus arbitrary ones. */
const inputArb = fc.array(
  fc.oneof(
    fc.constantFrom('\r\n', '\n', '\r', '{', '}', '{3}\r\n', '{0}\n', '{20}\r\n', 'abc', 'x'.repeat(9)),
    fc.uint8Array({ maxLength: 12 }).map((u) => Buffer.from(u).toString('latin1')),
  ),
  { maxLength: 60 },
).map((parts) => L(parts.join('')));

function splitAt(input: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) { out.push(input.subarray(prev, p)); prev = p; }
  out.push(input.subarray(prev));
  return out;
}

test('line reader fuzz: any input, any chunking: same items as the whole-input model, bounded memory, no throw', () => {
  fc.assert(
    fc.property(inputArb, fc.array(fc.nat(), { maxLength: 30 }), fc.integer({ min: 1, max: 12 }), (input, cuts, maxLine) => {
      const limits = { maxLineBytes: maxLine, maxLiteralBytes: 16 };
      const expected = reference(limits, input);
      assert.deepEqual(runReader(limits, splitAt(input, cuts)).out, expected);
      assert.deepEqual(runReader(limits, [...input].map((b) => Buffer.from([b]))).out, expected, 'byte by byte');
    }),
    { numRuns: 1500 },
  );
});
