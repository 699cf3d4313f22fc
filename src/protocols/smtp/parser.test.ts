// SMTP command parser: a malformed-input table (each row says why it exists) and fast-check
// fuzzing of the parser and of a whole session (hostile lines only ever produce SMTP replies or
// a close, never a throw or a hang). A8, N2, B1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAuth, parseCommand, parseHelo, parseMailFrom, parseRcptTo, type ParsedLine } from './parser.js';
import { deps, FakeConnector, info, newSession } from './test/harness.js';

type Row = [input: string, expected: ParsedLine['kind'], why: string];
const COMMAND_TABLE: Row[] = [
  ['', 'syntax', 'an empty line is no command'],
  ['   ', 'syntax', 'only spaces: no verb'],
  ['EHLO x\0y', 'syntax', 'NUL inside a command could cut a C-string at the backend'],
  ['MAIL FROM:<a@b>\rRCPT TO:<c@d>', 'syntax', 'a bare CR must not hide a second command'],
  ['EHLO caf\xe9', 'syntax', '8-bit bytes without SMTPUTF8'],
  ['NOOP \x1b[2J', 'syntax', 'terminal escape sequences never reach logs'],
  ['x'.repeat(2049), 'syntax', 'over the command-line limit'],
  ['GET / HTTP/1.1', 'http', 'a browser (or a cross-protocol attack) on the port'],
  ['POST /x HTTP/1.0', 'http', 'HTTP POST carrying SMTP commands in its body'],
  ['Host: example.com', 'http', 'an HTTP header line'],
  ['XCLIENT LOGIN=x', 'unknown', 'must never be forwarded to a backend that trusts us'],
  ['XFORWARD ADDR=1.2.3.4', 'unknown', 'same trust problem as XCLIENT'],
  ['ETRN example.com', 'unknown', 'queue control is not for submission clients'],
  ['EHLOx', 'unknown', 'a verb glued to its argument is not EHLO'],
  ['ehlo client', 'command', 'verbs are case-insensitive'],
  ['MAIL  FROM:<a@b>', 'command', 'extra spaces after the verb are tolerated'],
];

test('B1 SMTP command parser: malformed-input table', () => {
  for (const [input, kind, why] of COMMAND_TABLE) assert.equal(parseCommand(input).kind, kind, `${JSON.stringify(input.slice(0, 40))}: ${why}`);
});

const PATH_TABLE: Array<[string, 'mail' | 'rcpt', string | null, string]> = [
  ['FROM:<alice@example.com>', 'mail', 'MAIL FROM:<alice@example.com>', 'plain path'],
  ['from: <alice@example.com>', 'mail', 'MAIL FROM:<alice@example.com>', 'lower case and a space after the colon, as some clients send'],
  ['FROM:<>', 'mail', 'MAIL FROM:<>', 'null reverse-path (bounces) is allowed'],
  ['FROM:<a@b> AUTH=<>', 'mail', 'MAIL FROM:<a@b>', 'RFC 4954 AUTH= is dropped: the backend must not take a submitter from the client'],
  ['FROM:<a@b> BODY=8bitmime SIZE=10', 'mail', 'MAIL FROM:<a@b> BODY=8BITMIME SIZE=10', 'known parameters are rebuilt'],
  ['FROM:<a@b> XCLIENT=1', 'mail', null, 'unknown parameters are refused, not passed on'],
  ['FROM:<a@b> SIZE=12x', 'mail', null, 'SIZE must be digits'],
  ['FROM:<a@b> SIZE=1 SIZE=2', 'mail', null, 'a repeated parameter'],
  ['FROM:<a@b> BODY=BINARYMIME', 'mail', null, 'BINARYMIME needs CHUNKING, which is not offered'],
  ['FROM:<a@b>junk', 'mail', null, 'text glued after the path'],
  ['FROM:<a <b>>', 'mail', null, 'nested brackets'],
  ['FROM:<a b@c>', 'mail', null, 'a space inside the path'],
  ['FROM:a@b', 'mail', null, 'path without brackets'],
  ['FROM:<a@b', 'mail', null, 'unclosed bracket'],
  [`FROM:<${'a'.repeat(300)}@b>`, 'mail', null, 'path over 256 octets'],
  ['TO:<bob@example.com>', 'rcpt', 'RCPT TO:<bob@example.com>', 'plain recipient'],
  ['TO:<>', 'rcpt', null, 'an empty forward-path'],
  ['TO:<b@c> NOTIFY=NEVER', 'rcpt', null, 'DSN parameters without the DSN extension'],
  ['FROM:<a@b>', 'rcpt', null, 'MAIL syntax given to RCPT'],
];

