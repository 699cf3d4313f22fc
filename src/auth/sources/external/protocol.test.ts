// E2: the External Authentication line protocol — reply parsing (malformed-input table and fuzz),
// request encoding (the reference's own sample lines) and the injection rule as a property.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  checkCommand, encodeCommand, formatSeq, LineSplitter, negotiatedVersion, parseReply, EXTAUTH_MAX_REPLY_LINE,
  type Command,
} from './protocol.js';

void test('E2: replies from the reference text parse', () => {
  assert.deepEqual(parseReply('00001 OK 1'), { kind: 'ok', seq: 1, text: '1' });
  assert.deepEqual(parseReply('00010 OK'), { kind: 'ok', seq: 10, text: '' });
  assert.deepEqual(parseReply('00011 ERROR incorrect password'), { kind: 'error', seq: 11, message: 'incorrect password' });
  assert.deepEqual(parseReply('00012 ERROR unsupported SASL method'), { kind: 'error', seq: 12, message: 'unsupported SASL method' });
  assert.deepEqual(parseReply('000042 ERROR'), { kind: 'error', seq: 42, message: '' });
  assert.deepEqual(parseReply('000042 OK\r'), { kind: 'ok', seq: 42, text: '' }, 'CRLF line ends are accepted');
  assert.deepEqual(parseReply('000042 ok fine'), { kind: 'ok', seq: 42, text: 'fine' }, 'keywords are matched without case');
  assert.deepEqual(parseReply('1234567 OK'), { kind: 'ok', seq: 1234567, text: '' }, 'numbers past six digits');
});

void test('E2: malformed reply lines are garbage, never a match', () => {
  const rows: [string, string][] = [
    ['', 'an empty line'],
    ['OK', 'no sequence number'],
    ['000001', 'a number alone'],
    ['000001OK', 'no space between number and keyword'],
    [' 000001 OK', 'leading space: not a number first'],
    ['abc OK', 'a number that is not digits'],
    ['-1 OK', 'a negative number'],
    ['0x10 OK', 'hex is not a sequence number'],
    ['000001 OKAY', 'a keyword that only starts like OK'],
    ['000001 MAYBE yes', 'a keyword that is neither OK nor ERROR'],
    ['000001 ERRORS x', 'a keyword that only starts like ERROR'],
    ['1234567890123456 OK', 'more digits than an exact number holds'],
    ['000001 OK \x01', 'a control character in the text'],
    ['000001 ERROR a\x00b', 'a NUL in the message'],
    ['000001 ERROR a\rb', 'a CR inside the line'],
    ['١٢٣ OK', 'non-ASCII digits'],
  ];
  for (const [line, why] of rows) assert.equal(parseReply(line).kind, 'garbage', `${why}: ${JSON.stringify(line)}`);
});

void test('E2: INTF version negotiation takes the lower version; no number means 0', () => {
  assert.deepEqual(negotiatedVersion('2'), { version: 2, readable: true });
  assert.deepEqual(negotiatedVersion('1'), { version: 1, readable: true });
  assert.deepEqual(negotiatedVersion('0'), { version: 0, readable: true });
  assert.deepEqual(negotiatedVersion('7 extra'), { version: 2, readable: true });
  assert.deepEqual(negotiatedVersion(''), { version: 0, readable: false });
  assert.deepEqual(negotiatedVersion('v2'), { version: 0, readable: false });
  assert.deepEqual(negotiatedVersion('99999999999'), { version: 0, readable: false });
});

void test('E2: request lines match the reference samples, with 6-digit sequence numbers', () => {
  const a = { name: 'user1', domain: 'domain1.com' };
  assert.equal(formatSeq(1), '000001');
  assert.equal(formatSeq(1234567), '1234567');
  assert.equal(encodeCommand(1, 2, { verb: 'INTF' }).toString(), '000001 INTF 2\n');
  assert.equal(encodeCommand(10, 2, { verb: 'VRFY', address: a, password: Buffer.from('dsyui134') }).toString(), '000010 VRFY user1@domain1.com dsyui134\n');
  assert.equal(encodeCommand(11, 2, { verb: 'VRFY', address: { name: 'user2', domain: 'domain2.com' }, mode: 'IMAP', password: Buffer.from('jskj23#45') }).toString(),
    '000011 VRFY (IMAP) user2@domain2.com jskj23#45\n');
  assert.equal(encodeCommand(11, 0, { verb: 'VRFY', address: a, mode: 'IMAP', password: Buffer.from('p') }).toString(), '000011 VRFY user1@domain1.com p\n', 'version 0: no mode');
  assert.equal(encodeCommand(12, 1, { verb: 'SASL', method: 'CRAM-MD5', address: { name: 'user4', domain: 'domain2.com' }, password: Buffer.from('hdkj547812329394055'), key: Buffer.from('<pop-23456@mydomain.com>') }).toString(),
    '000012 SASL(CRAM-MD5) user4@domain2.com hdkj547812329394055 <pop-23456@mydomain.com>\n');
  assert.equal(encodeCommand(13, 1, { verb: 'SASL', method: 'APOP', mode: 'POP', address: a, password: Buffer.from('r'), key: Buffer.from('k') }).toString(),
    '000013 SASL(APOP) (POP) user1@domain1.com r k\n');
  assert.equal(encodeCommand(10, 2, { verb: 'NEW', address: a }).toString(), '000010 NEW user1@domain1.com\n');
});

