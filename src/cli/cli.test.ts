// The `mailward` command end to end (issue 2 item 7): init, start, domain and account commands,
// exit codes, --help everywhere, passwords only through standard input, the directory lock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BIN = resolve('bin/mailward.js');

function mw(args: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('init prints the postmaster password once, stores it one-way, and refuses to run twice', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mw-cli-'));
  try {
    const data = join(dir, 'data');
    const r = mw(['init', '--data', data, '--main-domain', 'Example.COM']);
    assert.equal(r.code, 0, r.err);
    const pw = /Postmaster password \(shown once\): (\S+)/.exec(r.out)?.[1];
    assert.ok(pw && pw.length >= 20, r.out);
    const file = await readFile(join(data, 'Domains/example.com/Accounts/postmaster.macnt/account.settings'), 'utf8');
    assert.ok(!file.includes(pw), 'the password is not stored in clear');
    assert.match(file, /\$argon2id\$/);
    assert.match(await readFile(join(data, 'Domains/example.com/Settings/Access.settings'), 'utf8'), /postmaster\s*=\s*\(\s*Master\s*\)/, 'R2');
    assert.equal(mw(['account', 'verify-password', 'postmaster', '--data', data], pw + '\n').code, 0);
    const again = mw(['init', '--data', data]);
    assert.equal(again.code, 3);
    assert.match(again.err, /already initialised/);
  } finally { await rm(dir, { recursive: true, force: true }); }
});

test('domain and account commands, effective settings with sources, clear errors and exit codes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mw-cli-'));
  try {
    const d = ['--data', join(dir, 'd')];
    assert.equal(mw(['init', '--main-domain', 'example.com', ...d]).code, 0);
    assert.equal(mw(['domain', 'create', 'corp.test', '{ DomainAliases = (mail.corp.test); }', ...d]).code, 0);
    assert.equal(mw(['domain', 'list', ...d]).out.replace(/[\s"]/g, ''), '(corp.test,example.com)');
    assert.equal(mw(['account', 'create', 'Alice@mail.corp.test', '--password-stdin', ...d], 'alice-secret-1\n').code, 0);
    assert.equal(mw(['account', 'list', 'corp.test', ...d]).out.replace(/\s/g, ''), '(alice)');
    assert.equal(mw(['account', 'update', 'alice@corp.test', '--set', 'RequireSecureMethod=YES', ...d]).code, 0);
    assert.equal(mw(['defaults', 'update', 'corp.test', '--set', 'UseSysPassword=YES', ...d]).code, 0);
    const eff = mw(['account', 'effective', 'alice@corp.test', ...d]).out;
    assert.match(eff, /RequireSecureMethod\s+account\s+YES/);
    assert.match(eff, /UseSysPassword\s+domain\s+YES/);
    assert.match(eff, /UseAppPassword\s+default\s+YES/);
    assert.match(eff, /Password\s+account\s+"\(set\)"/, 'secrets are never shown');
    const json = JSON.parse(mw(['account', 'effective', 'alice@corp.test', '--json', ...d]).out) as Record<string, { source: string }>;
    assert.equal(json.UseSysPassword?.source, 'domain');
    const shown = mw(['account', 'show', 'alice@corp.test', ...d]).out;
    assert.ok(!shown.includes('argon2'), 'show never prints the hash');
    // Errors: exit codes and messages an admin can act on.
    const bad = mw(['account', 'update', 'alice@corp.test', '--set', 'UseSysPassword=perhaps', ...d]);
    assert.equal(bad.code, 4);
    assert.match(bad.err, /UseSysPassword: expected YES or NO/);
    assert.equal(mw(['account', 'show', 'nobody@corp.test', ...d]).code, 3);
    assert.equal(mw(['account', 'create', '../evil@corp.test', ...d]).code, 4);
    assert.equal(mw(['domain', 'frobnicate', ...d]).code, 2);
    assert.equal(mw(['account', 'set-password', 'alice@corp.test', ...d], '\n').code, 2, 'P4: no empty passwords');
    assert.equal(mw(['account', 'verify-password', 'alice@corp.test', ...d], 'wrong\n').code, 1);
    assert.equal(mw(['account', 'rights', 'alice@corp.test', 'Monitor', '--set-rights', ...d]).code, 3, 'R1: server-wide rights only in the main domain');
    assert.equal(mw(['account', 'rights', 'alice@corp.test', 'DomainAdmin', '--set-rights', ...d]).code, 0);
    assert.equal(mw(['account', 'rights', 'alice@corp.test', ...d]).out.replace(/\s/g, ''), '(DomainAdmin)');
    assert.equal(mw(['domain', 'delete', 'example.com', ...d]).code, 3, 'the main domain stays');
    assert.equal(mw(['account', 'delete', 'alice@corp.test', ...d]).code, 0);
    assert.equal(mw(['domain', 'rename', 'corp.test', 'corp2.test', ...d]).code, 0);
  } finally { await rm(dir, { recursive: true, force: true }); }
});

test('--help works for the command, each group and each subcommand', () => {
  for (const args of [['--help'], [], ['account', '--help'], ['domain', 'create', '--help'], ['server', 'update', '-h']]) {
    const r = mw(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
    assert.match(r.out, /Usage: mailward/);
  }
});

test('start runs the listeners and the WebAdmin, prints where they are, holds the directory lock, and stops on SIGTERM', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mw-cli-'));
  try {
    const data = join(dir, 'data');
    assert.equal(mw(['init', '--data', data, '--main-domain', 'mail.example.org']).code, 0);
    // Free ports on loopback, so the test never collides with a running Mailward or another test.
    const any = (TLS: string) => `{ Address = 127.0.0.1; Port = 0; TLS = ${TLS}; }`;
    const listeners = `{ Listeners = { IMAP = (${any('starttls')}, ${any('implicit')}); POP = (${any('starttls')}); SMTP = (${any('starttls')}); PWD = (${any('starttls')}); HTTPA = (${any('implicit')}); HTTPU = (${any('implicit')}); }; }`;
    const upd = mw(['server', 'update', listeners, '--data', data]);
    assert.equal(upd.code, 0, upd.err);
    const child = spawn(process.execPath, [BIN, 'start', '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    const deadline = Date.now() + 20_000;
    while (!/Log in to the WebAdmin/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(out, /Mailward started/);
    assert.match(out, /Test certificate: CN=mail\.example\.org, issued by Mailward test/, 'T3');
    assert.match(out, /IMAP: 127\.0\.0\.1:\d+ \(STARTTLS\), 127\.0\.0\.1:\d+ \(TLS\)/);
    const webadmin = /WebAdmin: (https:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
    assert.ok(webadmin, out);
    const imapPort = Number(/IMAP: 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    const greeting = await new Promise<string>((resolveGreeting, reject) => {
      const s = connect(imapPort, '127.0.0.1');
      s.once('data', (b: Buffer) => { resolveGreeting(b.toString()); s.destroy(); });
      s.once('error', reject);
    });
    assert.match(greeting, /^\* OK \[CAPABILITY .*STARTTLS.*\] mail\.example\.org Mailward ready/);
    const locked = mw(['domain', 'list', '--data', data]);
    assert.equal(locked.code, 5);
    assert.match(locked.err, /lock|running/i, 'the CLI is kept out while the server runs');
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(mw(['domain', 'list', '--data', data]).code, 0, 'the lock is released at stop');
  } finally { await rm(dir, { recursive: true, force: true }); }
});
