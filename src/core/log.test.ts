// W4: passwords and SASL payloads never appear in any log record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configureLogging, logger, Secret, type LogRecord } from './log.js';

test('W4: secret fields and Secret values are redacted, module tag and level are kept', () => {
  const seen: LogRecord[] = [];
  configureLogging({ sink: (r) => seen.push(r), defaultLevel: 'all' });
  const log = logger('IMAP').child({ session: 's1', remote: '192.0.2.1' });
  log.info('auth.failed', {
    user: 'alice', password: 'hunter2', saslPayload: 'AGFsaWNlAGh1bnRlcjI=', nested: { response: 'x1' },
    note: new Secret('hunter3'), list: [{ pass: 'p4' }],
  });
  assert.equal(seen.length, 1);
  const text = JSON.stringify(seen[0]);
  for (const s of ['hunter2', 'AGFsaWNlAGh1bnRlcjI=', 'x1', 'hunter3', 'p4']) assert.ok(!text.includes(s), `${s} leaked: ${text}`);
  assert.equal(seen[0]?.module, 'IMAP');
  assert.equal(seen[0]?.user, 'alice');
  assert.equal(seen[0]?.session, 's1');
  assert.equal(String(new Secret('x')), '[redacted]');
});

test('W4: per-module levels filter records', () => {
  const seen: LogRecord[] = [];
  configureLogging({ sink: (r) => seen.push(r), defaultLevel: 'major', levels: { TLS: 'all', EXTAUTH: 'none' } });
  logger('TLS').low('tls.handshake');
  logger('EXTAUTH').failure('extauth.crash');
  logger('POP').info('pop.connect');
  logger('POP').major('pop.start');
  assert.deepEqual(seen.map((r) => `${r.module}:${r.event}`), ['TLS:tls.handshake', 'POP:pop.start']);
});
