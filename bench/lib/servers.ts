/**
 * The servers under test, each started as its own process tree pinned to the server CPU:
 * Dovecot (one tuned configuration for every run), nginx's mail proxy with a small auth_http
 * endpoint, `openssl s_server`, Mailward (`node bin/mailward.js start`, or the multi-core mode),
 * and a stub IMAP backend for the 5,000-connection memory test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { firstLine, freePort, MAIL_GID, MAIL_UID, requireBinary } from '../../src/backends/test/dovecot.js';
import { pinTree } from './proc.js';

/** The project root (dist/bench/lib/ -> three levels up). */
export const ROOT = resolve(new URL('.', import.meta.url).pathname, '../../..');

/** How long a server may take to answer on its port after it was started. */
export const START_TIMEOUT_MS = 30_000;

/** Open files for every server and for the generator: 5,000 idle relayed connections are
 *  10,000 sockets in a proxy (client and backend side). */
export const NOFILE = 20_000;

/** The generator on CPU 0, the servers on CPU 1; on a one-CPU machine (never for real figures)
 *  both on CPU 0, so that the smoke test still runs. */
export const GENERATOR_CPU = '0';
export const SERVER_CPU = cpus().length > 1 ? '1' : '0';

export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Spawns `argv` under `taskset -c cpus` with the open-files limit raised. */
export function startProc(name: string, argv: string[], opts: { cpus: string; cwd?: string; env?: NodeJS.ProcessEnv }): Proc {
  requireBinary('/usr/bin/taskset', 'util-linux');
  // sh -c 'ulimit -n N; exec taskset ...': the limit and the CPU mask are inherited by every
  // process the server forks; exec keeps the pid the one we measure from.
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('sh', ['-c', `ulimit -n ${NOFILE} && exec taskset -c ${opts.cpus} ${quoted}`], {
    cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer): void => { out += d.toString(); if (out.length > 200_000) out = out.slice(-100_000); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((r) => child.once('exit', () => { exited = true; r(); }));
  return {
    name, child, pid: child.pid ?? -1,
    output: () => out,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(t);
    },
  };
}

export async function waitForGreeting(port: number, what: RegExp, proc?: Proc): Promise<void> {
  const until = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (proc && proc.child.exitCode !== null) throw new Error(`${proc.name} exited at start:\n${proc.output()}`);
    const l = await firstLine(port, 1000);
    if (l !== null && what.test(l)) return;
    if (Date.now() > until) throw new Error(`no greeting on port ${port} within ${START_TIMEOUT_MS} ms${proc ? `:\n${proc.output()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function waitForTcp(port: number, proc?: Proc): Promise<void> {
  const { connect } = await import('node:net');
  const until = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (proc && proc.child.exitCode !== null) throw new Error(`${proc.name} exited at start:\n${proc.output()}`);
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); r(true); });
      s.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`port ${port} not open within ${START_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- certificates ------------------------------------------------------------------------------

export interface CertPair { name: string; keyFile: string; certFile: string; key: string; cert: string }

/** A self-signed certificate for `name` (CN and subjectAltName) with an RSA 2048 or ECDSA
 *  P-256 key, in PKCS#8 PEM. */
export async function makeCert(dir: string, name: string, kind: 'rsa' | 'ec'): Promise<CertPair> {
  requireBinary('/usr/bin/openssl', 'openssl');
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  const keyArgs = kind === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  const r = spawnSync('openssl', ['req', '-x509', ...keyArgs, '-nodes', '-days', '30', '-subj', `/CN=${name}/emailAddress=postmaster@${name}`,
    '-addext', `subjectAltName=DNS:${name}`, '-keyout', keyFile, '-out', certFile], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  await chmod(keyFile, 0o644); // Dovecot's and nginx's readers are not root in every setup
  return { name, keyFile, certFile, key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8') };
}

// ---- Dovecot -------------------------------------------------------------------------------------

export interface BenchUser { user: string; password: string }

export interface DovecotBench {
  proc: Proc;
  imapPort: number;
  imapsPort: number;
  pop3Port: number;
  master: BenchUser;
  maildir(user: string): string;
}

function homeOf(dir: string, user: string): string {
  return join(dir, 'home', user.replace(/[^A-Za-z0-9@._-]/g, '_'));
}

/**
 * Dovecot tuned for throughput, the same for every run: login processes reused for many
 * connections (service_count = 0, "high-performance mode"), auth_failure_delay 0, no per-user
 * connection cap, process limits above the benchmark's concurrency; SNI picks the ECDSA
 * certificate, the RSA one is the default.
 */
export async function startDovecot(dir: string, users: BenchUser[], certs: { rsa: CertPair; ec: CertPair }): Promise<DovecotBench> {
  requireBinary('/usr/sbin/dovecot', 'dovecot-core');
  requireBinary('/usr/lib/dovecot/imap', 'dovecot-imapd');
  requireBinary('/usr/lib/dovecot/pop3', 'dovecot-pop3d');
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  const [imapPort, imapsPort, pop3Port] = [await freePort(), await freePort(), await freePort()];
  const master: BenchUser = { user: 'mwmaster', password: 'master-secret' };
  await writeFile(join(dir, 'users'), users.map((u) => `${u.user}:{PLAIN}${u.password}:${MAIL_UID}:${MAIL_GID}::${homeOf(dir, u.user)}::`).join('\n') + '\n', { mode: 0o644 });
  await writeFile(join(dir, 'masters'), `${master.user}:{PLAIN}${master.password}\n`, { mode: 0o644 });
  for (const u of users) {
    const h = homeOf(dir, u.user);
    for (const d of [h, join(h, 'Maildir'), join(h, 'Maildir', 'cur'), join(h, 'Maildir', 'new'), join(h, 'Maildir', 'tmp')]) {
      await mkdir(d, { recursive: true });
      await chown(d, MAIL_UID, MAIL_GID);
    }
  }
  const conf = `
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = mw-bench-${process.pid}
log_path = ${dir}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <${certs.rsa.certFile}
ssl_key = <${certs.rsa.keyFile}
local_name ${certs.ec.name} {
  ssl_cert = <${certs.ec.certFile}
  ssl_key = <${certs.ec.keyFile}
}
disable_plaintext_auth = no
auth_mechanisms = plain login scram-sha-256
auth_failure_delay = 0
auth_master_user_separator = *
login_trusted_networks = 127.0.0.0/8
mail_max_userip_connections = 100000
mail_location = maildir:~/Maildir
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
default_process_limit = 2000
default_client_limit = 15000
default_vsz_limit = 1G
passdb {
  driver = passwd-file
  args = scheme=PLAIN ${dir}/masters
  master = yes
  pass = yes
}
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
    port = ${imapsPort}
    ssl = yes
  }
  service_count = 0
  process_min_avail = 1
  client_limit = 20000
}
service pop3-login {
  inet_listener pop3 {
    port = ${pop3Port}
  }
  inet_listener pop3s {
    port = 0
  }
  service_count = 0
  process_min_avail = 1
  client_limit = 20000
}
service imap {
  process_limit = 2000
}
service pop3 {
  process_limit = 2000
}
service anvil {
  client_limit = 15000
}
service auth {
  client_limit = 15000
}
`;
  await writeFile(join(dir, 'dovecot.conf'), conf);
  const proc = startProc('dovecot', ['/usr/sbin/dovecot', '-F', '-c', join(dir, 'dovecot.conf')], { cpus: SERVER_CPU });
  await waitForGreeting(imapPort, /^\* OK .*ready/, proc).catch(async (e: unknown) => {
    const log = await readFile(join(dir, 'dovecot.log'), 'utf8').catch(() => '');
    await proc.stop();
    throw new Error(`${String(e)}\n${log}`, { cause: e });
  });
  return { proc, imapPort, imapsPort, pop3Port, master, maildir: (u) => join(homeOf(dir, u), 'Maildir') };
}

/** Puts a message into a user's INBOX. */
export async function deliver(d: DovecotBench, user: string, name: string, message: Buffer): Promise<void> {
  const file = join(d.maildir(user), 'cur', `${name}:2,S`);
  await writeFile(file, message);
  await chown(file, MAIL_UID, MAIL_GID);
}

/** Moves a running tree to other CPUs (Dovecot is the peer on the server CPU, and the backend
 *  beside the generator while a proxy is measured in front of it). */
export function pin(p: Proc, cpus: string): void { pinTree(p.pid, cpus); }

// ---- nginx mail proxy --------------------------------------------------------------------------

export interface NginxBench {
  proc: Proc;
  auth: Proc;
  imapPort: number;
  imapRsaPort: number;
  imapEcPort: number;
  pop3Port: number;
}

/**
 * nginx (Debian nginx-light + libnginx-mod-mail), one worker, its mail module in front of the
 * backends the auth_http endpoint names. `proxyBuffer` is nginx's proxy_buffer (the 64 KiB
 * variant of the relay benchmark). The auth_http endpoint is a tiny Node server on the server
 * CPU: its CPU counts on nginx's side.
 */
export async function startNginx(dir: string, usersFile: string, backends: Record<string, number>, certs: { rsa: CertPair; ec: CertPair }, proxyBuffer?: string): Promise<NginxBench> {
  requireBinary('/usr/sbin/nginx', 'nginx-light');
  requireBinary('/usr/lib/nginx/modules/ngx_mail_module.so', 'libnginx-mod-mail');
  await mkdir(dir, { recursive: true });
  const [authPort, imapPort, imapRsaPort, imapEcPort, pop3Port] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const auth = startProc('auth_http', [process.execPath, join(ROOT, 'dist/bench/auth-http.js'), String(authPort), usersFile, JSON.stringify(backends)], { cpus: SERVER_CPU });
  await waitForTcp(authPort, auth);
  const conf = `
