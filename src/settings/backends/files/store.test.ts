// The file store's own promises (S1, R4), beyond the conformance suite: where each object lives,
// file modes, hand edits and corrupt files, leftovers of crashes, and that hostile names never
// reach the file system.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { isMailwardError } from '../../../core/errors.js';
import { STORE_MAX_FILE } from '../../../core/limits.js';
import { parseDictionary } from '../../format/index.js';
import { dict, type CgDict } from '../../format/types.js';
import { HOSTILE_ACCOUNT_NAMES, HOSTILE_DOMAIN_NAMES, HOSTILE_NAMES } from '../../store.conformance.js';
import type { ObjectRef } from '../../store.js';
import { firstInvalidUtf8 } from './fsutil.js';
import { LOCK_FILE_NAME } from './lockfile.js';
import { validateObjectName } from './names.js';
import { openFileStore, revisionOf, type FileSettingsStore } from './store.js';

async function withStore(fn: (store: FileSettingsStore, data: string, top: string) => Promise<void>): Promise<void> {
  const top = await fs.mkdtemp(join(tmpdir(), 'mailward-files-'));
  const data = join(top, 'data');
  const store = await openFileStore(data);
  try {
    await fn(store, data, top);
  } finally {
    await store.close();
    await fs.rm(top, { recursive: true, force: true });
  }
}

