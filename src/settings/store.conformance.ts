/**
 * The one conformance suite every SettingsStore backend passes (SPEC S1; R4 for the access object).
 * A backend's test file calls `runStoreConformance('files', makeStore)`; the PostgreSQL backend
 * will call it with its own factory. Each test gets a fresh, empty store from `makeStore`, and the
 * suite closes it and then calls `cleanup` (which removes what the store left behind).
 *
 * What the interface promises, and so what is tested here: a missing object reads as null inside
 * an existing container and as `store.notFound` outside one; every value type survives a round
 * trip; revisions change with the data; a compare-and-set with a stale or wrong revision is
 * `store.conflict` and changes nothing; containers (domains, accounts) are created, listed in
 * sorted order, renamed with their settings and deleted with their contents; hostile names are
 * `name.invalid` for every operation; and 50 concurrent compare-and-set increments lose nothing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isMailwardError, type ErrorCode } from '../core/errors.js';
import { NAME_MAX_LENGTH } from '../core/limits.js';
import { ACCOUNT_NAME_MAX_LENGTH, DOMAIN_NAME_MAX_LENGTH } from './backends/files/names.js';
import { DataBlock, IpAddress, TIME_FUTURE_MS, TIME_PAST_MS, dict, type CgDict } from './format/types.js';
import type { ObjectRef, SettingsStore } from './store.js';

export interface StoreUnderTest {
  store: SettingsStore;
  /** Removes the backing data; called after the suite has closed the store. */
  cleanup(): Promise<void>;
}

/** A hostile name and why it is in the table. */
export interface HostileName { name: string; why: string }

const long = (n: number): string => 'a'.repeat(n);

/** Names refused both as domain and as account names. */
export const HOSTILE_NAMES: readonly HostileName[] = [
  { name: '', why: 'empty: would name the parent directory itself' },
  { name: '.', why: 'the current directory' },
  { name: '..', why: 'the parent directory' },
  { name: '../x', why: 'climbs out of Domains/' },
  { name: '../../../../etc/passwd', why: 'classic traversal to a system file' },
  { name: 'a/b', why: 'a path separator makes a nested path' },
  { name: '/etc', why: 'an absolute path replaces the data directory in path.join callers that resolve' },
  { name: 'a\\b', why: 'the Windows path separator' },
  { name: '..\\..\\x', why: 'Windows traversal' },
  { name: 'c:x', why: 'a drive letter / NTFS alternate data stream' },
  { name: '%2e%2e', why: 'percent-encoded dot-dot that a later URL layer could decode' },
  { name: '%2f', why: 'percent-encoded slash' },
  { name: 'a\0b', why: 'NUL truncates the path in C APIs' },
  { name: '\0', why: 'NUL alone' },
  { name: 'a\rb', why: 'CR: log and header injection' },
  { name: 'a\nb', why: 'LF: log and header injection, a second line in listings' },
  { name: 'a\tb', why: 'TAB: a control character' },
  { name: 'a\x7fb', why: 'DEL: a control character' },
  { name: 'a\x1bb', why: 'ESC: terminal escape sequences in an admin\'s shell' },
  { name: long(NAME_MAX_LENGTH + 1), why: 'longer than a file name may be' },
  { name: long(100_000), why: 'a huge name must be refused cheaply' },
  { name: 'a\u2215b', why: 'U+2215 DIVISION SLASH looks like a slash' },
  { name: 'a\u2044b', why: 'U+2044 FRACTION SLASH looks like a slash' },
  { name: '\uff0e\uff0e', why: 'FULLWIDTH FULL STOPs normalise (NFKC) to ..' },
  { name: '\uff0e\uff0e\uff0fx', why: 'fullwidth ../x' },
  { name: 'e\u0301', why: 'a combining mark: two spellings of one visible name' },
  { name: 'a\u202eb', why: 'RIGHT-TO-LEFT OVERRIDE hides the real name on screen' },
  { name: '\ufeffa', why: 'a zero-width no-break space: an invisible second spelling' },
  { name: 'a\u200bb', why: 'ZERO WIDTH SPACE: an invisible second spelling' },
  { name: '\uff41', why: 'FULLWIDTH a: a look-alike of a' },
  { name: '\u0430', why: 'Cyrillic a: a look-alike of Latin a' },
  { name: '\ud800', why: 'an unpaired surrogate is not text' },
  { name: '.hidden', why: 'a leading dot hides the directory (and the store\'s temporary names start with one)' },
  { name: 'a.', why: 'a trailing dot, which Windows strips: a second spelling' },
  { name: 'a..b', why: 'two dots in a row' },
  { name: 'con', why: 'a Windows device name' },
  { name: 'nul', why: 'a Windows device name' },
  { name: 'aux.example', why: 'a Windows device name with an extension is still the device' },
  { name: 'com1', why: 'a Windows device name' },
  { name: 'Example', why: 'uppercase: the store keeps one spelling per name' },
  { name: 'BOB', why: 'uppercase' },
  { name: '-rf', why: 'a leading hyphen reads as an option to helper programs' },
  { name: ' a', why: 'a leading space' },
  { name: 'a b', why: 'a space' },
  { name: 'a*', why: 'a shell wildcard' },
  { name: 'a?', why: 'a shell wildcard' },
  { name: '~root', why: 'a home-directory shorthand' },
  { name: 'a;b', why: 'a shell command separator' },
  { name: 'a|b', why: 'a shell pipe' },
  { name: 'a"b', why: 'a quote' },
  { name: 'a<b', why: 'a redirection' },
  { name: 'a@b', why: 'an address, not a name' },
];