load_module /usr/lib/nginx/modules/ngx_mail_module.so;
worker_processes 1;
worker_rlimit_nofile ${NOFILE};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log error;
daemon off;
events {
  worker_connections ${NOFILE};
}
mail {
  server_name bench.test;
  auth_http 127.0.0.1:${authPort}/auth;
  proxy_pass_error_message on;
  imap_auth plain login;
  pop3_auth plain;
  ${proxyBuffer ? `proxy_buffer ${proxyBuffer};` : ''}
  ssl_session_cache shared:MAIL:10m;
  ssl_session_tickets on;
  ssl_protocols TLSv1.2 TLSv1.3;
  server {
    listen 127.0.0.1:${imapPort};
    protocol imap;
  }
  server {
    listen 127.0.0.1:${pop3Port};
    protocol pop3;
  }
  server {
    listen 127.0.0.1:${imapRsaPort} ssl;
    protocol imap;
    ssl_certificate ${certs.rsa.certFile};
    ssl_certificate_key ${certs.rsa.keyFile};
  }
  server {
    listen 127.0.0.1:${imapEcPort} ssl;
    protocol imap;
    ssl_certificate ${certs.ec.certFile};
    ssl_certificate_key ${certs.ec.keyFile};
  }
}
`;
  await writeFile(join(dir, 'nginx.conf'), conf);
  const proc = startProc('nginx', ['/usr/sbin/nginx', '-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'error.log')], { cpus: SERVER_CPU });
  try {
    await waitForGreeting(imapPort, /^\* OK/, proc);
  } catch (e) {
    await auth.stop();
    throw new Error(`${String(e)}\n${await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')}`, { cause: e });
  }
  return {
    proc, auth, imapPort, imapRsaPort, imapEcPort, pop3Port,
  };
}

