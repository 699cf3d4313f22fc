// The parse step of each IMAP command: a malformed-argument table (each row says why it exists).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PASSWORD_MAX_BYTES } from '../../../passwords/limits.js';
import { PLAIN_MAX_IDENTITY } from '../../../sasl/mechs/plain.js';
import { ID_MAX_FIELD, ID_MAX_PAIRS, ID_MAX_VALUE } from '../limits.js';
import { feedLine, type Token } from '../syntax.js';
import { authenticate } from './authenticate.js';
import { capability } from './capability.js';
import { id } from './id.js';
import { login } from './login.js';
import type { Parsed } from './types.js';

function args(line: string | Buffer): Token[] {
  const tail = typeof line === 'string' ? Buffer.from(line, 'latin1') : line;
  const r = feedLine(null, tail.length === 0 ? Buffer.from('t X') : Buffer.concat([Buffer.from('t X '), tail]));
  assert.equal(r.kind, 'command', `test input must scan: ${String(line)}`);
  return r.kind === 'command' ? r.command.args : [];
}

test('IMAP command arguments: malformed-input table', () => {
  const rows: [(a: readonly Token[]) => Parsed<unknown>, string | Buffer, string, string][] = [
    [login.parse, 'alice', 'LOGIN takes a user name and a password', 'one argument'],
    [login.parse, 'a b c', 'LOGIN takes a user name and a password', 'three arguments'],
    [login.parse, '(alice) pw', 'LOGIN arguments must be strings', 'a list is not an astring'],
    [login.parse, '"" pw', 'empty user name', 'an empty name cannot name an account'],
    [login.parse, `${'a'.repeat(PLAIN_MAX_IDENTITY + 1)} pw`, 'user name too long', 'names are bounded like PLAIN authcids'],
    [login.parse, `alice "${'p'.repeat(PASSWORD_MAX_BYTES + 1)}"`, 'password too long', 'long passwords cost hashing time (src/passwords/limits.ts)'],
    [login.parse, Buffer.from('"al\xffice" pw', 'latin1'), 'user name is not UTF-8', 'invalid UTF-8 cannot be resolved to an account'],
    [login.parse, '"al\tice" pw', 'control character in user name', 'a tab could forge log fields'],
    [authenticate.parse, '', 'AUTHENTICATE takes a mechanism and an optional initial response', 'no mechanism'],
    [authenticate.parse, 'PLAIN a b', 'AUTHENTICATE takes a mechanism and an optional initial response', 'two responses'],
    [authenticate.parse, '"PLAIN"', 'invalid mechanism name', 'RFC 9051: auth-type is an atom'],
    [authenticate.parse, 'PL.AIN', 'invalid mechanism name', 'RFC 4422 §3.1 name characters'],
    [authenticate.parse, 'A23456789012345678901', 'invalid mechanism name', 'RFC 4422: at most 20 characters'],
    [authenticate.parse, 'PLAIN "AGFsaWNl"', 'initial response must be base64 or =', 'SASL-IR is an atom, not a quoted string'],
    [id.parse, '', 'ID takes one argument', 'no argument'],
    [id.parse, 'FOO', 'ID takes NIL or a list', 'an atom other than NIL'],
    [id.parse, '"x"', 'ID takes NIL or a list', 'a string'],
    [id.parse, '("a")', 'ID list must hold field/value pairs', 'odd count'],
    [id.parse, '(NIL "x")', 'ID field must be a string', 'RFC 2971: fields are strings'],
    [id.parse, '("a" ("b"))', 'ID value must be a string or NIL', 'a nested list as value'],
    [id.parse, `("${'f'.repeat(ID_MAX_FIELD + 1)}" "v")`, 'ID field too long', 'RFC 2971: 30 octets'],
    [id.parse, `("f" "${'v'.repeat(ID_MAX_VALUE + 1)}")`, 'ID value too long', 'RFC 2971: 1024 octets'],
    [id.parse, `(${Array.from({ length: ID_MAX_PAIRS + 1 }, (_, i) => `"f${i}" "v"`).join(' ')})`, 'too many ID fields', 'RFC 2971: 30 pairs'],
    [id.parse, Buffer.from('("name" "\xff")', 'latin1'), 'ID text must be UTF-8', 'values are logged as text'],
    [id.parse, '("name" "a\x01b")', 'control character in ID', 'a control character could forge log lines'],
    [capability.parse, 'x', 'no arguments expected', 'CAPABILITY takes none'],
  ];
  for (const [parse, input, reason, why] of rows) {
    assert.deepEqual(parse(args(input)), { ok: false, reason }, why);
  }
  assert.deepEqual(login.parse(args('alice@example.com "p w"')), { ok: true, args: { user: 'alice@example.com', password: Buffer.from('p w') } });
  assert.deepEqual(id.parse(args('("name" NIL)')), { ok: true, args: { params: [['name', null]] } });
});
