/**
 * How each independent client is driven for one matrix cell: its command line, what it is fed
 * after login (list and fetch for IMAP, RETR for POP3, a message for SMTP) and what in its
 * output says it worked. Every client verifies Mailward's certificate against the stack's CA and
 * connects to the name `example.com` (resolved in a private /etc/hosts), as a user's client
 * would: that name is its SNI, its certificate check and, for DIGEST-MD5, its digest-uri host.
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import type { Cell } from './matrix.js';
import { inHosts, requireFiles, requireTool, runClient, type RunResult, type Step } from './tools.js';

export const HOST = 'example.com';
export const CYRUS_BIN = '/usr/lib/cyrus/bin';
/** Debian's own Python, so that the dependency is a Debian package (python3). */
export const PYTHON = '/usr/bin/python3';

export interface ClientContext {
  /** The Mailward port for this cell's protocol and TLS mode. */
  port: number;
  hostsFile: string;
  caFile: string;
  /** Scratch directory for command files. */
  dir: string;
  user: string;
  password: string;
  /** A token inside message 1 of the user's INBOX (IMAP FETCH and POP3 RETR show it). */
  seed: string;
  /** A unique token for this cell's SMTP message (its Subject). */
  tag: string;
}

/** A run and the check of its own output (the test also checks the server's log and, for SMTP,
 *  the backend's maildir). */
export interface ClientOutcome extends RunResult {
  /** The client says it logged in and did its work. */
  worked: boolean;
  /** The client says the server refused the login. */
  refused: boolean;
}

/** The SASL mechanism name of a matrix method (PLAIN+authzid is PLAIN with an authzid). */
const saslName = (m: string): string => (m === 'PLAIN+authzid' ? 'PLAIN' : m);

function smtpMessage(ctx: ClientContext, eol: string): string {
  return [`Subject: ${ctx.tag}`, `From: ${ctx.user}@${HOST}`, 'To: bob@example.com', '', `Sent through Mailward (${ctx.tag}).`].join(eol) + eol;
}

// ---- gsasl ------------------------------------------------------------------------------------

/** GnuTLS system priority override that turns TLS 1.3 off: gsasl has no option for the version. */
export function gnutlsTls12File(dir: string): string {
  const f = join(dir, 'gnutls-tls12.conf');
  writeFileSync(f, '[overrides]\ndisabled-version = tls1.3\n');
  return f;
}

/** See the SMTP steps below: long enough for gsasl to wake up once per line on a busy machine. */
const GSASL_LINE_PAUSE_MS = 300;

async function gsasl(cell: Cell, ctx: ClientContext): Promise<ClientOutcome> {
  requireTool('gsasl', 'gsasl');
  const mech = saslName(cell.method);
  const args = [
    '--connect', `${HOST}:${ctx.port}`, cell.protocol === 'IMAP' ? '--imap' : '--smtp', '--starttls',
    '-a', ctx.user, '-p', ctx.password, '-m', mech, '--x509-ca-file', ctx.caFile,
  ];
  if (cell.method === 'PLAIN+authzid') args.push('-z', `${ctx.user}@${HOST}`);
  // INTEROP.md: plain SCRAM over TLS needs --no-cb (gsasl would claim binding support with a
  // "y" flag naming a type); DIGEST-MD5 must ask for qop=auth, the only one served.
  if (mech.startsWith('SCRAM') && !mech.endsWith('-PLUS')) args.push('--no-cb');
  if (mech === 'DIGEST-MD5') args.push('--quality-of-protection=qop-auth');
  // Without a realm gsasl asks for one on stdin (DIGEST-MD5, NTLM), where the commands go.
  if (mech === 'DIGEST-MD5' || mech === 'NTLM') args.push('--realm', HOST);
  const steps: Step[] = cell.protocol === 'IMAP'
    ? [{ waitFor: /Enter application data/, send: '. LIST "" "*"\n' }, { waitFor: /^\. (OK|NO|BAD) /m }]
    : [
      { waitFor: /Enter application data/, send: `MAIL FROM:<${ctx.user}@${HOST}>\n` },
      { waitFor: /^250 /m, send: 'RCPT TO:<bob@example.com>\n' },
      { waitFor: /^250 /m, send: 'DATA\n' },
      // gsasl reads one line of stdin per wake-up of its poll loop, and the message lines get
      // no answer to wait for: a pause between them lets it take each one.
      { waitFor: /^354 /m, send: `Subject: ${ctx.tag}\n` },
      { waitFor: /^/, delayMs: GSASL_LINE_PAUSE_MS, send: '.\n' },
      { waitFor: /^250 /m },
    ];
  const env: Record<string, string> = cell.tlsVersion === 'TLSv1.2' ? { GNUTLS_SYSTEM_PRIORITY_FILE: gnutlsTls12File(ctx.dir) } : {};
  const [cmd, argv] = inHosts(ctx.hostsFile, 'gsasl', args);
  const r = await runClient(cmd, argv, { steps, env });
  const authed = /Client authentication finished/.test(r.out);
  const worked = authed && (cell.protocol === 'IMAP' ? /^\* LIST .*INBOX/m.test(r.out) : /^250 2\.0\.0 Ok: queued/m.test(r.out));
  return { ...r, worked, refused: !authed && /^(\. NO|\. BAD|535|454|5\d\d) /m.test(r.out) };
}

