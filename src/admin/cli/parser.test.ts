// W3: the CLI command-line parser: the forms CommuniGate Pro's clients send, a malformed-input
// table (each row says why it exists), and fuzzing: hostile lines only ever give a command or a
// failure with a position, never an exception, never a hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CLI_MAX_ARGUMENTS, CLI_MAX_COMMAND_LENGTH, parseCommandLine } from './parser.js';
import { DataBlock, IpAddress, dict, serialize, type CgValue } from '../../settings/format/index.js';
import { cgValue } from '../../settings/format/testing/arbitrary.js';

const args = (line: string): { name: string; values: CgValue[]; atoms: boolean[] } => {
  const r = parseCommandLine(line);
  assert.ok(r.ok, `${line}: ${r.ok ? '' : r.reason}`);
  return { name: r.command.name, values: r.command.args.map((a) => a.value), atoms: r.command.args.map((a) => a.atom) };
};

test('W3: command lines as CommuniGate Pro clients write them', () => {
  const rows: [string, string, CgValue[], boolean[]?][] = [
    ['ListDomains', 'ListDomains', []],
    ['  MainDomainName  ', 'MainDomainName', []],
    ['CreateAccount "user1"', 'CreateAccount', ['user1'], [false]],
    ['RenameAccount "user1" into "user2"', 'RenameAccount', ['user1', 'into', 'user2'], [false, true, false]],
    // CGP::CLI (the Perl module) sends names bare: dots, @, - and _ are atom characters here.
    ['GetAccountSettings user.name@client-1.example_x.com', 'GetAccountSettings', ['user.name@client-1.example_x.com'], [true]],
    ['CreateAccount "user1@client1.com" TextMailbox', 'CreateAccount', ['user1@client1.com', 'TextMailbox'], [false, true]],
    ['UpdateAccountSettings a@b {RealName="J. Smith";Password="x y";}', 'UpdateAccountSettings', ['a@b', dict({ RealName: 'J. Smith', Password: 'x y' })]],
    ['UpdateDomainSettings { DomainAliases = ( "a.com", b ); }', 'UpdateDomainSettings', [dict({ DomainAliases: ['a.com', 'b'] })]],
    ['SetAccountRights a@b (Master,Users)', 'SetAccountRights', ['a@b', ['Master', 'Users']]],
    ['SetClientIPs "10.0.0.0/8\\e192.168.1.1"', 'SetClientIPs', ['10.0.0.0/8\n192.168.1.1']],
    ['SetAccountPassword a TO "p\\"q\\\\r"', 'SetAccountPassword', ['a', 'TO', 'p"q\\r']],
    // Adjacent quoted strings are one string in the data format (long strings are split so).
    ['SetAccountPassword a PASSWORD "abc" "def"', 'SetAccountPassword', ['a', 'PASSWORD', 'abcdef']],
    ['X #12 #-3 #NULL# #I[10.0.0.1]:25 [AQID]', 'X', [12, -3, null, new IpAddress('10.0.0.1', 25), new DataBlock(Buffer.from([1, 2, 3]))]],
    ['X #T01-02-2024_10:00:00', 'X', [new Date(Date.UTC(2024, 1, 1, 10))]],
    ['X {a=(1,{b=c;});} ()', 'X', [dict({ a: ['1', dict({ b: 'c' })] }), []]],
    ['X { a = "}"; /* ) */ b = "(" ; }', 'X', [dict({ a: '}', b: '(' })]],
    ['X\t"tab\tinside"', 'X', ['tab\tinside']],
    ['createaccount x', 'createaccount', ['x']],
    ['X "ünïcødé 😀"', 'X', ['ünïcødé 😀']],
  ];
  for (const [line, name, values, atoms] of rows) {
    const r = args(line);
    assert.equal(r.name, name, line);
    assert.deepStrictEqual(r.values, values, line);
    if (atoms) assert.deepStrictEqual(r.atoms, atoms, line);
  }
});