/** Every path under `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const ent of await fs.readdir(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${ent.name}` : ent.name;
      out.push(ent.isDirectory() ? r + '/' : r);
      if (ent.isDirectory()) await walk(join(d, ent.name), r);
    }
  };
  await walk(dir, '');
  return out.sort();
}

async function corruptError(p: Promise<unknown>): Promise<string> {
  let message = '';
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isMailwardError(e, 'store.corrupt'), `expected store.corrupt, got ${String(e)}`);
    message = e.message;
    return true;
  });
  return message;
}

const LAYOUT: { ref: ObjectRef; path: string }[] = [
  { ref: { kind: 'server' }, path: 'Settings/Main.settings' },
  { ref: { kind: 'serverAccountDefaults' }, path: 'Settings/AccountDefaults.settings' },
  { ref: { kind: 'domain', domain: 'example.com' }, path: 'Domains/example.com/Settings/Domain.settings' },
  { ref: { kind: 'domainAccountDefaults', domain: 'example.com' }, path: 'Domains/example.com/Settings/AccountDefaults.settings' },
  { ref: { kind: 'access', domain: 'example.com' }, path: 'Domains/example.com/Settings/Access.settings' },
  { ref: { kind: 'account', domain: 'example.com', account: 'bob' }, path: 'Domains/example.com/Accounts/bob.macnt/account.settings' },
];

void test('S1 R4 each object lives in its documented file, as readable text', async () => {
  await withStore(async (store, data) => {
    await store.createDomain('example.com');
    await store.createAccount('example.com', 'bob', dict());
    for (const { ref, path } of LAYOUT) {
      const value = dict({ kind: ref.kind, Password: 'hash of ' + ref.kind });
      await store.put(ref, value);
      const text = await fs.readFile(join(data, path), 'utf8');
      assert.deepStrictEqual(parseDictionary(text), value, path);
      assert.match(text, /^\{\n {2}kind = /, `${path} is pretty-printed, one entry per line`);
      assert.ok(text.endsWith('}\n'), `${path} ends with a newline`);
    }
    const files = (await tree(data)).filter((p) => !p.endsWith('/'));
    assert.deepEqual(files, [...LAYOUT.map((l) => l.path), LOCK_FILE_NAME].sort(), 'no other file, no temporary file left behind');
  });
});

void test('S1 files are created 0600 and directories 0700, whatever the umask', { skip: process.platform === 'win32' ? 'POSIX modes' : false }, async () => {
  const old = process.umask(0);
  try {
    await withStore(async (store, data) => {
      await store.createDomain('example.com');
      await store.createAccount('example.com', 'bob', dict({ Password: 'x' }));
      for (const { ref } of LAYOUT) await store.put(ref, dict({ a: 'b' }));
      await store.renameAccount('example.com', 'bob', 'rob');
      for (const p of await tree(data)) {
        const mode = (await fs.stat(join(data, p))).mode & 0o777;
        assert.equal(mode, p.endsWith('/') ? 0o700 : 0o600, `${p}: ${mode.toString(8)}`);
      }
      assert.equal((await fs.stat(data)).mode & 0o777, 0o700, 'the data directory');
    });
  } finally {
    process.umask(old);
  }
});

void test('S1 the revision is derived from the bytes: a hand edit changes it, and old revisions then conflict', async () => {
  await withStore(async (store, data) => {
    const ref: ObjectRef = { kind: 'server' };
    const r1 = await store.put(ref, dict({ LogLevel: 'major' }));
    const file = join(data, 'Settings/Main.settings');
    const bytes = await fs.readFile(file);
    assert.equal(r1, revisionOf(bytes));
    assert.equal(r1, createHash('sha256').update(bytes).digest('hex').slice(0, 24));
    await fs.writeFile(file, '// edited by hand\n{ LogLevel = all; Extra = "added"; }\n');
    const got = await store.get(ref);
    assert.ok(got);
    assert.notEqual(got.revision, r1);
    assert.deepStrictEqual(got.data, dict({ LogLevel: 'all', Extra: 'added' }));
    await assert.rejects(store.put(ref, dict({ LogLevel: 'low' }), r1), (e: unknown) => isMailwardError(e, 'store.conflict'));
    await store.put(ref, dict({ LogLevel: 'low' }), got.revision);
    // Same bytes, same revision: compare-and-set compares contents.
    assert.equal(await store.put(ref, dict({ LogLevel: 'major' })), r1);
  });
});

const CORRUPT: { why: string; text: string | Buffer; line: number; column?: number }[] = [
  { why: 'a missing semicolon, as a hand edit leaves it', text: '{\n  A = b;\n  C = d\n  E = f;\n}\n', line: 4 },
  { why: 'an unterminated quoted string', text: '{\n  A = "open;\n}\n', line: 2 },
  { why: 'a duplicate key (which value would win?)', text: '{\n  A = b;\n  A = c;\n}\n', line: 3 },
  { why: 'garbage after the dictionary', text: '{ A = b; }\n}\n', line: 2, column: 1 },
  { why: 'an array, not a dictionary, at the top', text: '( a, b )\n', line: 1, column: 1 },
  { why: 'an empty file (truncated by a tool that does not write atomically)', text: '', line: 1, column: 1 },
  { why: 'only a comment', text: '// nothing here\n', line: 2 },
  { why: 'a truncated file', text: '{\n  A = b;\n  C = (x, y', line: 3 },
  { why: 'nesting deeper than FORMAT_MAX_DEPTH', text: '{ A = ' + '('.repeat(200) + ')'.repeat(200) + '; }', line: 1 },
  { why: 'invalid UTF-8 on line 2 (a Latin-1 editor)', text: Buffer.from('{\n  Name = "caf\xe9";\n}\n', 'latin1'), line: 2, column: 14 },
  { why: 'an overlong UTF-8 encoding of "/"', text: Buffer.concat([Buffer.from('{ A = "'), Buffer.from([0xc0, 0xaf]), Buffer.from('"; }')]), line: 1, column: 8 },
];

void test('S1 a corrupt or wrongly hand-edited file is store.corrupt with path:line, and is left as it is', async () => {
  await withStore(async (store, data) => {
    await store.createDomain('example.com');
    const ref: ObjectRef = { kind: 'domain', domain: 'example.com' };
    const file = join(data, 'Domains/example.com/Settings/Domain.settings');
    for (const c of CORRUPT) {
      await fs.writeFile(file, c.text);
      const message = await corruptError(store.get(ref));
      const where = `${file}:${c.line}:` + (c.column === undefined ? '' : `${c.column}:`);
      assert.ok(message.startsWith(where), `${c.why}: "${message}" should start with ${where}`);
      assert.deepEqual(await fs.readFile(file), Buffer.from(c.text), `${c.why}: the file is not touched`);
      // A compare-and-set cannot succeed without the current revision, which only a good read gives.
      await assert.rejects(store.put(ref, dict({ A: 'b' }), null), (e: unknown) => isMailwardError(e, 'store.conflict'));
      assert.deepEqual(await fs.readFile(file), Buffer.from(c.text), `${c.why}: still not touched`);
    }
    // The rest of the store keeps working, and an explicit write replaces the broken file.
    assert.deepEqual(await store.listDomains(), ['example.com']);
    await store.put(ref, dict({ A: 'fixed' }));
    assert.deepStrictEqual((await store.get(ref))?.data, dict({ A: 'fixed' }));
  });
});

void test('S1 a corrupt-file message names the place but never quotes the secret around it', async () => {
  await withStore(async (store, data) => {
    const file = join(data, 'Settings/Main.settings');
    await fs.mkdir(dirname(file), { recursive: true });
    await fs.writeFile(file, '{\n  Password = "{SSHA}s3cr3tHashValue" oops;\n}\n');
    const message = await corruptError(store.get({ kind: 'server' }));
    assert.ok(message.startsWith(`${file}:2:`), message);
    assert.doesNotMatch(message, /s3cr3t/);
  });
});

void test('S1 a byte-order mark from a Windows editor is accepted', async () => {
  await withStore(async (store, data) => {
    const file = join(data, 'Settings/Main.settings');
    await fs.mkdir(dirname(file), { recursive: true });
    await fs.writeFile(file, '\ufeff{ A = b; }\n');
    assert.deepStrictEqual((await store.get({ kind: 'server' }))?.data, dict({ A: 'b' }));
  });
});

void test('S1 a settings file larger than STORE_MAX_FILE, or a directory in its place, is store.corrupt', async () => {
  await withStore(async (store, data) => {
    const file = join(data, 'Settings/Main.settings');
    await fs.mkdir(dirname(file), { recursive: true });
    await fs.writeFile(file, '');
    await fs.truncate(file, STORE_MAX_FILE + 1); // sparse: no real megabytes written
    const started = Date.now();
    assert.match(await corruptError(store.get({ kind: 'server' })), /more than/);
    assert.ok(Date.now() - started < 1000, 'refused from its size, without reading it');
    await fs.rm(file);
    await fs.mkdir(file);
    assert.match(await corruptError(store.get({ kind: 'server' })), /not a regular file/);
  });
});

void test('S1 a put whose text would exceed STORE_MAX_FILE is refused (the store could not read it back)', async () => {
  await withStore(async (store, data) => {
    const before = await tree(data);
    const big = dict({ blob: 'x'.repeat(STORE_MAX_FILE) });
    await assert.rejects(store.put({ kind: 'server' }, big), (e: unknown) => isMailwardError(e, 'format.limit'));
    assert.deepEqual(await tree(data), before, 'nothing written');
    assert.equal(await store.get({ kind: 'server' }), null);
  });
});

void test('S1 hand-made domains without subdirectories work; stray entries are ignored by listings', async () => {
  await withStore(async (store, data) => {
    await fs.mkdir(join(data, 'Domains/handmade.example'), { recursive: true, mode: 0o700 });
    await fs.mkdir(join(data, 'Domains/Upper.Example'));
    await fs.writeFile(join(data, 'Domains/notes.txt'), 'not a domain');
    await fs.writeFile(join(data, 'Domains/file.example'), 'a file, not a directory');
    assert.deepEqual(await store.listDomains(), ['handmade.example']);
    assert.deepEqual(await store.listAccounts('handmade.example'), []);
    assert.equal(await store.get({ kind: 'access', domain: 'handmade.example' }), null);
    await store.put({ kind: 'access', domain: 'handmade.example' }, dict({ postmaster: ['All'] }));
    await store.createAccount('handmade.example', 'bob', dict());
    await fs.mkdir(join(data, 'Domains/handmade.example/Accounts/noext'));
    await fs.mkdir(join(data, 'Domains/handmade.example/Accounts/Bad.macnt'));
    await fs.writeFile(join(data, 'Domains/handmade.example/Accounts/file.macnt'), '');
    assert.deepEqual(await store.listAccounts('handmade.example'), ['bob']);
  });
});

void test('S1 leftovers of a crashed writer are invisible, and swept when its lock is taken over', async () => {
  const top = await fs.mkdtemp(join(tmpdir(), 'mailward-files-'));
  try {
    const data = join(top, 'data');
    let store = await openFileStore(data);
    await store.createDomain('example.com');
    await store.createAccount('example.com', 'bob', dict({ a: 'b' }));
    await store.put({ kind: 'server' }, dict({ a: 'b' }));
    await store.close();
    const leftovers = [
      'Settings/.Main.settings.0123456789abcdef.tmp',
      'Domains/.gone.example.0123456789abcdef.deleted/',
      'Domains/.gone.example.0123456789abcdef.deleted/Settings/',
      'Domains/example.com/Settings/.Access.settings.fedcba9876543210.tmp',
      'Domains/example.com/Accounts/.carol.macnt.0123456789abcdef.tmp/',
      'Domains/example.com/Accounts/.dave.macnt.0123456789abcdef.deleted/',
      'Domains/example.com/Accounts/bob.macnt/.account.settings.0123456789abcdef.tmp',
    ];
    for (const l of leftovers) {
      if (l.endsWith('/')) await fs.mkdir(join(data, l), { recursive: true });
      else await fs.writeFile(join(data, l), '{ half = ');
    }
    const before = await tree(data);
    store = await openFileStore(data, { lock: false });
    assert.deepEqual(await store.listDomains(), ['example.com']);
    assert.deepEqual(await store.listAccounts('example.com'), ['bob']);
    await store.close();
    assert.deepEqual(await tree(data), before, 'a clean open does not sweep (no crash happened)');
    // A lock left by a dead process: that process crashed, so its leftovers go.
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    assert.ok(dead);
    const { hostname } = await import('node:os');
    await fs.writeFile(join(data, LOCK_FILE_NAME), `${dead}\n${hostname()}\n${'0'.repeat(32)}\n`);
    store = await openFileStore(data);
    const after = await tree(data);
    for (const l of leftovers) assert.ok(!after.includes(l), `${l} swept`);
    assert.ok(after.includes('Domains/example.com/Accounts/bob.macnt/account.settings'));
    assert.deepEqual((await store.get({ kind: 'server' }))?.data, dict({ a: 'b' }));
    const lock = await fs.readFile(join(data, LOCK_FILE_NAME), 'utf8');
    assert.equal(lock.split('\n')[0], String(process.pid), 'the lock is ours now');
    await store.close();
    await assert.rejects(fs.stat(join(data, LOCK_FILE_NAME)), 'close releases the lock');
  } finally {
    await fs.rm(top, { recursive: true, force: true });
  }
});

void test('S1 hostile names never touch the file system outside (or inside) the data directory', async () => {
  await withStore(async (store, _data, top) => {
    await store.createDomain('example.com');
    await store.createAccount('example.com', 'bob', dict());
    const before = await tree(top);
    const payload: CgDict = dict({ evil: 'yes' });
    const attempts: Promise<unknown>[] = [];
    for (const { name: n } of [...HOSTILE_NAMES, ...HOSTILE_DOMAIN_NAMES]) {
      attempts.push(store.createDomain(n), store.renameDomain('example.com', n), store.deleteDomain(n));
      for (const kind of ['domain', 'domainAccountDefaults', 'access'] as const) attempts.push(store.put({ kind, domain: n }, payload));
      attempts.push(store.createAccount(n, 'bob', payload));
    }
    for (const { name: n } of [...HOSTILE_NAMES, ...HOSTILE_ACCOUNT_NAMES]) {
      attempts.push(store.createAccount('example.com', n, payload), store.renameAccount('example.com', 'bob', n));
      attempts.push(store.put({ kind: 'account', domain: 'example.com', account: n }, payload), store.deleteAccount('example.com', n));
    }
    const results = await Promise.allSettled(attempts);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok(isMailwardError(r.reason, 'name.invalid'), String(r.reason));
    }
    assert.deepEqual(await tree(top), before);
    assert.ok(before.every((p) => p.startsWith('data/')), 'and nothing was ever outside data/');
  });
});

void test('S1 property: any accepted name stays one path component inside its directory', () => {
  const root = resolve('/srv/mailward/data/Domains');
  const pathy = fc.constantFrom('.', '/', '\\', '..', '%', '\0', '\n', ':', 'a', 'z', '0', '-', '_', '+', 'A', '\u2215', '\uff0e', 'é', ' ');
  const candidates = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.string({ unit: 'grapheme', maxLength: 50 }),
    fc.array(pathy, { maxLength: 30 }).map((a) => a.join('')),
  );
  fc.assert(fc.property(candidates, fc.constantFrom('domain', 'account') as fc.Arbitrary<'domain' | 'account'>, (name, kind) => {
    const check = validateObjectName(kind, name);
    if (!check.ok) {
      assert.equal(typeof check.reason, 'string');
      return;
    }
    const p = resolve(root, name);
    assert.equal(dirname(p), root, `${JSON.stringify(name)} stays in its directory`);
    assert.equal(basename(p), name);
    assert.ok(!name.includes(sep) && name !== '.' && name !== '..');
    assert.match(name, /^[a-z0-9][a-z0-9._+-]*$/);
  }), { numRuns: 5000 });
});

void test('S1 property: the UTF-8 check of settings files agrees with Node\'s, and points at the first bad byte', () => {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => new Uint8Array(Buffer.from(s))),
    // Valid text with one byte changed: mostly the subtle cases (truncated sequences, overlongs).
    fc.tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), fc.nat(), fc.integer({ min: 0, max: 255 }))
      .map(([s, i, v]) => { const b = new Uint8Array(Buffer.from(s)); b[i % b.length] = v; return b; }),
  );
  fc.assert(fc.property(bytes, (b) => {
    const at = firstInvalidUtf8(b);
    assert.equal(at === -1, isUtf8(b));
    if (at >= 0) {
      assert.ok(isUtf8(b.subarray(0, at)), 'everything before the reported byte is valid');
    }
  }), { numRuns: 3000 });
  const table: [bytes: number[], at: number, why: string][] = [
    [[0x61, 0xc0, 0xaf], 1, 'overlong "/" (the classic path-traversal encoding)'],
    [[0xe0, 0x80, 0xaf], 0, 'overlong three-byte "/"'],
    [[0xed, 0xa0, 0x80], 0, 'a UTF-16 surrogate encoded as UTF-8 (CESU-8)'],
    [[0xf4, 0x90, 0x80, 0x80], 0, 'beyond U+10FFFF'],
    [[0xf5, 0x80, 0x80, 0x80], 0, 'a lead byte that never occurs'],
    [[0x61, 0x62, 0xe2, 0x82], 2, 'a sequence cut off at the end of the file'],
    [[0x80], 0, 'a continuation byte with no lead'],
    [[0xe2, 0x82, 0xac], -1, 'the euro sign is fine'],
  ];
  for (const [b, at, why] of table) assert.equal(firstInvalidUtf8(new Uint8Array(b)), at, why);
});

void test('S1 validateObjectName refuses non-strings and says why a name is refused', () => {
  for (const v of [undefined, null, 42, {}, ['a']]) assert.equal(validateObjectName('domain', v).ok, false);
  const cases: [kind: 'domain' | 'account', name: string, reason: RegExp][] = [
    ['domain', 'Example.com', /uppercase/],
    ['domain', 'a..b', /empty label/],
    ['domain', 'a_b', /a-z, 0-9 and inner hyphens/],
    ['account', 'a..b', /two dots/],
    ['account', '-x', /start with a letter or digit/],
    ['account', 'con', /device name/],
    ['account', 'a'.repeat(300), /longer than/],
  ];
  for (const [kind, name, reason] of cases) {
    const r = validateObjectName(kind, name);
    assert.equal(r.ok, false, name);
    if (!r.ok) assert.match(r.reason, reason, name);
  }
  assert.equal(validateObjectName('domain', 'example.com').ok, true);
  assert.equal(validateObjectName('account', 'john.doe+tag').ok, true);
});