/** Refused as domain names only (allowed in account names). */
export const HOSTILE_DOMAIN_NAMES: readonly HostileName[] = [
  { name: 'a_b.example', why: 'underscore is not a host-name character' },
  { name: 'a+b.example', why: 'plus is not a host-name character' },
  { name: '-a.example', why: 'a label may not start with a hyphen (RFC 1123)' },
  { name: 'a-.example', why: 'a label may not end with a hyphen (RFC 1123)' },
  { name: `${long(64)}.example`, why: 'a label longer than 63 characters (RFC 1035)' },
  { name: `${long(63)}.${long(63)}.${long(63)}.${long(63)}`, why: '255 characters: longer than a DNS name (253)' },
];

/** Refused as account names only. */
export const HOSTILE_ACCOUNT_NAMES: readonly HostileName[] = [
  { name: long(ACCOUNT_NAME_MAX_LENGTH + 1), why: 'with the .macnt suffix the directory name would exceed NAME_MAX' },
  { name: '_a', why: 'must start with a letter or digit' },
  { name: '+a', why: 'must start with a letter or digit' },
];

/** Names that must be accepted. */
export const VALID_DOMAIN_NAMES = [
  'example.com', 'a', '0', 'localhost', 'mail-1.example', 'xn--bcher-kva.example', '1.2.3.4',
  `${long(63)}.${long(63)}.${long(63)}.${long(61)}`, // 253 characters, the DNS maximum
];
export const VALID_ACCOUNT_NAMES = [
  'bob', 'john.doe', 'a_b', 'a+tag', 'a-b', '1', 'x', 'postmaster', 'a.b.c', 'a.macnt', long(ACCOUNT_NAME_MAX_LENGTH),
];

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, what: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isMailwardError(e), `${what}: expected MailwardError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `${what}: expected ${code}, got ${e.code}: ${e.message}`);
    return true;
  }, `${what}: expected ${code}, but it succeeded`);
}

const shown = (n: string): string => JSON.stringify(n.length > 40 ? n.slice(0, 40) + '...' : n);

/** Every kind of value the data format carries, with the awkward corners of each. */
export function allValueTypes(): CgDict {
  const bytes = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) bytes[i] = i;
  const tricky = dict();
  tricky['__proto__'] = 'not a prototype';
  tricky['constructor'] = 'not a function';
  tricky['key with spaces'] = 'v';
  tricky[''] = 'empty key';
  tricky['ключ'] = 'unicode key';
  return dict({
    atom: 'Hello',
    empty: '',
    spaces: 'two words',
    quotes: 'say "hi" \\ back',
    controls: 'line1\nline2\r\ttab\x01\x1f\x7f',
    unicode: 'héllo 中文 😀',
    bidi: 'a\u202eb\u200fc\ufeff',
    hashLike: '#NULL#',
    brackets: '{ a = b; } ( c ) [ZGF0YQ==]',
    zero: 0,
    negative: -12,
    big: Number.MAX_SAFE_INTEGER,
    small: Number.MIN_SAFE_INTEGER,
    nothing: null,
    date: new Date(Date.UTC(2024, 1, 29, 23, 59, 58)),
    epoch: new Date(0),
    past: new Date(TIME_PAST_MS),
    future: new Date(TIME_FUTURE_MS),
    block: new DataBlock(bytes),
    emptyBlock: new DataBlock(Buffer.alloc(0)),
    ip4: new IpAddress('192.0.2.1'),
    ip6port: new IpAddress('2001:db8::1', 993),
    emptyArray: [],
    array: ['a', 1, null, ['nested', ['deeper']], dict({ in: 'array' })],
    emptyDict: dict(),
    nested: dict({ level1: dict({ level2: dict({ level3: ['x'] }) }) }),
    tricky,
  });
}

export function runStoreConformance(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  /** A test with a fresh store, closed and cleaned up whatever happens. */
  const it = (title: string, fn: (store: SettingsStore) => Promise<void>): void => {
    void test(title, async () => {
      const { store, cleanup } = await makeStore();
      try {
        await fn(store);
      } finally {
        try { await store.close(); } finally { await cleanup(); }
      }
    });
  };

  const D = 'example.com';
  const domainRefs = (domain: string): ObjectRef[] => [
    { kind: 'domain', domain },
    { kind: 'domainAccountDefaults', domain },
    { kind: 'access', domain },
  ];

  void describe(`S1 R4 settings store conformance: ${name}`, () => {
    it('S1 a missing server object reads as null', async (s) => {
      assert.equal(await s.get({ kind: 'server' }), null);
      assert.equal(await s.get({ kind: 'serverAccountDefaults' }), null);
      assert.deepEqual(await s.listDomains(), []);
    });

    it('S1 R4 missing settings of an existing domain read as null; of a missing domain, store.notFound', async (s) => {
      await s.createDomain(D);
      for (const ref of domainRefs(D)) assert.equal(await s.get(ref), null, ref.kind);
      for (const ref of domainRefs('missing.example')) await rejectsWith(s.get(ref), 'store.notFound', `get ${ref.kind}`);
      await rejectsWith(s.get({ kind: 'account', domain: D, account: 'nobody' }), 'store.notFound', 'get account of a missing account');
      await rejectsWith(s.get({ kind: 'account', domain: 'missing.example', account: 'bob' }), 'store.notFound', 'get account of a missing domain');
    });

    it('S1 put/get round trip keeps every value type', async (s) => {
      await s.createDomain(D);
      await s.createAccount(D, 'bob', dict());
      const value = allValueTypes();
      const refs: ObjectRef[] = [{ kind: 'server' }, { kind: 'serverAccountDefaults' }, ...domainRefs(D), { kind: 'account', domain: D, account: 'bob' }];
      for (const ref of refs) {
        const revision = await s.put(ref, value);
        const got = await s.get(ref);
        assert.ok(got, ref.kind);
        assert.deepStrictEqual(got.data, value, ref.kind);
        assert.equal(got.revision, revision, `${ref.kind}: get reports the revision put returned`);
        assert.equal(Object.getPrototypeOf(got.data), null, 'dictionaries have no prototype');
        assert.equal(Object.getPrototypeOf(got.data['tricky']), null, 'nested dictionaries have no prototype');
      }
    });

    it('S1 a large object (1 MB string, 2,000 keys) round-trips', async (s) => {
      const big = dict({ blob: 'x'.repeat(1024 * 1024) });
      for (let i = 0; i < 2000; i++) big[`key${i}`] = `value ${i}`;
      await s.put({ kind: 'server' }, big);
      assert.deepStrictEqual((await s.get({ kind: 'server' }))?.data, big);
    });

    it('S1 R4 each object is separate: writing one leaves the others alone', async (s) => {
      await s.createDomain(D);
      await s.createDomain('other.example');
      await s.createAccount(D, 'bob', dict({ who: 'bob of example.com' }));
      await s.createAccount('other.example', 'bob', dict({ who: 'bob of other.example' }));
      const refs: ObjectRef[] = [
        { kind: 'server' }, { kind: 'serverAccountDefaults' }, ...domainRefs(D), ...domainRefs('other.example'),
      ];
      for (const [i, ref] of refs.entries()) await s.put(ref, dict({ which: i }));
      for (const [i, ref] of refs.entries()) assert.deepStrictEqual((await s.get(ref))?.data, dict({ which: i }), JSON.stringify(ref));
      assert.deepStrictEqual((await s.get({ kind: 'account', domain: D, account: 'bob' }))?.data, dict({ who: 'bob of example.com' }));
      assert.deepStrictEqual((await s.get({ kind: 'account', domain: 'other.example', account: 'bob' }))?.data, dict({ who: 'bob of other.example' }));
      await s.remove({ kind: 'access', domain: D });
      assert.equal(await s.get({ kind: 'access', domain: D }), null);
      assert.deepStrictEqual((await s.get({ kind: 'access', domain: 'other.example' }))?.data, dict({ which: refs.length - 1 }));
    });

    it('S1 returned data is a copy: changing it, or the object given to put, changes nothing stored', async (s) => {
      const given = dict({ list: ['a'], inner: dict({ k: 'v' }) });
      await s.put({ kind: 'server' }, given);
      (given['list'] as string[]).push('changed after put');
      const first = await s.get({ kind: 'server' });
      assert.ok(first);
      (first.data['list'] as string[]).push('changed after get');
      (first.data['inner'] as CgDict)['k'] = 'changed';
      assert.deepStrictEqual((await s.get({ kind: 'server' }))?.data, dict({ list: ['a'], inner: dict({ k: 'v' }) }));
    });

    it('S1 revisions: opaque strings that change with the data', async (s) => {
      const r1 = await s.put({ kind: 'server' }, dict({ n: 1 }));
      assert.equal(typeof r1, 'string');
      assert.ok(r1.length > 0);
      const r2 = await s.put({ kind: 'server' }, dict({ n: 2 }));
      assert.notEqual(r2, r1);
      assert.equal((await s.get({ kind: 'server' }))?.revision, r2);
      const r3 = await s.put({ kind: 'server' }, dict({ n: 3 }), r2);
      assert.notEqual(r3, r2);
      assert.equal((await s.get({ kind: 'server' }))?.revision, r3);
    });

    it('S1 compare-and-set: a stale revision is store.conflict and changes nothing', async (s) => {
      const r1 = await s.put({ kind: 'server' }, dict({ n: 1 }));
      const r2 = await s.put({ kind: 'server' }, dict({ n: 2 }), r1);
      await rejectsWith(s.put({ kind: 'server' }, dict({ n: 99 }), r1), 'store.conflict', 'put with a stale revision');
      await rejectsWith(s.put({ kind: 'server' }, dict({ n: 99 }), 'no-such-revision'), 'store.conflict', 'put with a made-up revision');
      await rejectsWith(s.put({ kind: 'server' }, dict({ n: 99 }), ''), 'store.conflict', 'put with an empty revision');
      const got = await s.get({ kind: 'server' });
      assert.deepStrictEqual(got?.data, dict({ n: 2 }));
      assert.equal(got?.revision, r2);
    });

    it('S1 compare-and-set: expected null means "must not exist yet"', async (s) => {
      await s.createDomain(D);
      const ref: ObjectRef = { kind: 'access', domain: D };
      await rejectsWith(s.put(ref, dict({ n: 1 }), 'some-revision'), 'store.conflict', 'put at a revision of a missing object');
      assert.equal(await s.get(ref), null);
      const r1 = await s.put(ref, dict({ n: 1 }), null);
      await rejectsWith(s.put(ref, dict({ n: 2 }), null), 'store.conflict', 'put with null over an existing object');
      assert.equal((await s.get(ref))?.revision, r1);
      await s.remove(ref);
      await s.put(ref, dict({ n: 3 }), null);
      assert.deepStrictEqual((await s.get(ref))?.data, dict({ n: 3 }));
    });

    it('S1 compare-and-set works on account objects', async (s) => {
      await s.createDomain(D);
      await s.createAccount(D, 'bob', dict({ n: 0 }));
      const ref: ObjectRef = { kind: 'account', domain: D, account: 'bob' };
      const cur = await s.get(ref);
      assert.ok(cur);
      await rejectsWith(s.put(ref, dict({ n: 1 }), null), 'store.conflict', 'account exists with settings');
      await s.put(ref, dict({ n: 1 }), cur.revision);
      await rejectsWith(s.put(ref, dict({ n: 2 }), cur.revision), 'store.conflict', 'stale account revision');
      assert.deepStrictEqual((await s.get(ref))?.data, dict({ n: 1 }));
    });

    it('S1 remove: the object reads as null afterwards; removing a missing object is not an error', async (s) => {
      await s.createDomain(D);
      await s.createAccount(D, 'bob', dict({ a: 'b' }));
      const refs: ObjectRef[] = [{ kind: 'server' }, { kind: 'serverAccountDefaults' }, ...domainRefs(D)];
      for (const ref of refs) {
        await s.put(ref, dict({ x: 'y' }));
        await s.remove(ref);
        assert.equal(await s.get(ref), null, ref.kind);
        await s.remove(ref);
      }
      // An account's settings object can be removed too; the account itself stays (deleteAccount removes it).
      await s.remove({ kind: 'account', domain: D, account: 'bob' });
      assert.equal(await s.get({ kind: 'account', domain: D, account: 'bob' }), null);
      assert.deepEqual(await s.listAccounts(D), ['bob']);
      await rejectsWith(s.remove({ kind: 'domain', domain: 'missing.example' }), 'store.notFound', 'remove in a missing domain');
      await rejectsWith(s.remove({ kind: 'account', domain: D, account: 'nobody' }), 'store.notFound', 'remove of a missing account');
    });

    it('S1 put into a missing domain or account is store.notFound and creates nothing', async (s) => {
      for (const ref of domainRefs('missing.example')) {
        await rejectsWith(s.put(ref, dict({ a: 'b' })), 'store.notFound', `put ${ref.kind}`);
        await rejectsWith(s.put(ref, dict({ a: 'b' }), null), 'store.notFound', `put ${ref.kind} with expected null`);
      }
      await s.createDomain(D);
      await rejectsWith(s.put({ kind: 'account', domain: D, account: 'nobody' }, dict()), 'store.notFound', 'put for a missing account');
      await rejectsWith(s.put({ kind: 'account', domain: 'missing.example', account: 'bob' }, dict()), 'store.notFound', 'put for an account of a missing domain');
      assert.deepEqual(await s.listDomains(), [D]);
      assert.deepEqual(await s.listAccounts(D), []);
    });

    it('S1 domains: create, list in sorted order, refuse duplicates, delete', async (s) => {
      for (const d of ['b.example', 'a.example', 'c.example', 'a', 'a-b.example', 'a0.example']) await s.createDomain(d);
      assert.deepEqual(await s.listDomains(), ['a', 'a-b.example', 'a.example', 'a0.example', 'b.example', 'c.example']);
      await rejectsWith(s.createDomain('a.example'), 'store.exists', 'duplicate domain');
      await s.deleteDomain('b.example');
      assert.deepEqual(await s.listDomains(), ['a', 'a-b.example', 'a.example', 'a0.example', 'c.example']);
      await rejectsWith(s.deleteDomain('b.example'), 'store.notFound', 'delete of a deleted domain');
      await rejectsWith(s.get({ kind: 'domain', domain: 'b.example' }), 'store.notFound', 'get in a deleted domain');
    });

    it('S1 R4 deleting a domain removes its settings and accounts', async (s) => {
      await s.createDomain(D);
      for (const ref of domainRefs(D)) await s.put(ref, dict({ old: 'yes' }));
      await s.createAccount(D, 'bob', dict({ old: 'yes' }));
      await s.createAccount(D, 'alice', dict({ old: 'yes' }));
      await s.deleteDomain(D);
      assert.deepEqual(await s.listDomains(), []);
      await rejectsWith(s.listAccounts(D), 'store.notFound', 'accounts of a deleted domain');
      await s.createDomain(D);
      for (const ref of domainRefs(D)) assert.equal(await s.get(ref), null, `${ref.kind} of the re-created domain`);
      assert.deepEqual(await s.listAccounts(D), []);
    });

    it('S1 R4 renaming a domain keeps its settings and accounts', async (s) => {
      await s.createDomain(D);
      for (const [i, ref] of domainRefs(D).entries()) await s.put(ref, dict({ i }));
      await s.createAccount(D, 'bob', dict({ name: 'bob' }));
      await s.renameDomain(D, 'renamed.example');
      assert.deepEqual(await s.listDomains(), ['renamed.example']);
      for (const [i, ref] of domainRefs('renamed.example').entries()) assert.deepStrictEqual((await s.get(ref))?.data, dict({ i }), ref.kind);
      assert.deepEqual(await s.listAccounts('renamed.example'), ['bob']);
      assert.deepStrictEqual((await s.get({ kind: 'account', domain: 'renamed.example', account: 'bob' }))?.data, dict({ name: 'bob' }));
      await rejectsWith(s.get({ kind: 'domain', domain: D }), 'store.notFound', 'the old name is gone');
      await rejectsWith(s.renameDomain(D, 'x.example'), 'store.notFound', 'rename of a missing domain');
    });

    it('S1 renaming a domain onto an existing one is store.exists and changes neither', async (s) => {
      await s.createDomain('a.example');
      await s.createDomain('b.example');
      await s.put({ kind: 'domain', domain: 'a.example' }, dict({ is: 'a' }));
      await s.put({ kind: 'domain', domain: 'b.example' }, dict({ is: 'b' }));
      await rejectsWith(s.renameDomain('a.example', 'b.example'), 'store.exists', 'rename onto an existing domain');
      await rejectsWith(s.renameDomain('a.example', 'a.example'), 'store.exists', 'rename onto itself');
      // An existing domain without any settings is still a domain.
      await s.createDomain('empty.example');
      await rejectsWith(s.renameDomain('a.example', 'empty.example'), 'store.exists', 'rename onto an empty domain');
      assert.deepStrictEqual((await s.get({ kind: 'domain', domain: 'a.example' }))?.data, dict({ is: 'a' }));
      assert.deepStrictEqual((await s.get({ kind: 'domain', domain: 'b.example' }))?.data, dict({ is: 'b' }));
      assert.equal(await s.get({ kind: 'domain', domain: 'empty.example' }), null);
    });

    it('S1 accounts: create with settings, list in sorted order, refuse duplicates, delete', async (s) => {
      await s.createDomain(D);
      await s.createDomain('other.example');
      for (const a of ['carol', 'alice', 'bob', 'a.b', 'a-b', 'a_b', 'a+b']) await s.createAccount(D, a, dict({ name: a }));
      assert.deepEqual(await s.listAccounts(D), ['a+b', 'a-b', 'a.b', 'a_b', 'alice', 'bob', 'carol']);
      assert.deepEqual(await s.listAccounts('other.example'), []);
      assert.deepStrictEqual((await s.get({ kind: 'account', domain: D, account: 'alice' }))?.data, dict({ name: 'alice' }));
      await rejectsWith(s.createAccount(D, 'alice', dict()), 'store.exists', 'duplicate account');
      assert.deepStrictEqual((await s.get({ kind: 'account', domain: D, account: 'alice' }))?.data, dict({ name: 'alice' }), 'a refused duplicate leaves the settings alone');
      await s.deleteAccount(D, 'alice');
      assert.deepEqual(await s.listAccounts(D), ['a+b', 'a-b', 'a.b', 'a_b', 'bob', 'carol']);
      await rejectsWith(s.get({ kind: 'account', domain: D, account: 'alice' }), 'store.notFound', 'a deleted account');
      await rejectsWith(s.deleteAccount(D, 'alice'), 'store.notFound', 'delete of a deleted account');
      await s.createAccount(D, 'alice', dict({ fresh: 'yes' }));
      assert.deepStrictEqual((await s.get({ kind: 'account', domain: D, account: 'alice' }))?.data, dict({ fresh: 'yes' }));
    });

    it('S1 account operations in a missing domain are store.notFound', async (s) => {
      await rejectsWith(s.listAccounts('missing.example'), 'store.notFound', 'listAccounts');
      await rejectsWith(s.createAccount('missing.example', 'bob', dict()), 'store.notFound', 'createAccount');
      await rejectsWith(s.renameAccount('missing.example', 'bob', 'rob'), 'store.notFound', 'renameAccount');
      await rejectsWith(s.deleteAccount('missing.example', 'bob'), 'store.notFound', 'deleteAccount');
      assert.deepEqual(await s.listDomains(), []);
    });

    it('S1 renaming an account keeps its settings; onto an existing account is store.exists', async (s) => {
      await s.createDomain(D);
      await s.createAccount(D, 'bob', dict({ is: 'bob' }));
      await s.createAccount(D, 'carol', dict({ is: 'carol' }));
      await s.renameAccount(D, 'bob', 'robert');
      assert.deepEqual(await s.listAccounts(D), ['carol', 'robert']);
      assert.deepStrictEqual((await s.get({ kind: 'account', domain: D, account: 'robert' }))?.data, dict({ is: 'bob' }));
      await rejectsWith(s.get({ kind: 'account', domain: D, account: 'bob' }), 'store.notFound', 'the old account name');
      await rejectsWith(s.renameAccount(D, 'robert', 'carol'), 'store.exists', 'rename onto an existing account');
      await rejectsWith(s.renameAccount(D, 'robert', 'robert'), 'store.exists', 'rename onto itself');
      await rejectsWith(s.renameAccount(D, 'nobody', 'someone'), 'store.notFound', 'rename of a missing account');
      assert.deepStrictEqual((await s.get({ kind: 'account', domain: D, account: 'carol' }))?.data, dict({ is: 'carol' }));
      assert.deepStrictEqual((await s.get({ kind: 'account', domain: D, account: 'robert' }))?.data, dict({ is: 'bob' }));
    });

    it('S1 valid names, up to the longest, are accepted', async (s) => {
      for (const d of VALID_DOMAIN_NAMES) await s.createDomain(d);
      assert.deepEqual(await s.listDomains(), [...VALID_DOMAIN_NAMES].sort());
      for (const a of VALID_ACCOUNT_NAMES) await s.createAccount('example.com', a, dict({ a }));
      assert.deepEqual(await s.listAccounts('example.com'), [...VALID_ACCOUNT_NAMES].sort());
      for (const a of VALID_ACCOUNT_NAMES) {
        assert.deepStrictEqual((await s.get({ kind: 'account', domain: 'example.com', account: a }))?.data, dict({ a }));
      }
      assert.equal(DOMAIN_NAME_MAX_LENGTH, 253);
      assert.ok(VALID_DOMAIN_NAMES.some((d) => d.length === DOMAIN_NAME_MAX_LENGTH));
    });

    it('S1 hostile domain names are name.invalid in every operation and create nothing', async (s) => {
      await s.createDomain(D);
      await s.createAccount(D, 'bob', dict());
      for (const { name: n, why } of [...HOSTILE_NAMES, ...HOSTILE_DOMAIN_NAMES]) {
        const what = `${shown(n)} (${why})`;
        await rejectsWith(s.createDomain(n), 'name.invalid', `createDomain ${what}`);
        await rejectsWith(s.renameDomain(D, n), 'name.invalid', `renameDomain to ${what}`);
        await rejectsWith(s.renameDomain(n, 'x.example'), 'name.invalid', `renameDomain from ${what}`);
        await rejectsWith(s.deleteDomain(n), 'name.invalid', `deleteDomain ${what}`);
        await rejectsWith(s.listAccounts(n), 'name.invalid', `listAccounts ${what}`);
        await rejectsWith(s.createAccount(n, 'bob', dict()), 'name.invalid', `createAccount in ${what}`);
        for (const ref of [...domainRefs(n), { kind: 'account', domain: n, account: 'bob' } as const]) {
          await rejectsWith(s.get(ref), 'name.invalid', `get ${ref.kind} ${what}`);
          await rejectsWith(s.put(ref, dict({ evil: 'yes' })), 'name.invalid', `put ${ref.kind} ${what}`);
          await rejectsWith(s.remove(ref), 'name.invalid', `remove ${ref.kind} ${what}`);
        }
      }
      assert.deepEqual(await s.listDomains(), [D]);
      assert.deepEqual(await s.listAccounts(D), ['bob']);
    });

    it('S1 hostile account names are name.invalid in every operation and create nothing', async (s) => {
      await s.createDomain(D);
      await s.createAccount(D, 'bob', dict({ is: 'bob' }));
      for (const { name: n, why } of [...HOSTILE_NAMES, ...HOSTILE_ACCOUNT_NAMES]) {
        const what = `${shown(n)} (${why})`;
        const ref: ObjectRef = { kind: 'account', domain: D, account: n };
        await rejectsWith(s.createAccount(D, n, dict()), 'name.invalid', `createAccount ${what}`);
        await rejectsWith(s.renameAccount(D, 'bob', n), 'name.invalid', `renameAccount to ${what}`);
        await rejectsWith(s.renameAccount(D, n, 'robert'), 'name.invalid', `renameAccount from ${what}`);
        await rejectsWith(s.deleteAccount(D, n), 'name.invalid', `deleteAccount ${what}`);
        await rejectsWith(s.get(ref), 'name.invalid', `get ${what}`);
        await rejectsWith(s.put(ref, dict({ evil: 'yes' })), 'name.invalid', `put ${what}`);
        await rejectsWith(s.remove(ref), 'name.invalid', `remove ${what}`);
      }
      assert.deepEqual(await s.listAccounts(D), ['bob']);
      assert.deepStrictEqual((await s.get({ kind: 'account', domain: D, account: 'bob' }))?.data, dict({ is: 'bob' }));
      assert.deepEqual(await s.listDomains(), [D]);
    });

    it('S1 50 concurrent compare-and-set increments: exactly 50 successes, the rest retried conflicts', async (s) => {
      const WORKERS = 50;
      /** Far above the worst case (each worker loses at most once to each other worker). */
      const MAX_ATTEMPTS = 10 * WORKERS;
      await s.createDomain(D);
      const ref: ObjectRef = { kind: 'domain', domain: D };
      let successes = 0;
      let conflicts = 0;
      const worker = async (id: number): Promise<void> => {
        for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
          const cur = await s.get(ref);
          const n = cur ? Number(cur.data['counter']) : 0;
          try {
            await s.put(ref, dict({ counter: n + 1, lastWriter: id }), cur ? cur.revision : null);
            successes++;
            return;
          } catch (e) {
            if (!isMailwardError(e, 'store.conflict')) throw e;
            conflicts++;
          }
        }
        assert.fail(`worker ${id} never won in ${MAX_ATTEMPTS} attempts`);
      };
      await Promise.all(Array.from({ length: WORKERS }, (_, i) => worker(i)));
      assert.equal(successes, WORKERS);
      assert.equal((await s.get(ref))?.data['counter'], WORKERS, `no increment lost (${conflicts} conflicts retried)`);
    });

    it('S1 concurrent creates and renames of the same name: exactly one wins', async (s) => {
      const settle = async (ps: Promise<unknown>[]): Promise<{ ok: number; codes: string[] }> => {
        const rs = await Promise.allSettled(ps);
        const codes = rs.flatMap((r) => (r.status === 'rejected' ? [isMailwardError(r.reason) ? r.reason.code : String(r.reason)] : []));
        return { ok: rs.filter((r) => r.status === 'fulfilled').length, codes };
      };
      const domains = await settle(Array.from({ length: 20 }, () => s.createDomain(D)));
      assert.equal(domains.ok, 1);
      assert.ok(domains.codes.every((c) => c === 'store.exists'), domains.codes.join());
      const accounts = await settle(Array.from({ length: 20 }, (_, i) => s.createAccount(D, 'bob', dict({ i }))));
      assert.equal(accounts.ok, 1);
      assert.ok(accounts.codes.every((c) => c === 'store.exists'), accounts.codes.join());
      assert.deepEqual(await s.listAccounts(D), ['bob']);
      const renames = await settle(Array.from({ length: 10 }, (_, i) => s.renameAccount(D, 'bob', `bob${i}`)));
      assert.equal(renames.ok, 1);
      assert.ok(renames.codes.every((c) => c === 'store.notFound'), renames.codes.join());
      assert.equal((await s.listAccounts(D)).length, 1);
      const domainRenames = await settle(Array.from({ length: 10 }, (_, i) => s.renameDomain(D, `d${i}.example`)));
      assert.equal(domainRenames.ok, 1);
      assert.equal((await s.listDomains()).length, 1);
    });

    it('S1 writes racing a domain deletion either land before it or fail with store.notFound', async (s) => {
      await s.createDomain(D);
      await s.createAccount(D, 'bob', dict());
      const write = (i: number): Promise<unknown> => {
        const ref: ObjectRef = i % 3 === 0 ? { kind: 'account', domain: D, account: 'bob' } : i % 3 === 1 ? { kind: 'access', domain: D } : { kind: 'domain', domain: D };
        return s.put(ref, dict({ i }));
      };
      // Operations issued before and after the deletion, all running at once.
      const before = [...Array.from({ length: 15 }, (_, i) => write(i)), ...Array.from({ length: 5 }, (_, i) => s.createAccount(D, `early${i}`, dict()))];
      const del = s.deleteDomain(D);
      const after = [...Array.from({ length: 15 }, (_, i) => write(i)), ...Array.from({ length: 5 }, (_, i) => s.createAccount(D, `late${i}`, dict()))];
      const rs = await Promise.allSettled([...before, ...after]);
      await del;
      for (const r of rs) {
        if (r.status === 'rejected') assert.ok(isMailwardError(r.reason, 'store.notFound'), String(r.reason));
      }
      assert.deepEqual(await s.listDomains(), []);
      await s.createDomain(D);
      assert.deepEqual(await s.listAccounts(D), [], 'nothing of the old domain survives in the new one');
      assert.equal(await s.get({ kind: 'domain', domain: D }), null);
    });

    it('S1 after close, operations are refused', async (s) => {
      await s.close();
      await rejectsWith(s.get({ kind: 'server' }), 'store.io', 'get after close');
      await rejectsWith(s.put({ kind: 'server' }, dict()), 'store.io', 'put after close');
      await rejectsWith(s.listDomains(), 'store.io', 'listDomains after close');
    });
  });
}
