// The line reader and the SASL driver agree on how long a SASL response may be (A1, A2): through
// the real listener, a command line with the largest initial response the driver accepts
// (SASL_MAX_LINE_LENGTH) reaches the mechanism on IMAP, POP3 and SMTP, and one byte more is
// refused by the driver as a SASL failure the client can read, never by the line reader
// hanging up on a line too long. The driver's log record says which check refused it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { configureLogging, type LogRecord } from '../../core/log.js';
import { SASL_MAX_LINE_LENGTH } from '../../sasl/driver.js';
import { ImapSession } from '../imap/session.js';
import { IMAP_MAX_TAG_LENGTH } from '../imap/limits.js';
import { Pop3Session } from '../pop3/session.js';
import { smtpSessionFactory } from '../smtp/session.js';
import { INPUT_LIMITS, SASL_COMMAND_LINE_BYTES, SASL_COMMAND_ROOM } from './line-reader.js';
import { SASL_MECHANISM_NAME_MAX } from './login-flow.js';
import type { ServiceName } from './session.js';
import { fixture, type Fixture } from './testing/fixture.js';
import { startFront, type Front } from './testing/front.js';
import { LineClient } from './test-support.js';

const records: LogRecord[] = [];
configureLogging({ sink: (r) => records.push(r), levels: { SASL: 'all' } });

/** Base64 text of exactly `chars` characters (a multiple of 4) that decodes to a PLAIN message
 *  too long for PLAIN: the mechanism, not the driver, refuses it ("message too long"). */
function maximalPlain(chars: number): string {
  const text = Buffer.alloc((chars / 4) * 3, 0x78).toString('base64');
  assert.equal(text.length, chars);
  return text;
}

/** SASL failure reasons the driver logged since `from`. */
function saslReasons(from: number): unknown[] {
  return records.slice(from).filter((r) => r.module === 'SASL' && r.event === 'sasl.failure').map((r) => r.reason);
}

let f: Fixture;
const fronts = new Map<ServiceName, Front>();

before(async () => {
  f = await fixture();
  fronts.set('IMAP', await startFront('IMAP', (info) => new ImapSession(info, f.deps)));
  fronts.set('POP', await startFront('POP', (info) => new Pop3Session(info, f.deps)));
  fronts.set('SMTP', await startFront('SMTP', smtpSessionFactory(f.deps, { greetingDelayMs: 0 })));
});
after(async () => {
  for (const front of fronts.values()) await front.close();
  await f.done();
});

/** A client on the listener that allows clear-text logins (so PLAIN is offered), past the greeting. */
async function client(service: ServiceName): Promise<LineClient> {
  const c = await LineClient.connect(fronts.get(service)!.clearAllowed);
  if (service === 'SMTP') {
    assert.match(await c.line(), /^220 /);
    c.send('EHLO client.example\r\n');
    for (let l = await c.line(); !l.startsWith('250 '); l = await c.line()) assert.match(l, /^250-/);
  } else {
    assert.match(await c.line(), service === 'IMAP' ? /^\* OK / : /^\+OK /);
  }
  return c;
}

test('A1 A2 the line limits leave room for the largest SASL response plus its command', () => {
  assert.equal(SASL_COMMAND_LINE_BYTES, SASL_MAX_LINE_LENGTH + SASL_COMMAND_ROOM);
  const longestImapPrefix = IMAP_MAX_TAG_LENGTH + ' AUTHENTICATE '.length + SASL_MECHANISM_NAME_MAX + 1;
  assert.ok(longestImapPrefix <= SASL_COMMAND_ROOM, `${longestImapPrefix} octets before an IMAP SASL-IR`);
  assert.ok('AUTH '.length + SASL_MECHANISM_NAME_MAX + 1 <= SASL_COMMAND_ROOM, 'POP3/SMTP AUTH prefix');
  for (const svc of ['IMAP', 'POP', 'SMTP'] as const) {
    assert.ok(INPUT_LIMITS[svc].maxLineBytes >= SASL_COMMAND_LINE_BYTES, `${svc} line limit`);
  }
});

