// Multi-core mode (issue 8): workers share the listening sockets and read the data directory
// without its lock, which the primary keeps (S1: one writer per directory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { MAX_WORKERS, startCluster } from './cluster.js';
import { parseWorkers } from './cli/main.js';
import { firstLine, freePort } from './backends/test/dovecot.js';
import { configureLogging } from './core/log.js';
import { START_HINT, initDataDir, openServices } from './main.js';
import { dict } from './settings/format/types.js';

test('S1, issue 8: cluster mode - two workers answer on one shared IMAP port; the primary holds the data-directory lock', { timeout: 60_000 }, async () => {
  configureLogging({ defaultLevel: 'failure' });
  const dir = await mkdtemp(join(tmpdir(), 'mw-cluster-'));
  try {
    await initDataDir(dir, { mainDomain: 'cluster.test' });
    const port = await freePort();
    const s = await openServices(dir);
    await s.admin.updateServerSettings({ kind: 'local' }, {
      Listeners: { IMAP: [{ Address: '127.0.0.1', Port: String(port), TLS: 'clear' }], POP: [], SMTP: [], HTTPA: [], HTTPU: [], PWD: [] },
      LogLevel: 'failure',
    });
    await s.close();
    const c = await startCluster(dir, { workers: 2 });
    try {
      assert.equal(c.workers(), 2);
      for (let i = 0; i < 6; i++) assert.match((await firstLine(port, 5000)) ?? '', /^\* OK .*Mailward ready/);
      await assert.rejects(openServices(dir), 'a second writer must be refused while the primary runs');
    } finally {
      await c.stop();
    }
    assert.equal(c.workers(), 0);
    // The lock is released at stop.
    await (await openServices(dir)).close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('issue 8: cluster mode refuses a worker count out of range', async () => {
  await assert.rejects(startCluster('/nonexistent', { workers: 0 }), RangeError);
  await assert.rejects(startCluster('/nonexistent', { workers: 65 }), RangeError);
});

// ---- `mailward start --workers 2` as real processes ---------------------------------------------

const BIN = resolvePath('bin/mailward.js');

/** The worker processes of a primary (its children, from /proc). */
async function workerPids(primary: number): Promise<number[]> {
  const text = await readFile(`/proc/${primary}/task/${primary}/children`, 'utf8').catch(() => '');
  const pids = text.trim().split(/\s+/).filter(Boolean).map(Number);
  const out: number[] = [];
  for (const pid of pids) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes('cluster.js')) out.push(pid);
  }
  return out.sort();
}

/** Which process holds the server side of a loopback connection: the /proc/net/tcp row whose
 *  local port is the server's and remote port the client's gives the inode; the process with
 *  that socket among its descriptors accepted it. */
async function ownerOf(client: Socket, serverPort: number, pids: readonly number[]): Promise<number | null> {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
  const want = [`0100007F:${hex(serverPort)}`, `0100007F:${hex(client.localPort ?? 0)}`];
  const rows = (await readFile('/proc/net/tcp', 'utf8')).split('\n').map((l) => l.trim().split(/\s+/));
  const inode = rows.find((r) => r[1] === want[0] && r[2] === want[1])?.[9];
  if (!inode) return null;
  for (const pid of pids) {
    for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
      if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === `socket:[${inode}]`) return pid;
    }
  }
  return null;
}

/** A line-reading IMAP client, enough for LOGIN. */
class Imap {
  private buf = '';
  private waiters: (() => void)[] = [];
  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => { this.buf += d; for (const w of this.waiters.splice(0)) w(); });
    socket.on('close', () => { for (const w of this.waiters.splice(0)) w(); });
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<Imap> {
    const s = connect(port, '127.0.0.1');
    await new Promise<void>((res, rej) => { s.once('connect', res); s.once('error', rej); });
    const c = new Imap(s);
    assert.match(await c.line(/^\* /), /Mailward ready/);
    return c;
  }

  async line(re: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.buf.split('\r\n');
      const i = lines.findIndex((l) => re.test(l));
      if (i >= 0 && i < lines.length - 1) { this.buf = lines.slice(i + 1).join('\r\n'); return lines[i] ?? ''; }
      if (this.socket.destroyed || Date.now() > deadline) throw new Error(`no line matching ${re} (got ${JSON.stringify(this.buf)})`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 200); });
    }
  }

  async login(user: string, password: string): Promise<string> {
    this.socket.write(`a LOGIN ${user} ${password}\r\n`);
    return this.line(/^a /);
  }

  close(): void { this.socket.destroy(); }
}

/** A connection accepted by `pid` (connections land where the kernel puts them: try until one
 *  lands there). */