test('W3: malformed command lines give a reason and a position, never an exception', () => {
  const rows: [line: string, reason: RegExp, why: string][] = [
    ['', /empty command/, 'an empty line is no command'],
    ['   ', /empty command/, 'white space only'],
    ['"CreateAccount" x', /starts with a letter/, 'a command name is never quoted'],
    ['1Create x', /starts with a letter/, 'a name starting with a digit'],
    ['Create{a=b;}', /after the command name/, 'no space after the name'],
    ['Create-Account x', /after the command name/, 'a dash is not part of a command name'],
    [`${'A'.repeat(65)} x`, /command name too long/, 'a name far longer than any command'],
    ['X "unterminated', /unterminated quoted string/, 'no closing quote'],
    ['X "ends in backslash\\', /unterminated quoted string/, 'an escape with nothing after it'],
    ['X "bad \\q escape"', /unknown escape/, 'the data format has a fixed set of escapes'],
    ['X "ctl \u0001 char"', /control character/, 'raw control characters are refused inside strings'],
    ['X { a = b; ', /unterminated dictionary/, 'dictionary not closed'],
    ['X ( a, b ', /unterminated array/, 'array not closed'],
    ['X { a = b }', /expected ';'/, "a dictionary entry ends with ';'"],
    ['X { a = b; a = c; }', /duplicate key/, 'a key may appear once'],
    ['X ( a b )', /expected ',' or '\)'/, 'array items are separated by commas'],
    ['X ( a, b }', /expected ',' or '\)'/, 'brackets that do not match'],
    ['X { a = b; // comment }', /\/\/ comment runs to the end/, 'a // comment would swallow the closing brace'],
    ['X { a /* never closed }', /unterminated \/\* comment/, 'a comment that does not end'],
    ['X [not base64!]', /not a base64 character/, 'data blocks hold base64'],
    ['X [AQI', /unterminated data block/, 'data block not closed'],
    ['X #', /unknown '#' object/, 'a lone #'],
    ['X #99999999999999999', /out of range/, 'numbers are safe integers'],
    ['X #I[999.1.1.1]', /IPv4 or IPv6/, 'an IP object must hold an address'],
    ['X #T31-02-2024', /no such date/, 'February has no 31st'],
    ['X <xml/>', /unexpected '<'/, 'XML objects are not accepted'],
    ['X a"b"', /separate arguments with a space/, 'two arguments run together'],
    ['X {}{}', /separate arguments with a space/, 'two dictionaries run together'],
    ['X a, b', /unexpected ','/, 'commas separate array items, not arguments'],
    ['X ;', /unexpected ';'/, 'a stray semicolon'],
    ['X \u202eevil', /unexpected U\+202E/, 'a bidi override is named, never echoed'],
    [`X ${'('.repeat(70)}${')'.repeat(70)}`, /nesting deeper/, 'nesting beyond FORMAT_MAX_DEPTH'],
    [`X ${'a '.repeat(CLI_MAX_ARGUMENTS + 1)}`, /more than 64 arguments/, 'CLI_MAX_ARGUMENTS bounds the work per line'],
    [`X "${'a'.repeat(CLI_MAX_COMMAND_LENGTH)}"`, /longer than/, 'CLI_MAX_COMMAND_LENGTH bounds what we scan'],
  ];
  for (const [line, reason, why] of rows) {
    const r = parseCommandLine(line);
    assert.ok(!r.ok, `${why}: ${JSON.stringify(line.slice(0, 60))} parsed`);
    if (!r.ok) {
      assert.match(r.reason, reason, `${why}: got ${r.reason}`);
      assert.ok(r.at >= 0 && r.at <= line.length, `${why}: position ${r.at}`);
      assert.doesNotMatch(r.reason, /[\u0000-\u001f\u202e]/, `${why}: the reason must not carry control characters`);
    }
  }
});

/** Runs per property: a few thousand lines, well under a few seconds on 2 cores. */
const RUNS = 3000;
/** No single parse of these short lines may take longer: a hang or a blow-up shows here. */
const SLOW_MS = 250;

function check(line: string): 'ok' | 'fail' {
  const t0 = performance.now();
  const r = parseCommandLine(line);
  const took = performance.now() - t0;
  assert.ok(took < SLOW_MS, `parse of ${line.length} chars took ${took.toFixed(1)} ms`);
  if (r.ok) {
    assert.match(r.command.name, /^[A-Za-z][A-Za-z0-9]*$/);
    return 'ok';
  }
  assert.ok(typeof r.reason === 'string' && r.reason.length > 0);
  assert.ok(Number.isInteger(r.at) && r.at >= 0 && r.at <= line.length, `position ${r.at} of ${line.length}`);
  return 'fail';
}

const SYNTAX = ['{', '}', '(', ')', '[', ']', '"', '\\', '=', ';', ',', '#', '#NULL#', '#T', '#I[', '/*', '*/', '//', ' ', '\t',
  '\r', '\n', 'a', 'Z', '0', '.', '@', '-', '_', 'into', 'PASSWORD', '\u0000', '\u202e', '😀', '\ud800', 'e', 'n'];

test('W3: fuzz: random lines never throw and always end cleanly', () => {
  const seen = { ok: 0, fail: 0 };
  fc.assert(fc.property(
    fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.array(fc.constantFrom(...SYNTAX), { maxLength: 40 }).map((a) => `Cmd ${a.join('')}`),
    ),
    (line) => { seen[check(line)]++; },
  ), { numRuns: RUNS });
  assert.ok(seen.ok > 0 && seen.fail > 0, `both outcomes reached: ${JSON.stringify(seen)}`);
});

test('W3: fuzz: every data-format value written as an argument reads back equal; mutated lines end cleanly', () => {
  let mutatedOk = 0;
  fc.assert(fc.property(fc.array(cgValue, { maxLength: 4 }), fc.nat(), fc.constantFrom(...SYNTAX), (values, at, ins) => {
    // An atom between the values: adjacent quoted strings are one string in the data format.
    const line = ['Cmd', ...values.map((v) => `${serialize(v)} and`)].join(' ');
    const r = parseCommandLine(line);
    assert.ok(r.ok, `${line}: ${r.ok ? '' : r.reason}`);
    if (r.ok) assert.deepStrictEqual(r.command.args.map((a) => a.value), values.flatMap((v) => [v, 'and']));
    // The same line with one syntax character inserted, or one character removed.
    const p = at % (line.length + 1);
    if (check(line.slice(0, p) + ins + line.slice(p)) === 'ok') mutatedOk++;
    check(line.slice(0, p) + line.slice(p + 1));
  }), { numRuns: RUNS / 3 });
  assert.ok(mutatedOk > 0);
});
