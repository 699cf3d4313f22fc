// A5, W3: the API's two parsers of client input, the Authorization: Basic header and the JSON form
// of data-format values: malformed-input tables (each row says why it exists) and fuzzing (hostile
// input gives a value or a clean refusal, never an exception).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BASIC_MAX_HEADER, mayUseBasic, parseBasic } from './auth.js';
import { fromJson, toJson } from '../../admin/cli/json.js';
import { cgValue } from '../../settings/format/testing/arbitrary.js';
import { DataBlock, IpAddress, TIME_FUTURE_MS, dict } from '../../settings/format/types.js';

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const deep = (n: number): unknown => { let v: unknown = 1; for (let i = 0; i < n; i++) v = [v]; return v; };

test('A5: Authorization: Basic headers, good and malformed', () => {
  const good: [string, string, string][] = [
    [`Basic ${b64('postmaster:secret')}`, 'postmaster', 'secret'],
    [`basic ${b64('a@b.c:pass:with:colons')}`, 'a@b.c', 'pass:with:colons'],
    [`Basic ${b64('üser:pässwörd')}`, 'üser', 'pässwörd'],
    [`Basic ${b64('user:')}`, 'user', ''],
  ];
  for (const [h, login, password] of good) {
    const r = parseBasic(h);
    assert.ok(typeof r === 'object', h);
    assert.equal(r.login, login);
    assert.equal(r.password.toString('utf8'), password);
  }
  const bad: [string | undefined, 'absent' | 'malformed', string][] = [
    [undefined, 'absent', 'no header'],
    ['', 'absent', 'empty header'],
    ['Bearer abc', 'absent', 'another scheme is no Basic credential'],
    ['Basic', 'malformed', 'Basic without credentials'],
    ['Basic !!!!', 'malformed', 'not base64'],
    [`Basic ${b64('nocolon')}`, 'malformed', 'RFC 7617: user-id ":" password'],
    [`Basic ${b64(':password')}`, 'malformed', 'an empty user name'],
    [`Basic ${b64('ab:c')}=`, 'malformed', 'padding that base64 does not have'],
    [`Basic ${b64('ab:c').replace(/=+$/, '')}`, 'malformed', 'unpadded base64 (strict RFC 4648)'],
    [`Basic ${b64(Buffer.from([0xff, 0x3a, 0x70]))}`, 'malformed', 'a user name that is not UTF-8'],
    [`Basic ${b64('a\nb:c')}`, 'malformed', 'a control character in the user name (log forging)'],
    [`Basic ${'A'.repeat(BASIC_MAX_HEADER)}`, 'malformed', 'beyond BASIC_MAX_HEADER'],
    [`Basic ${b64('a:b')} extra`, 'malformed', 'trailing words'],
  ];
  for (const [h, want, why] of bad) assert.equal(parseBasic(h), want, why);
});

test('A8: Basic only over TLS or between loopback addresses on a listener that allows clear text', () => {
  assert.equal(mayUseBasic({ client: '203.0.113.1', local: '192.0.2.1', secure: true, clearTextLogin: 'tls-only' }), true);
  assert.equal(mayUseBasic({ client: '127.0.0.1', local: '127.0.0.1', secure: false, clearTextLogin: 'always' }), true);
  assert.equal(mayUseBasic({ client: '::ffff:127.0.0.1', local: '::ffff:127.0.0.1', secure: false, clearTextLogin: 'always' }), true);
  assert.equal(mayUseBasic({ client: '127.0.0.1', local: '127.0.0.1', secure: false, clearTextLogin: 'tls-only' }), false);
  assert.equal(mayUseBasic({ client: '10.0.0.1', local: '127.0.0.1', secure: false, clearTextLogin: 'always' }), false);
  assert.equal(mayUseBasic({ client: '127.0.0.1', local: '10.0.0.1', secure: false, clearTextLogin: 'always' }), false);
});

test('A5: fuzz: any header gives credentials, absent or malformed, never an exception', () => {
  fc.assert(fc.property(
    fc.oneof(fc.string({ maxLength: 60 }), fc.uint8Array({ maxLength: 40 }).map((a) => `Basic ${Buffer.from(a).toString('base64')}`), fc.string({ maxLength: 40 }).map((s) => `Basic ${s}`)),
    (h) => {
      const r = parseBasic(h);
      assert.ok(r === 'absent' || r === 'malformed' || (typeof r.login === 'string' && r.login.length > 0 && Buffer.isBuffer(r.password)));
    },
  ), { numRuns: 3000 });
});

test('W3: JSON form of values: the special objects, and refusals with reasons', () => {
  assert.deepStrictEqual(fromJson({ a: [1, 'x', null, true, false] }), { ok: true, value: dict({ a: [1, 'x', null, 'YES', 'NO'] }) });
  assert.deepStrictEqual(fromJson({ $base64: 'AQID' }), { ok: true, value: new DataBlock(Buffer.from([1, 2, 3])) });
  assert.deepStrictEqual(fromJson({ $ip: '10.0.0.1', port: 25 }), { ok: true, value: new IpAddress('10.0.0.1', 25) });
  assert.deepStrictEqual(fromJson({ $time: 'future' }), { ok: true, value: new Date(TIME_FUTURE_MS) });
  const r = fromJson({ ['__proto__']: 1 } as unknown);
  assert.ok(r.ok);
  const bad: [unknown, RegExp, string][] = [
    [1.5, /whole number/, 'the data format has integers only'],
    [2 ** 60, /whole number/, 'beyond 2^53'],
    [{ $base64: 'not base64!' }, /not base64/, 'a data block must be base64'],
    [{ $time: 'yesterday' }, /ISO 8601/, 'times are ISO 8601'],
    [{ $ip: 'example.com' }, /IP address/, 'an address object holds an address'],
    [{ $ip: '10.0.0.1', port: 70000 }, /IP address|port/, 'ports are 0-65535'],
    [{ $ip: '10.0.0.1', port: '25' }, /port is not a number/, 'a port is a number'],
    [deep(70), /nesting deeper/, 'FORMAT_MAX_DEPTH'],
    [{ a: { b: 0.5 } }, /"a": "b": /, 'the reason says where'],
    [undefined, /undefined is not a value/, 'JSON has no undefined, but a caller might pass it'],
  ];
  for (const [v, want, why] of bad) {
    const x = fromJson(v);
    assert.ok(!x.ok, why);
    if (!x.ok) assert.match(x.reason, want, why);
  }
});

test('W3: fuzz: every data-format value survives the JSON form, through JSON text too', () => {
  fc.assert(fc.property(cgValue, (v) => {
    const text = JSON.stringify(toJson(v));
    const back = fromJson(JSON.parse(text));
    assert.ok(back.ok, text);
    assert.deepStrictEqual(back.value, v);
  }), { numRuns: 2000 });
});