async function imapOn(port: number, pid: number, pids: readonly number[]): Promise<Imap> {
  for (let i = 0; i < 200; i++) {
    const c = await Imap.open(port);
    if ((await ownerOf(c.socket, port, pids)) === pid) return c;
    c.close();
  }
  throw new Error(`no connection reached worker ${pid}`);
}

/** The fingerprint of the certificate a worker presents on an implicit-TLS port (T3). */
async function certificateOn(port: number, pid: number, pids: readonly number[]): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const s = tlsConnect({ port, host: '127.0.0.1', servername: 'cluster.test', rejectUnauthorized: false });
    await new Promise<void>((res, rej) => { s.once('secureConnect', res); s.once('error', rej); });
    const owner = await ownerOf(s, port, pids);
    const fp = s.getPeerCertificate().fingerprint256;
    s.destroy();
    if (owner === pid) return fp;
  }
  throw new Error(`no TLS connection reached worker ${pid}`);
}

/** A TLS connection accepted by `pid`, presenting `session` when given: whether it resumed, and
 *  the ticket it received (TLS 1.3 sends tickets after the handshake). */
async function tlsOn(port: number, pid: number, pids: readonly number[], session?: Buffer): Promise<{ reused: boolean; ticket: Buffer | null }> {
  for (let i = 0; i < 200; i++) {
    const s = tlsConnect({ port, host: '127.0.0.1', servername: 'cluster.test', rejectUnauthorized: false, ...(session ? { session } : {}) });
    let ticket: Buffer | null = null;
    s.on('session', (t: Buffer) => { ticket = t; });
    await new Promise<void>((res, rej) => { s.once('secureConnect', res); s.once('error', rej); });
    // The greeting comes after the tickets (listener.ts), so the ticket is in once it is read.
    await new Promise<void>((res) => { s.once('data', () => res()); setTimeout(res, 2000); });
    const owner = await ownerOf(s, port, pids);
    const reused = s.isSessionReused();
    s.destroy();
    if (owner === pid) return { reused, ticket };
  }
  throw new Error(`no TLS connection reached worker ${pid}`);
}

/** One LOGIN through a connection accepted by `pid`; the tagged reply. */
async function loginOn(port: number, pid: number, pids: readonly number[], user: string, password: string): Promise<string> {
  const c = await imapOn(port, pid, pids);
  try { return await c.login(user, password); } finally { c.close(); }
}

async function until<T>(what: string, fn: () => Promise<T | null>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs `mailward` (the remote subcommands) to completion. */
function mw(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('close', (code) => done({ code: code ?? -1, out, err }));
  });
}

// B2's answer comes only after a successful authentication (the domain has no backend): it is
// this test's "logged in".
const AUTHENTICATED = /NO \[UNAVAILABLE\] No mail server is configured/;
const LOCKED = /NO \[AUTHENTICATIONFAILED\] Account temporarily locked/;
const BAD = /NO \[AUTHENTICATIONFAILED\] Authentication failed/;

