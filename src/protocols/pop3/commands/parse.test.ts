// The parse step of each POP3 command: a malformed-argument table (each row says why it exists).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PASSWORD_MAX_BYTES } from '../../../passwords/limits.js';
import { PLAIN_MAX_IDENTITY } from '../../../sasl/mechs/plain.js';
import { parsePop3Line, type Pop3Line } from '../syntax.js';
import { apop } from './apop.js';
import { auth } from './auth.js';
import { capa } from './capa.js';
import { pass } from './pass.js';
import { user } from './user.js';
import type { Parsed } from './types.js';

function line(text: string | Buffer): Pop3Line {
  const r = parsePop3Line(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  assert.ok(r.ok, `test input must parse: ${String(text)}`);
  return r.ok ? r.line : { keyword: '', rest: Buffer.alloc(0), args: [] };
}

test('POP3 command arguments: malformed-input table', () => {
  const rows: [(l: Pop3Line) => Parsed<unknown>, string | Buffer, string, string][] = [
    [user.parse, 'USER', 'USER takes a name', 'no name'],
    [user.parse, `USER ${'a'.repeat(PLAIN_MAX_IDENTITY + 1)}`, 'name too long', 'names are bounded like PLAIN authcids'],
    [user.parse, Buffer.from('USER al\xffce', 'latin1'), 'name is not UTF-8', 'invalid UTF-8 cannot be resolved to an account'],
    [user.parse, 'USER john smith', 'invalid name', 'RFC 1939: the name is one argument'],
    [user.parse, 'USER al\x01ce', 'invalid name', 'a control character could forge log fields'],
    [pass.parse, `PASS ${'p'.repeat(PASSWORD_MAX_BYTES + 1)}`, 'password too long', 'long passwords cost hashing time (src/passwords/limits.ts)'],
    [apop.parse, 'APOP clara', 'APOP takes a name and a digest', 'digest missing'],
    [apop.parse, 'APOP a b c', 'APOP takes a name and a digest', 'three arguments'],
    [apop.parse, Buffer.from('APOP cl\xffra 0123', 'latin1'), 'name is not UTF-8', 'invalid UTF-8'],
    [auth.parse, 'AUTH PLAIN x y', 'AUTH takes a mechanism and an optional initial response', 'two responses'],
    [auth.parse, 'AUTH PLAIN  x', 'AUTH takes a mechanism and an optional initial response', 'double space: an empty argument'],
    [auth.parse, 'AUTH PL.AIN', 'invalid mechanism name', 'RFC 4422 §3.1 name characters'],
    [auth.parse, 'AUTH A23456789012345678901', 'invalid mechanism name', 'RFC 4422: at most 20 characters'],
    [capa.parse, 'CAPA x', 'no arguments expected', 'CAPA takes none'],
  ];
  for (const [parse, input, reason, why] of rows) {
    assert.deepEqual(parse(line(input)), { ok: false, reason }, why);
  }
  assert.deepEqual(auth.parse(line('AUTH')), { ok: true, args: { list: true } });
  assert.deepEqual(auth.parse(line('AUTH PLAIN =')), { ok: true, args: { list: false, mechanism: 'PLAIN', initialResponse: '=' } });
  assert.deepEqual(pass.parse(line('PASS  a b ')), { ok: true, args: { password: Buffer.from(' a b ') } });
});