// ---- curl -------------------------------------------------------------------------------------

async function curl(cell: Cell, ctx: ClientContext): Promise<ClientOutcome> {
  requireTool('curl', 'curl');
  const implicit = cell.tls === 'implicit';
  const scheme = { IMAP: 'imap', POP3: 'pop3', SMTP: 'smtp' }[cell.protocol] + (implicit ? 's' : '');
  const path = { IMAP: '/INBOX/;UID=1', POP3: '/1', SMTP: '' }[cell.protocol];
  // INTEROP.md: curl sends SNI only for names, so the name is resolved with --resolve.
  const args = [
    '-sS', '-v', '--max-time', '15', '--cacert', ctx.caFile, '--resolve', `${HOST}:${ctx.port}:127.0.0.1`,
    '-u', `${ctx.user}:${ctx.password}`, '--login-options', cell.method === 'APOP' ? 'AUTH=+APOP' : `AUTH=${saslName(cell.method)}`,
    ...(cell.method === 'PLAIN+authzid' ? ['--sasl-authzid', `${ctx.user}@${HOST}`] : []),
    ...(implicit ? [] : ['--ssl-reqd']),
  ];
  if (cell.protocol === 'SMTP') {
    const file = join(ctx.dir, `${ctx.tag}.eml`);
    writeFileSync(file, smtpMessage(ctx, '\r\n'));
    args.push('--mail-from', `${ctx.user}@${HOST}`, '--mail-rcpt', 'bob@example.com', '--upload-file', file);
  }
  args.push(`${scheme}://${HOST}:${ctx.port}${path}`);
  const r = await runClient('curl', args);
  // The verbose trace shows the command curl sent: the method really used.
  const sent = cell.method === 'APOP' ? /^> APOP /m : new RegExp(`^> (?:[A-Z0-9]+ )?(?:AUTHENTICATE|AUTH) ${saslName(cell.method)}(?: |$)`, 'm');
  const worked = r.code === 0 && sent.test(r.out) && (cell.protocol === 'SMTP' ? /^< 250 2\.0\.0 Ok: queued/m.test(r.out) : r.out.includes(ctx.seed));
  return { ...r, worked, refused: r.code === 67 };
}

// ---- Cyrus imtest / pop3test / smtptest -------------------------------------------------------

async function cyrus(cell: Cell, ctx: ClientContext): Promise<ClientOutcome> {
  const tool = { IMAP: 'imtest', POP3: 'pop3test', SMTP: 'smtptest' }[cell.protocol];
  const bin = `${CYRUS_BIN}/${tool}`;
  requireTool(bin, 'cyrus-clients');
  // The Cyrus tools find their mechanisms as libsasl2 plugins (a Recommends, so a
  // --no-install-recommends install lacks them).
  requireFiles('/usr/lib/*/sasl2/libcrammd5.so*', 'libsasl2-modules');
  const mech = ({ 'IMAP-LOGIN': 'login', 'USER/PASS': 'user', APOP: 'apop' } as Record<string, string>)[cell.method] ?? cell.method;
  // No LOGOUT/QUIT in the file: the tools send their own after it, and a second one reaches a
  // backend that is already closing with unread input, which then resets the connection and
  // can destroy the answers still on their way (seen once in 40 runs with pop3test).
  const commands = {
    IMAP: '. SELECT INBOX\r\n. FETCH 1 BODY[]\r\n',
    POP3: 'RETR 1\r\n',
    SMTP: `MAIL FROM:<${ctx.user}@${HOST}>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n${smtpMessage(ctx, '\r\n')}.\r\n`,
  }[cell.protocol];
  const file = join(ctx.dir, `${ctx.tag}.cmds`);
  writeFileSync(file, commands);
  // -t "" = STARTTLS without a client certificate; -s = implicit TLS.
  const args = [...(cell.tls === 'implicit' ? ['-s'] : ['-t', '']), '-p', String(ctx.port), '-m', mech, '-a', ctx.user, '-w', ctx.password, '-f', file, HOST];
  const [cmd, argv] = inHosts(ctx.hostsFile, bin, args);
  const r = await runClient(cmd, argv);
  // INTEROP.md: the exit code is always 0; "Authenticated." is the verdict.
  const authed = /^Authenticated\.$/m.test(r.out);
  const worked = authed && (cell.protocol === 'SMTP' ? /^(?:S: )?250 2\.0\.0 Ok: queued/m.test(r.out) : r.out.includes(ctx.seed));
  return { ...r, worked, refused: !authed && /Authentication failed/.test(r.out) };
}

// ---- swaks ------------------------------------------------------------------------------------

