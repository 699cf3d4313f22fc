/**
 * A real Dovecot for tests (B1 interop): IMAP and POP3 (optionally with implicit TLS and
 * STARTTLS), passwd-file users, a master user (Dovecot's `user*master` and PLAIN-authzid styles),
 * maildirs in a temporary directory, and optionally an auth listener on TCP that a Postfix test
 * instance can use for SMTP AUTH / XCLIENT LOGIN. Started with `dovecot -F -c <generated conf>`
 * as root, on free loopback ports, and stopped with SIGTERM.
 *
 * Debian packages: dovecot-core, dovecot-imapd, dovecot-pop3d (and openssl for `tls`). A missing
 * package makes `startDovecot` throw with the package's name: tests FAIL, they never skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How long Dovecot may take to accept its first IMAP login connection. */
const DOVECOT_START_TIMEOUT_MS = 15_000;
/** How long it may take to exit after SIGTERM before it is killed. */
const DOVECOT_STOP_TIMEOUT_MS = 5_000;

/** Mail files belong to this uid/gid (nobody): Dovecot refuses mail access as root. */
export const MAIL_UID = 65534;
export const MAIL_GID = 65534;

export interface DovecotUser { name: string; password: string }

export interface DovecotOptions {
  users: DovecotUser[];
  /** A master user (passdb with master = yes, pass = yes: the target user must exist). */
  master?: DovecotUser;
  /** Serve TLS: a self-signed certificate for "localhost" and 127.0.0.1; implicit TLS ports and
   *  STARTTLS/STLS on the clear ports. */
  tls?: boolean;
  /** Open Dovecot's auth service on a TCP port (for Postfix `smtpd_sasl_type = dovecot`). */
  authInet?: boolean;
  /** The greeting text (login_greeting). */
  greeting?: string;
}

export interface DovecotInstance {
  readonly dir: string;
  readonly imapPort: number;
  readonly pop3Port: number;
  readonly imapsPort?: number;
  readonly pop3sPort?: number;
  readonly authPort?: number;
  /** The self-signed certificate (PEM), to trust it in verify tests. */
  readonly certificate?: string;
  readonly greeting: string;
  /** The user's Maildir (the directory holding cur/ new/ tmp/). */
  maildir(user: string): string;
  /** Puts a message into the user's INBOX (Maildir/new). */
  deliver(user: string, message: string): Promise<void>;
  log(): Promise<string>;
  stop(): Promise<void>;
}

