/**
 * A real Postfix for tests (B1 SMTP interop): one smtpd on a free loopback port that accepts
 * XCLIENT from 127.0.0.0/8 and SMTP AUTH through a Dovecot test instance's auth listener
 * (`startDovecot({ authInet: true })`), and delivers every accepted message for the virtual
 * domain into one maildir in a temporary directory. Runs with `postfix -c DIR start-fg` and
 * `maillog_file = /dev/stdout` (no syslog needed), without chroot, as root.
 *
 * Debian package: postfix (installing it replaces exim4). A missing package makes
 * `startPostfix` throw with its name: tests FAIL, they never skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstLine, freePort, MAIL_GID, MAIL_UID, requireBinary } from './dovecot.js';

/** How long Postfix may take to answer its first connection. */
const POSTFIX_START_TIMEOUT_MS = 20_000;
/** How long `postfix stop` may take before the master is killed. */
const POSTFIX_STOP_TIMEOUT_MS = 10_000;

export interface PostfixOptions {
  /** The virtual mailbox domain whose mail is delivered into the maildir. */
  domain: string;
  /** Dovecot's auth TCP port (smtpd_sasl_type = dovecot): needed for XCLIENT LOGIN and AUTH. */
  dovecotAuthPort: number;
  /** smtpd_authorized_xclient_hosts (default 127.0.0.0/8; empty refuses XCLIENT to everyone). */
  xclientHosts?: string;
}

export interface PostfixInstance {
  readonly port: number;
  readonly dir: string;
  /** The maildir every message for the domain is delivered to. */
  readonly maildir: string;
  /** Waits for a delivered message that contains `needle`; returns its text. */
  waitForMessage(needle: string, timeoutMs?: number): Promise<string>;
  log(): string;
  stop(): Promise<void>;
}

function postfixUser(): { uid: number; gid: number } {
  const r = spawnSync('id', ['-u', 'postfix'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postfix'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) throw new Error('the postfix user is missing: install the Debian package postfix');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

export async function startPostfix(opts: PostfixOptions): Promise<PostfixInstance> {
  requireBinary('/usr/sbin/postfix', 'postfix');
  requireBinary('/usr/lib/postfix/sbin/smtpd', 'postfix');
  if (userInfo().uid !== 0) throw new Error('the Postfix test instance needs root (its master runs as root)');
  const pf = postfixUser();
  const dir = await mkdtemp(join(tmpdir(), 'mw-postfix-'));
  await chmod(dir, 0o755);
  const conf = join(dir, 'conf');
  const queue = join(dir, 'queue');
  const data = join(dir, 'data');
  const mail = join(dir, 'mail');
  await mkdir(conf);
  await mkdir(queue);
  await mkdir(data);
  await chown(data, pf.uid, pf.gid);
  await mkdir(mail);
  await chown(mail, MAIL_UID, MAIL_GID);
  const port = await freePort();
  await writeFile(join(conf, 'main.cf'), `
compatibility_level = 3.6
queue_directory = ${queue}
data_directory = ${data}
mail_owner = postfix
setgid_group = postdrop
maillog_file = /dev/stdout
myhostname = backend.test
mydomain = backend.test
myorigin = backend.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
relayhost =
smtpd_authorized_xclient_hosts = ${opts.xclientHosts ?? '127.0.0.0/8'}
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:${opts.dovecotAuthPort}
smtpd_sasl_authenticated_header = yes
smtpd_client_port_logging = yes
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
virtual_mailbox_domains = ${opts.domain}
virtual_mailbox_base = ${mail}
virtual_mailbox_maps = static:Maildir/
virtual_uid_maps = static:${MAIL_UID}
virtual_gid_maps = static:${MAIL_GID}
virtual_minimum_uid = 1
alias_maps =
alias_database =
smtputf8_enable = no
biff = no
shlib_directory = /usr/lib/postfix
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
command_directory = /usr/sbin
`);
  await writeFile(join(conf, 'master.cf'), `
127.0.0.1:${port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`);
  const check = spawnSync('/usr/sbin/postfix', ['-c', conf, 'check'], { encoding: 'utf8' });
  if (check.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`postfix check failed: ${check.stderr}${check.stdout}`);
  }
  // Postfix started with pipes as stdout/stderr exits at once without a word (INTEROP.md:
  // "fails silently"); a plain file works, and maillog_file = /dev/stdout then lands in it.
  const logFile = join(dir, 'postfix.log');
  const fd = openSync(logFile, 'a');
  const child: ChildProcess = spawn('/usr/sbin/postfix', ['-c', conf, 'start-fg'], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let output = '';
  const readLog = (): string => {
    try { output = readFileSync(logFile, 'utf8'); } catch { /* removed by stop() */ }
    return output;
  };
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));

  const stop = async (): Promise<void> => {
    readLog();
    if (!exited) {
      spawnSync('/usr/sbin/postfix', ['-c', conf, 'stop'], { timeout: POSTFIX_STOP_TIMEOUT_MS });
      const t = setTimeout(() => child.kill('SIGKILL'), POSTFIX_STOP_TIMEOUT_MS);
      await exit;
      clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const until = Date.now() + POSTFIX_START_TIMEOUT_MS;
  for (;;) {
    if (exited) {
      readLog();
      await rm(dir, { recursive: true, force: true });
      throw new Error(`postfix exited at start:\n${output}`);
    }
    const line = await firstLine(port, 1000);
    if (line?.startsWith('220 ')) break;
    if (Date.now() > until) {
      readLog();
      await stop();
      throw new Error(`postfix did not answer within ${POSTFIX_START_TIMEOUT_MS} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const maildir = join(mail, 'Maildir');
  return {
    port, dir, maildir,
    async waitForMessage(needle, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        for (const sub of ['new', 'cur']) {
          const files = await readdir(join(maildir, sub)).catch(() => [] as string[]);
          for (const f of files) {
            const text = await readFile(join(maildir, sub, f), 'utf8').catch(() => '');
            if (text.includes(needle)) return text;
          }
        }
        if (Date.now() > end) throw new Error(`no message with ${JSON.stringify(needle)} within ${timeoutMs} ms; postfix log:\n${readLog()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    log: readLog,
    stop,
  };
}