async function swaks(cell: Cell, ctx: ClientContext): Promise<ClientOutcome> {
  requireTool('swaks', 'swaks');
  const args = [
    '--server', `${HOST}:${ctx.port}`, cell.tls === 'implicit' ? '--tls-on-connect' : '--tls',
    '--tls-verify', '--tls-ca-path', ctx.caFile,
    '--auth', cell.method, '--auth-user', ctx.user, '--auth-password', ctx.password,
    '--from', `${ctx.user}@${HOST}`, '--to', 'bob@example.com', '--header', `Subject: ${ctx.tag}`, '--body', `Sent through Mailward (${ctx.tag}).`,
  ];
  const [cmd, argv] = inHosts(ctx.hostsFile, 'swaks', args);
  const r = await runClient(cmd, argv);
  // INTEROP.md: 0 ok, 28 auth refused, 29 TLS.
  const worked = r.code === 0 && /^<~ +235 /m.test(r.out) && /^<~ +250 2\.0\.0 Ok: queued/m.test(r.out);
  return { ...r, worked, refused: r.code === 28 };
}

// ---- Python -----------------------------------------------------------------------------------

/** One script for the three protocols; arguments come as JSON on argv, never spliced into code. */
const PYTHON_SCRIPT = String.raw`
import imaplib, poplib, smtplib, ssl, sys, json
a = json.loads(sys.argv[1])
ctx = ssl.create_default_context(cafile=a['ca'])
host, port, user, pw, method, implicit = a['host'], a['port'], a['user'], a['password'], a['method'], a['implicit']
try:
    if a['protocol'] == 'IMAP':
        c = imaplib.IMAP4_SSL(host, port, ssl_context=ctx) if implicit else imaplib.IMAP4(host, port)
        if not implicit: c.starttls(ssl_context=ctx)
        if method == 'IMAP-LOGIN': print(c.login(user, pw))
        elif method == 'CRAM-MD5': print(c.login_cram_md5(user, pw))
        elif method == 'PLAIN+authzid': print(c.authenticate('PLAIN', lambda _: (user + '@' + host + '\0' + user + '\0' + pw).encode()))
        print('LIST', c.list())
        print('SELECT', c.select('INBOX'))
        print('FETCH', c.fetch('1', '(BODY[])'))
        c.logout()
    elif a['protocol'] == 'POP3':
        c = poplib.POP3_SSL(host, port, context=ctx) if implicit else poplib.POP3(host, port)
        if not implicit: c.stls(context=ctx)
        if method == 'USER/PASS': c.user(user); print(c.pass_(pw))
        elif method == 'APOP': print(c.apop(user, pw))
        print('RETR', c.retr(1))
        c.quit()
    else:
        c = smtplib.SMTP_SSL(host, port, context=ctx) if implicit else smtplib.SMTP(host, port)
        c.ehlo('python.client.test')
        if not implicit: c.starttls(context=ctx); c.ehlo('python.client.test')
        c.user, c.password = user, pw
        print(c.auth(method, getattr(c, 'auth_' + method.lower().replace('-', '_')), initial_response_ok=True))
        print('SENT', c.sendmail(user + '@' + host, ['bob@example.com'], a['message']))
        c.quit()
    print('PYTHON-DONE')
except (imaplib.IMAP4.error, poplib.error_proto, smtplib.SMTPAuthenticationError) as e:
    print('PYTHON-REFUSED', repr(e))
    sys.exit(3)
`;

async function python(cell: Cell, ctx: ClientContext): Promise<ClientOutcome> {
  requireTool(PYTHON, 'python3');
  const a = {
    host: HOST, port: ctx.port, ca: ctx.caFile, user: ctx.user, password: ctx.password, method: cell.method,
    implicit: cell.tls === 'implicit', protocol: cell.protocol, message: smtpMessage(ctx, '\r\n'),
  };
  const [cmd, argv] = inHosts(ctx.hostsFile, PYTHON, ['-c', PYTHON_SCRIPT, JSON.stringify(a)]);
  const r = await runClient(cmd, argv);
  const evidence = cell.protocol === 'SMTP' ? /^SENT \{\}$/m.test(r.out) : r.out.includes(ctx.seed);
  return { ...r, worked: r.code === 0 && /^PYTHON-DONE$/m.test(r.out) && evidence, refused: r.code === 3 };
}

export const DRIVERS: Record<Cell['client'], (cell: Cell, ctx: ClientContext) => Promise<ClientOutcome>> = { gsasl, curl, cyrus, swaks, python };

/** The server-side name of a method in the `auth.success` log record. */
export function serverMethod(method: string): string {
  return ({ 'IMAP-LOGIN': 'LOGIN-COMMAND', 'USER/PASS': 'USER-PASS', 'PLAIN+authzid': 'PLAIN' } as Record<string, string>)[method] ?? method;
}

/** Methods that need the password back from the store: the account must keep it reversible
 *  (PasswordEncryption clear). SCRAM-SHA-1 too: a one-way account stores argon2id plus
 *  SCRAM-SHA-256 keys only (SPEC P3), so SHA-1 has nothing to check against there (A9: it fails
 *  cleanly; policy.test.ts shows it). The others run against an argon2id account. */
export function needsReversible(method: string): boolean {
  return ['CRAM-MD5', 'DIGEST-MD5', 'NTLM', 'APOP', 'MSN', 'SCRAM-SHA-1', 'SCRAM-SHA-1-PLUS'].includes(method);
}
