// Directory (issue 2 item 5): domains, aliases, accounts, case-insensitive names, name resolution,
// effective settings with sources (P1), access-rights files (R1, R2, R4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFileStore } from '../settings/backends/files/index.js';
import { dict } from '../settings/format/types.js';
import { isMailwardError } from '../core/errors.js';
import { Directory } from './directory.js';

async function fixture() {
  const dir = await mkdtemp(join(tmpdir(), 'mw-dir-'));
  const store = await openFileStore(dir);
  await store.put({ kind: 'server' }, dict({ MainDomainName: 'example.com' }));
  const d = new Directory(store);
  await d.createDomain('example.com');
  return { dir, d, async done() { await store.close(); await rm(dir, { recursive: true, force: true }); } };
}

test('domains and aliases: create, alias lookup, clashes refused, rename, delete; the main domain is protected', async () => {
  const f = await fixture();
  try {
    await f.d.createDomain('Other.ORG', dict({ DomainAliases: ['mail.other.org'] }));
    assert.deepEqual(await f.d.listDomains(), ['example.com', 'other.org']);
    assert.equal(await f.d.findDomain('MAIL.other.org'), 'other.org');
    await assert.rejects(f.d.createDomain('mail.other.org'), (e) => isMailwardError(e, 'directory.exists'));
    await assert.rejects(f.d.setDomainAliases('example.com', ['other.org']), (e) => isMailwardError(e, 'directory.exists'));
    await f.d.renameDomain('other.org', 'third.net');
    assert.equal(await f.d.findDomain('mail.other.org'), 'third.net', 'aliases move with the renamed domain');
    await assert.rejects(f.d.deleteDomain('example.com'), (e) => isMailwardError(e, 'directory.refused'));
    await f.d.deleteDomain('third.net');
    assert.deepEqual(await f.d.listDomains(), ['example.com']);
  } finally { await f.done(); }
});

test('accounts are case-insensitive; name@domain, name@alias and bare names resolve (main domain, or the domain of the local address)', async () => {
  const f = await fixture();
  try {
    await f.d.createDomain('corp.test', dict({ DomainAliases: ['corp-alias.test'], LocalIPAddresses: ['127.0.0.2'] }));
    await f.d.createAccount('example.com', 'Alice');
    await f.d.createAccount('corp.test', 'bob');
    await assert.rejects(f.d.createAccount('example.com', 'ALICE'), (e) => isMailwardError(e, 'directory.exists'));
    assert.deepEqual(await f.d.resolveLogin('ALICE@Example.com'), { kind: 'account', domain: 'example.com', account: 'alice' });
    assert.deepEqual(await f.d.resolveLogin('alice'), { kind: 'account', domain: 'example.com', account: 'alice' });
    assert.deepEqual(await f.d.resolveLogin('bob@corp-alias.test'), { kind: 'account', domain: 'corp.test', account: 'bob' });
    assert.deepEqual(await f.d.resolveLogin('bob', '127.0.0.2'), { kind: 'account', domain: 'corp.test', account: 'bob' });
    assert.deepEqual(await f.d.resolveLogin('bob', '::ffff:127.0.0.2'), { kind: 'account', domain: 'corp.test', account: 'bob' });
    assert.deepEqual(await f.d.resolveLogin('bob'), { kind: 'unknown-account', domain: 'example.com', account: 'bob' });
    assert.equal((await f.d.resolveLogin('x@nowhere.test')).kind, 'unknown-domain');
    for (const bad of ['', '@x', 'a@', 'a b', 'a\r\nb', 'x'.repeat(400)]) assert.equal((await f.d.resolveLogin(bad)).kind, 'malformed', JSON.stringify(bad));
    await f.d.renameAccount('example.com', 'alice', 'alicia');
    assert.deepEqual(await f.d.listAccounts('example.com'), ['alicia']);
  } finally { await f.done(); }
});

test('P1: effective account settings show their source; bad values are refused on write', async () => {
  const f = await fixture();
  try {
    await f.d.createAccount('example.com', 'carol', dict({ RequireSecureMethod: 'YES' }));
    await f.d.update({ kind: 'domainAccountDefaults', domain: 'example.com' }, { UseSysPassword: 'YES' });
    await f.d.update({ kind: 'serverAccountDefaults' }, { OSUserName: 'mail-*' });
    const r = await f.d.effectiveAccountSettings('example.com', 'carol');
    assert.deepEqual([r.values.RequireSecureMethod, r.sources.RequireSecureMethod], [true, 'account']);
    assert.deepEqual([r.values.UseSysPassword, r.sources.UseSysPassword], [true, 'domain']);
    assert.deepEqual([r.values.OSUserName, r.sources.OSUserName], ['mail-*', 'server']);
    assert.deepEqual([r.values.UseExtPassword, r.sources.UseExtPassword], [false, 'default']);
    await assert.rejects(f.d.update({ kind: 'account', domain: 'example.com', account: 'carol' }, { UseSysPassword: 'perhaps' }),
      (e) => isMailwardError(e, 'settings.invalid') && /YES or NO/.test(e.message));
    // Unsetting a key falls back to the inherited value.
    await f.d.update({ kind: 'account', domain: 'example.com', account: 'carol' }, { RequireSecureMethod: null });
    assert.equal((await f.d.effectiveAccountSettings('example.com', 'carol')).sources.RequireSecureMethod, 'default');
  } finally { await f.done(); }
});

test('S1: optimistic concurrency: a stale revision is refused', async () => {
  const f = await fixture();
  try {
    const ref = { kind: 'domain', domain: 'example.com' } as const;
    const r1 = await f.d.update(ref, { ConsultExternalAuth: 'YES' });
    await f.d.update(ref, { ConsultExternalAuth: 'NO' }, r1);
    await assert.rejects(f.d.update(ref, { ConsultExternalAuth: 'YES' }, r1), (e) => isMailwardError(e, 'store.conflict'));
  } finally { await f.done(); }
});

test('R1, R2, R4: rights live in Access.settings; server-wide rights only in the main domain; postmaster always Master', async () => {
  const f = await fixture();
  try {
    await f.d.createDomain('corp.test');
    await f.d.createAccount('corp.test', 'admin');
    await f.d.createAccount('example.com', 'ops');
    await f.d.writeRights('example.com', 'ops', ['Monitor']);
    await f.d.writeRights('corp.test', 'admin', ['DomainAdmin']);
    await assert.rejects(f.d.writeRights('corp.test', 'admin', ['Monitor']), (e) => isMailwardError(e, 'directory.refused'));
    const text = await readFile(join(f.dir, 'Domains/corp.test/Settings/Access.settings'), 'utf8');
    assert.match(text, /admin/);
    assert.match(text, /DomainAdmin/);
    assert.deepEqual([...(await f.d.effectiveRights('example.com', 'ops'))], ['Monitor']);
    assert.equal((await f.d.effectiveRights('example.com', 'postmaster')).size, 5, 'R2');
    await f.d.renameAccount('corp.test', 'admin', 'boss');
    assert.deepEqual(await f.d.storedRights('corp.test', 'boss'), ['DomainAdmin'], 'rights follow a renamed account');
  } finally { await f.done(); }
});
