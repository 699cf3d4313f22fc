// P6: the OS User Name pattern.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkOsUserName, osUserName } from './names.js';

void test('P6: `*` stands for the account name', () => {
  assert.deepEqual(osUserName('*', 'alice'), { ok: true, name: 'alice' });
  assert.deepEqual(osUserName('mail-*', 'alice'), { ok: true, name: 'mail-alice' });
  assert.deepEqual(osUserName('*%corp', 'alice'), { ok: true, name: 'alice%corp' }, 'on Unix the % part stays in the name');
  assert.deepEqual(osUserName('*-*', 'a'), { ok: true, name: 'a-a' }, 'every * is replaced');
  assert.deepEqual(osUserName('vmail', 'alice'), { ok: true, name: 'vmail' }, 'a pattern without * is one OS user for all');
});

void test('P6: composed names that cannot be OS user names are refused', () => {
  const rows: [string, string, string][] = [
    ['*', '', 'an empty account name gives an empty OS name'],
    ['-*', 'x', 'a leading - could be read as an option by a module that runs a command'],
    ['*', 'a b', 'whitespace is in no user name and splits log fields'],
    ['*', 'a\tb', 'a tab likewise'],
    ['*', 'a\nb', 'a newline would forge a log line'],
    ['*', 'a\0b', 'NUL ends the C string PAM gets'],
    ['*', 'a\x7fb', 'DEL is a control character'],
    ['*', '../etc', 'a / is a path separator (home directories, pam_exec scripts)'],
    ['*', 'a:b', ': separates passwd fields'],
    ['*', 'x'.repeat(256), 'longer than LOGIN_NAME_MAX'],
    ['mail-*', 'x'.repeat(251), 'the pattern makes it too long'],
  ];
  for (const [pattern, account, why] of rows) assert.equal(osUserName(pattern, account).ok, false, why);
});

void test('P6 fuzz: osUserName returns a value for any input, and an accepted name passes the check', () => {
  fc.assert(fc.property(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 40 }), (pattern, account) => {
    const r = osUserName(pattern, account);
    if (r.ok) assert.equal(checkOsUserName(r.name), null);
    else assert.equal(typeof r.why, 'string');
  }), { numRuns: 2000 });
});