void test('E2: the line splitter keeps lines across chunks and drops an over-long one whole', () => {
  const got: string[] = [];
  let long = 0;
  const s = new LineSplitter(10);
  const feed = (t: string): void => s.push(Buffer.from(t), (l) => got.push(l.toString()), () => { long++; });
  feed('000001 O');
  feed('K\n0000');
  feed('02 OK\nxxxxxxxxxxxxxxxxxxxx');
  feed('yyyy\n000003 OK\n');
  assert.deepEqual(got, ['000001 OK', '000002 OK', '000003 OK']);
  assert.equal(long, 1);
  assert.equal(s.pending, 0);
});

void test('E2 fuzz: any reply line parses to a value, and a match always carries a safe number', () => {
  fc.assert(fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.stringMatching(/^[0-9]{1,20} (OK|ERROR|ok|Error)( .*)?$/)), (line) => {
    const r = parseReply(line);
    assert.ok(['ok', 'error', 'garbage'].includes(r.kind));
    if (r.kind !== 'garbage') assert.ok(Number.isSafeInteger(r.seq) && r.seq >= 0);
  }), { numRuns: 2000 });
});

void test('E2 fuzz: the splitter never holds more than its limit and never loses a short line', () => {
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 30 }), (chunks) => {
    const s = new LineSplitter(16);
    const lines: Buffer[] = [];
    for (const c of chunks) {
      s.push(Buffer.from(c), (l) => lines.push(Buffer.from(l)), () => undefined);
      assert.ok(s.pending <= 16);
    }
    const all = Buffer.concat(chunks.map((c) => Buffer.from(c)));
    const expected = all.toString('latin1').split('\n').slice(0, -1).filter((l) => l.length <= 16);
    assert.deepEqual(lines.map((l) => l.toString('latin1')), expected);
  }), { numRuns: 500 });
  assert.ok(EXTAUTH_MAX_REPLY_LINE >= 1024);
});

void test('E2 fuzz: a command that passes the checks is exactly one line whose fields read back unchanged', () => {
  const text = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom('a b', 'x\r\ny', 'p\n', '\0', '', '@', '(', ' '));
  const cmd: fc.Arbitrary<Command> = fc.oneof(
    fc.record({ verb: fc.constant('VRFY' as const), address: fc.record({ name: text, domain: text }), mode: fc.option(text, { nil: undefined }), password: text.map((t) => Buffer.from(t)) }),
    fc.record({ verb: fc.constant('SASL' as const), method: text, address: fc.record({ name: text, domain: text }), mode: fc.option(text, { nil: undefined }), password: text.map((t) => Buffer.from(t)), key: text.map((t) => Buffer.from(t)) }),
    fc.record({ verb: fc.constant('NEW' as const), address: fc.record({ name: text, domain: text }) }),
  );
  let valid = 0;
  fc.assert(fc.property(cmd, fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 0, max: 2 }), (c, seq, version) => {
    if (c.verb === 'INTF' || checkCommand(c) !== null) return;
    valid++;
    const line = encodeCommand(seq, version, c);
    assert.equal(line.indexOf(0x0a), line.length - 1, 'one LF, at the end');
    assert.equal(line.indexOf(0x0d), -1, 'no CR');
    assert.equal(line.indexOf(0x00), -1, 'no NUL');
    const fields = line.subarray(0, -1).toString('latin1').split(' ');
    assert.equal(fields[0], formatSeq(seq));
    const rest = fields.slice(c.verb === 'VRFY' || c.verb === 'SASL' ? (c.mode !== undefined && version >= 1 ? 3 : 2) : 2);
    const addr = Buffer.from(`${c.address.name}@${c.address.domain}`).toString('latin1');
    assert.equal(rest[0], addr, 'name@domain is one field');
    if (c.verb === 'VRFY') assert.equal(rest.slice(1).join(' '), c.password.toString('latin1'), 'the password is the rest of the line');
    if (c.verb === 'SASL') assert.deepEqual(rest.slice(1), [c.password.toString('latin1'), c.key.toString('latin1')], 'password and key are two fields');
    if (c.verb === 'NEW') assert.equal(rest.length, 1);
  }), { numRuns: 3000 });
  assert.ok(valid > 300, `only ${valid} generated commands passed the checks`);
});