export async function stopNginx(n: NginxBench): Promise<void> {
  await n.proc.stop();
  await n.auth.stop();
}

// ---- openssl s_server ----------------------------------------------------------------------------

/** `openssl s_server` as the TLS baseline: it handshakes, answers nothing, keeps no state. */
export async function startSServer(cert: CertPair): Promise<{ proc: Proc; port: number }> {
  requireBinary('/usr/bin/openssl', 'openssl');
  const port = await freePort();
  const proc = startProc(`s_server-${cert.name}`, ['openssl', 's_server', '-www', '-quiet', '-accept', `127.0.0.1:${port}`, '-cert', cert.certFile, '-key', cert.keyFile, '-naccept', '100000000'], { cpus: SERVER_CPU });
  await waitForTcp(port, proc);
  return { proc, port };
}

// ---- stub IMAP backend -----------------------------------------------------------------------

/** A minimal IMAP backend (greeting, CAPABILITY, ID, LOGIN, AUTHENTICATE PLAIN, then idle) for
 *  the memory test, where 5,000 Dovecot mail processes would measure Dovecot, not the proxy. */
export async function startStubBackend(): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  const proc = startProc('stub-imap', [process.execPath, join(ROOT, 'dist/bench/stub-imap.js'), String(port)], { cpus: GENERATOR_CPU });
  await waitForGreeting(port, /^\* OK/, proc);
  return { proc, port };
}