test('B1 MAIL FROM / RCPT TO parser: malformed-input table', () => {
  for (const [input, kind, expected, why] of PATH_TABLE) {
    const r = kind === 'mail' ? parseMailFrom(input) : parseRcptTo(input);
    assert.equal(r.ok ? r.line : null, expected, `${input.slice(0, 40)}: ${why}`);
  }
});

test('A8 AUTH and EHLO argument parser: malformed-input table', () => {
  const rows: Array<[string, boolean, string]> = [
    ['PLAIN', true, 'mechanism alone'],
    ['plain dGVzdA==', true, 'lower-case name and an initial response'],
    ['PLAIN =', true, '"=" is the empty initial response (the driver decodes it)'],
    ['', false, 'no mechanism'],
    ['PLAIN a b', false, 'two responses'],
    ['A'.repeat(21), false, 'longer than a SASL name may be (RFC 4422: 20)'],
    ['PL@IN', false, 'characters outside the SASL name alphabet'],
  ];
  for (const [input, ok, why] of rows) assert.equal(parseAuth(input).ok, ok, why);
  assert.deepEqual(parseAuth('plain ='), { ok: true, mechanism: 'PLAIN', initialResponse: '=' });
  assert.equal(parseHelo('').ok, false, 'EHLO needs a name');
  assert.equal(parseHelo('x'.repeat(256)).ok, false, 'over 255 octets');
  assert.equal(parseHelo('[192.0.2.1]').ok, true, 'address literal');
  assert.equal(parseHelo('my_pc').ok, true, 'Windows names with underscores are common');
});

test('B1 SMTP parser fuzz: any string gives a value, never an exception', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 3000 }), (s) => {
    const r = parseCommand(s);
    assert.ok(['command', 'unknown', 'syntax', 'http'].includes(r.kind));
    if (r.kind === 'command') assert.ok(/^[\x20-\x7e]*$/.test(r.args));
    for (const f of [parseMailFrom, parseRcptTo]) {
      const m = f(s);
      // A rebuilt line never carries control characters or a line break to the backend.
      if (m.ok) assert.ok(/^[\x20-\x7e]+$/.test(m.line), m.line);
    }
    parseAuth(s);
    parseHelo(s);
  }), { numRuns: 3000 });
});

test('B1 SMTP parser fuzz: envelope-shaped input (grammar generator) is rebuilt or refused cleanly', () => {
  const atom = fc.stringMatching(/^[A-Za-z0-9.<>@ =+:-]{0,20}$/);
  const line = fc.tuple(fc.constantFrom('FROM:', 'TO:', 'from:', 'FROM: ', 'TO:<'), atom, fc.constantFrom('', '>', '> ', '>'), atom)
    .map(([a, b, c, d]) => `${a}<${b}${c}${d}`);
  fc.assert(fc.property(line, (s) => {
    for (const f of [parseMailFrom, parseRcptTo]) {
      const m = f(s);
      if (m.ok) {
        assert.match(m.line, /^(MAIL FROM|RCPT TO):<[^<> ]*>( (SIZE|BODY)=\S+)*$/);
      } else {
        assert.ok(['syntax', 'path', 'parameters'].includes(m.error));
      }
    }
  }), { numRuns: 3000 });
});

test('A8, N2 SMTP session fuzz: hostile lines only produce replies or a close', async () => {
  const connector = new FakeConnector(async () => ({ status: 'unavailable', reason: 'fuzz' }));
  const verbs = fc.constantFrom('EHLO', 'HELO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'BDAT', 'RSET', 'NOOP', 'STARTTLS', 'VRFY', 'XCLIENT', '*', 'AUTH PLAIN', 'AUTH LOGIN', 'AUTH CRAM-MD5');
  const lineArb = fc.oneof(
    fc.tuple(verbs, fc.string({ unit: 'binary', maxLength: 80 })).map(([v, a]) => `${v} ${a}`),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.base64String({ maxLength: 100 }),
  );
  await fc.assert(fc.asyncProperty(fc.array(lineArb, { maxLength: 25 }), fc.boolean(), async (lines, secure) => {
    const s = newSession(deps(connector), info({ secure, startTlsAvailable: !secure }));
    await s.start();
    let closed = false;
    for (const l of lines) {
      if (closed) break;
      const effects = await s.onLine(Buffer.from(l, 'latin1'));
      for (const e of effects) {
        if (e.type === 'write') assert.match(String(e.data), /^([2-5]\d\d[ -].*\r\n)+$/s);
        if (e.type === 'close') closed = true;
        assert.notEqual(e.type, 'relay');
      }
      if (effects.some((e) => e.type === 'starttls')) await s.onTlsStarted();
    }
    s.onClose();
  }), { numRuns: 300 });
});