export function requireBinary(path: string, pkg: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing: install the Debian package ${pkg} (apt-get install -y ${pkg})`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves with the first line the server sends on `port`, or null. */
export function firstLine(port: number, timeoutMs = 2000): Promise<string | null> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    const done = (v: string | null): void => { clearTimeout(t); s.destroy(); resolve(v); };
    const t = setTimeout(() => done(null), timeoutMs);
    s.on('data', (d) => {
      buf += d.toString('latin1');
      const i = buf.indexOf('\n');
      if (i >= 0) done(buf.slice(0, i).replace(/\r$/, ''));
    });
    s.on('error', () => done(null));
    s.on('close', () => done(null));
  });
}

function userHome(dir: string, user: string): string {
  return join(dir, 'home', user.replace(/[^A-Za-z0-9@._-]/g, '_'));
}

async function makeMaildir(home: string): Promise<void> {
  for (const d of [home, join(home, 'Maildir'), join(home, 'Maildir', 'cur'), join(home, 'Maildir', 'new'), join(home, 'Maildir', 'tmp')]) {
    await mkdir(d, { recursive: true });
    await chown(d, MAIL_UID, MAIL_GID);
  }
}

function selfSigned(dir: string): { cert: string; key: string } {
  requireBinary('/usr/bin/openssl', 'openssl');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  return { cert, key };
}

export async function startDovecot(opts: DovecotOptions): Promise<DovecotInstance> {
  requireBinary('/usr/sbin/dovecot', 'dovecot-core');
  requireBinary('/usr/lib/dovecot/imap', 'dovecot-imapd');
  requireBinary('/usr/lib/dovecot/pop3', 'dovecot-pop3d');
  const dir = await mkdtemp(join(tmpdir(), 'mw-dovecot-'));
  // The mail processes run as nobody and must traverse into the maildirs.
  await chmod(dir, 0o755);
  const greeting = opts.greeting ?? `Dovecot test ${randomBytes(4).toString('hex')} ready.`;
  const [imapPort, pop3Port] = [await freePort(), await freePort()];
  const imapsPort = opts.tls ? await freePort() : undefined;
  const pop3sPort = opts.tls ? await freePort() : undefined;
  const authPort = opts.authInet ? await freePort() : undefined;

  const users = opts.users.map((u) => `${u.name}:{PLAIN}${u.password}:${MAIL_UID}:${MAIL_GID}::${userHome(dir, u.name)}::`).join('\n') + '\n';
  await writeFile(join(dir, 'users'), users, { mode: 0o644 });
  for (const u of opts.users) await makeMaildir(userHome(dir, u.name));
  if (opts.master) await writeFile(join(dir, 'masters'), `${opts.master.name}:{PLAIN}${opts.master.password}\n`, { mode: 0o644 });
  let certificate: string | undefined;
  let sslLines = 'ssl = no';
  if (opts.tls) {
    const { cert, key } = selfSigned(dir);
    certificate = await readFile(cert, 'utf8');
    sslLines = `ssl = yes\nssl_cert = <${cert}\nssl_key = <${key}`;
  }
  const conf = `
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = mw-${randomBytes(4).toString('hex')}
log_path = ${dir}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
${sslLines}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_cache_size = 0
auth_master_user_separator = *
login_trusted_networks = 127.0.0.0/8
login_greeting = ${greeting}
mail_location = maildir:~/Maildir
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
${opts.master ? `passdb {
  driver = passwd-file
  args = scheme=PLAIN ${dir}/masters
  master = yes
  pass = yes
}` : ''}
passdb {
  driver = passwd-file
  args = scheme=PLAIN ${dir}/users
}
userdb {
  driver = passwd-file
  args = ${dir}/users
}
service imap-login {
  inet_listener imap {
    port = ${imapPort}
  }
  inet_listener imaps {
    port = ${imapsPort ?? 0}
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = ${pop3Port}
  }
  inet_listener pop3s {
    port = ${pop3sPort ?? 0}
    ssl = yes
  }
}
${authPort ? `service auth {
  inet_listener {
    address = 127.0.0.1
    port = ${authPort}
  }
}` : ''}
`;
  await writeFile(join(dir, 'dovecot.conf'), conf);
  const child: ChildProcess = spawn('/usr/sbin/dovecot', ['-F', '-c', join(dir, 'dovecot.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { output += d.toString(); });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));

  const log = async (): Promise<string> => output + (await readFile(join(dir, 'dovecot.log'), 'utf8').catch(() => ''));
  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), DOVECOT_STOP_TIMEOUT_MS);
      await exit;
      clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const until = Date.now() + DOVECOT_START_TIMEOUT_MS;
  for (;;) {
    if (exited) {
      const l = await log();
      await rm(dir, { recursive: true, force: true });
      throw new Error(`dovecot exited at start:\n${l}`);
    }
    const line = await firstLine(imapPort, 1000);
    // Ready once the real greeting comes first: until its auth process is up, Dovecot greets
    // with "Waiting for authentication process to respond" instead.
    if (line?.includes(greeting)) break;
    if (Date.now() > until) {
      const l = await log();
      await stop();
      throw new Error(`dovecot did not start within ${DOVECOT_START_TIMEOUT_MS} ms:\n${l}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  let seq = 0;
  return {
    dir, imapPort, pop3Port, imapsPort, pop3sPort, authPort, certificate, greeting,
    maildir: (user) => join(userHome(dir, user), 'Maildir'),
    async deliver(user, message) {
      seq += 1;
      const file = join(userHome(dir, user), 'Maildir', 'new', `${Date.now()}.M${seq}P${process.pid}.mwtest`);
      await writeFile(file, message.replace(/\r?\n/g, '\n'));
      await chown(file, MAIL_UID, MAIL_GID);
    },
    log,
    stop,
  };
}