test('A1 A2 IMAP: the longest AUTHENTICATE line (longest tag, mechanism name and SASL-IR) is read whole', async () => {
  const c = await client('IMAP');
  try {
    const tag = 'T'.repeat(IMAP_MAX_TAG_LENGTH);
    const reply = await c.ask(`${tag} AUTHENTICATE ${'X'.repeat(SASL_MECHANISM_NAME_MAX)} ${maximalPlain(SASL_MAX_LINE_LENGTH)}`);
    // The session parsed the whole line: an unknown mechanism, not a line too long.
    assert.equal(reply, `${tag} NO Unsupported authentication mechanism`);
  } finally { c.destroy(); }
});

test('A1 A2 IMAP: a maximal SASL-IR reaches the mechanism; one byte more is refused by the SASL driver', async () => {
  const c = await client('IMAP');
  try {
    const tag = 'T'.repeat(IMAP_MAX_TAG_LENGTH);
    let mark = records.length;
    assert.equal(await c.ask(`${tag} AUTHENTICATE PLAIN ${maximalPlain(SASL_MAX_LINE_LENGTH)}`), `${tag} BAD Invalid authentication data`);
    assert.deepEqual(saslReasons(mark), ['message too long'], 'the driver passed it on and PLAIN judged it');
    mark = records.length;
    assert.equal(await c.ask(`${tag} AUTHENTICATE PLAIN ${'A'.repeat(SASL_MAX_LINE_LENGTH + 1)}`), `${tag} BAD Invalid authentication data`);
    assert.deepEqual(saslReasons(mark), ['line too long'], 'the driver refused it by its length');
    // The connection is still open: the line reader did not cut the line.
    assert.equal(await c.ask('n NOOP'), 'n OK NOOP completed');
    // The same for a continuation line.
    assert.equal(await c.ask('a AUTHENTICATE PLAIN'), '+ ');
    mark = records.length;
    assert.equal(await c.ask(maximalPlain(SASL_MAX_LINE_LENGTH)), 'a BAD Invalid authentication data');
    assert.equal(await c.ask('b AUTHENTICATE PLAIN'), '+ ');
    assert.equal(await c.ask('A'.repeat(SASL_MAX_LINE_LENGTH + 1)), 'b BAD Invalid authentication data');
    assert.deepEqual(saslReasons(mark), ['message too long', 'line too long']);
  } finally { c.destroy(); }
});

test('A1 A2 POP3: a maximal AUTH initial response reaches the mechanism; one byte more is refused by the SASL driver', async () => {
  const c = await client('POP');
  try {
    let mark = records.length;
    assert.equal(await c.ask(`AUTH PLAIN ${maximalPlain(SASL_MAX_LINE_LENGTH)}`), '-ERR Invalid authentication data');
    assert.deepEqual(saslReasons(mark), ['message too long']);
    mark = records.length;
    assert.equal(await c.ask(`AUTH PLAIN ${'A'.repeat(SASL_MAX_LINE_LENGTH + 1)}`), '-ERR Invalid authentication data');
    assert.deepEqual(saslReasons(mark), ['line too long']);
    assert.equal(await c.ask('NOOP'), '-ERR Unknown command or not allowed before login');
  } finally { c.destroy(); }
});

test('A1 A2 SMTP: a maximal AUTH initial response reaches the mechanism; one byte more is refused by the SASL driver', async () => {
  const c = await client('SMTP');
  try {
    let mark = records.length;
    assert.match(await c.ask(`AUTH PLAIN ${maximalPlain(SASL_MAX_LINE_LENGTH)}`), /^501 5\.5\.2 /);
    assert.deepEqual(saslReasons(mark), ['message too long']);
    mark = records.length;
    assert.match(await c.ask(`AUTH PLAIN ${'A'.repeat(SASL_MAX_LINE_LENGTH + 1)}`), /^501 5\.5\.2 /);
    assert.deepEqual(saslReasons(mark), ['line too long']);
    assert.match(await c.ask('NOOP'), /^250 /);
  } finally { c.destroy(); }
});