test('H2, S1, T2, T3, issue 8: mailward start --workers 2 - logins through both workers (one test certificate, one set of ticket keys), one lock-out for the whole server that survives a killed worker and a settings change, unlocked for every worker by the admin', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mw-cluster-cli-'));
  let child: ChildProcess | null = null;
  let out = '';
  let err = '';
  try {
    const { postmasterPassword } = await initDataDir(dir, { mainDomain: 'cluster.test' });
    const port = await freePort();
    const tlsPort = await freePort();
    const s = await openServices(dir);
    const loopback = (TLS: string, extra: Record<string, string> = {}) => dict({ Address: '127.0.0.1', Port: '0', TLS, ClearTextLogin: 'always', ...extra });
    await s.admin.updateServerSettings({ kind: 'local' }, {
      Listeners: dict({ IMAP: [loopback('clear', { Port: String(port) }), loopback('implicit', { Port: String(tlsPort) })], POP: [], SMTP: [], HTTPA: [loopback('clear')], HTTPU: [], PWD: [] }),
      LogLevel: 'failure', LoginFailureLimit: '4', HideUnknownAccounts: 'NO',
      // Failures answered at once: the delay would only slow this test down.
      LoginFailureDelay: '0s',
    });
    await s.admin.createAccount({ kind: 'local' }, 'alice@cluster.test', dict(), 'right-password');
    await s.close();

    child = spawn(process.execPath, [BIN, 'start', '--data', dir, '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    await until('the start banner', async () => (out.includes(START_HINT) ? true : null));
    assert.match(out, /with 2 workers \(multi-core mode/);
    assert.match(out, new RegExp(`IMAP \\(every worker\\): 127\\.0\\.0\\.1:${port} \\(clear\\)`));
    const api = /WebAdmin: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
    assert.ok(api, out);
    const admin = (args: string[]) => mw([...args, '--server', api, '--user', 'postmaster'], { MAILWARD_PASSWORD: postmasterPassword });
    const primary = child.pid ?? 0;
    const first = await workerPids(primary);
    assert.equal(first.length, 2, 'two worker processes');
    const [a, b] = first as [number, number];
    assert.ok(a !== primary && b !== primary);

    // Logins through each worker: two different processes serve.
    assert.match(await loginOn(port, a, first, 'alice@cluster.test', 'right-password'), AUTHENTICATED);
    assert.match(await loginOn(port, b, first, 'alice@cluster.test', 'right-password'), AUTHENTICATED);
    // T3: one test certificate for the whole server (the primary's), whichever worker answers.
    const cert = await certificateOn(tlsPort, a, first);
    assert.equal(await certificateOn(tlsPort, b, first), cert);
    // T2: a ticket issued by one worker resumes on the other (the primary's ticket keys).
    const issued = await tlsOn(tlsPort, a, first);
    assert.ok(issued.ticket, 'worker a issued a ticket');
    assert.equal((await tlsOn(tlsPort, b, first, issued.ticket ?? undefined)).reused, true, "worker b resumes worker a's ticket");

    // H2: LoginFailureLimit (4) failures, two on each worker. Per-worker counters would stand at
    // 2 and 2; the shared ones lock the account for logins on either worker.
    for (const w of [a, b, a]) assert.match(await loginOn(port, w, first, 'alice@cluster.test', 'wrong'), BAD);
    assert.match(await loginOn(port, b, first, 'alice@cluster.test', 'right-password'), AUTHENTICATED, 'three failures do not lock');
    assert.match(await loginOn(port, b, first, 'alice@cluster.test', 'wrong'), BAD);
    assert.match(await loginOn(port, a, first, 'alice@cluster.test', 'right-password'), LOCKED);
    assert.match(await loginOn(port, b, first, 'alice@cluster.test', 'right-password'), LOCKED);
    const view = await admin(['account', 'lockout', 'alice@cluster.test']);
    assert.equal(view.code, 0, view.err);
    assert.match(view.out, /locked until \d{4}-/, "the admin's view (the primary) sees the workers' lock");

    // A worker killed outright is replaced; the lock survives in the primary.
    process.kill(a, 'SIGKILL');
    const second = await until('the replacement worker', async () => {
      const now = await workerPids(primary);
      return now.length === 2 && !now.includes(a) ? now : null;
    });
    const replacement = second.find((p) => p !== b) ?? 0;
    assert.match(await loginOn(port, replacement, second, 'alice@cluster.test', 'right-password'), LOCKED, 'the new worker knows the lock');
    assert.equal(await certificateOn(tlsPort, replacement, second), cert, 'the replacement presents the same test certificate');

    // A settings change replaces every worker; the lock survives that too.
    const upd = await admin(['server', 'update', '--set', 'AdvertiseMSN=YES']);
    assert.equal(upd.code, 0, upd.err);
    const third = await until('the workers replaced after the settings change', async () => {
      const now = await workerPids(primary);
      return now.length === 2 && now.every((p) => !second.includes(p)) ? now : null;
    });
    for (const w of third) assert.match(await loginOn(port, w, third, 'alice@cluster.test', 'right-password'), LOCKED);

    // The admin's unlock (the CLI through the primary's API) clears it for every worker.
    const un = await admin(['account', 'unlock', 'alice@cluster.test']);
    assert.equal(un.code, 0, un.err);
    for (const w of third) assert.match(await loginOn(port, w, third, 'alice@cluster.test', 'right-password'), AUTHENTICATED);

    const exited = new Promise<number | null>((r) => child?.once('exit', (c) => r(c)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    child = null;
    for (const w of third) await until(`worker ${w} to end`, async () => (existsSync(`/proc/${w}`) ? null : true), 10_000);
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- stdout\n${out}\n--- stderr (tail)\n${err.slice(-3000)}`, { cause: e });
  } finally {
    child?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('issue 8: --workers takes 1 to 64 or auto', () => {
  assert.equal(parseWorkers('1'), 1);
  assert.equal(parseWorkers('2'), 2);
  assert.equal(parseWorkers('64'), MAX_WORKERS);
  assert.ok(parseWorkers('auto') >= 1 && parseWorkers('auto') <= MAX_WORKERS);
  for (const bad of ['0', '65', '-1', '1.5', ' 2', '2x', '', 'all', '0x2', '1e1']) assert.throws(() => parseWorkers(bad), /--workers must be/, bad);
});
