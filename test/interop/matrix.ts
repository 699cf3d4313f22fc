/**
 * The interop matrix of issue 5's proof: which independent client drives which method on which
 * protocol over which TLS mode, generated from one table of what each client can do. The
 * matrix-*.test.ts files run every cell against Mailward in front of a real Dovecot and Postfix;
 * `node dist/test/interop/matrix.js` prints the table (docs/interop.md holds a copy).
 *
 * Method names are the SASL mechanism names, plus the protocols' own password commands:
 * IMAP `LOGIN` (here `IMAP-LOGIN`), POP3 `USER/PASS` and `APOP`. `PLAIN+authzid` is AUTHENTICATE
 * PLAIN carrying an authorization identity (RFC 4616), here the user's own address.
 */
import { pathToFileURL } from 'node:url';

export type Protocol = 'IMAP' | 'POP3' | 'SMTP';
export type TlsMode = 'STARTTLS' | 'implicit';
export type ClientName = 'gsasl' | 'curl' | 'cyrus' | 'swaks' | 'python';

export interface Cell {
  client: ClientName;
  protocol: Protocol;
  method: string;
  tls: TlsMode;
  /** Force this TLS version (default: what client and server agree on, TLS 1.3 here). */
  tlsVersion?: 'TLSv1.2';
  /** `refused`: a negative cell, the client does something a correct server must refuse. */
  expect: 'ok' | 'refused';
  note?: string;
}

/** A cell that is not in the matrix, and why. */
export interface Gap {
  client: ClientName;
  protocol: Protocol;
  methods: string;
  tls: TlsMode | 'both';
  reason: string;
}

/** The tools behind each client name and their Debian packages. */
export const CLIENT_TOOLS: Record<ClientName, string> = {
  gsasl: 'gsasl 2.2 --imap/--smtp (gsasl)',
  curl: 'curl 7.88 (curl)',
  cyrus: 'Cyrus imtest/pop3test/smtptest 3.6 (cyrus-clients, libsasl2-modules)',
  swaks: 'swaks 20201014 (swaks, libauthen-sasl-perl, libauthen-ntlm-perl, libio-socket-ssl-perl)',
  python: 'Python 3 imaplib/poplib/smtplib (python3)',
};

const SCRAM = ['SCRAM-SHA-1', 'SCRAM-SHA-256'];
const SCRAM_PLUS = ['SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256-PLUS'];
const BOTH: TlsMode[] = ['STARTTLS', 'implicit'];

interface Capability {
  client: ClientName;
  protocol: Protocol;
  methods: string[];
  tls: TlsMode[];
  tlsVersion?: 'TLSv1.2';
  expect?: 'refused';
  note?: string;
}

/** What each client can do (INTEROP.md), minus the gaps below. */
const CAPABILITIES: Capability[] = [
  // gsasl: STARTTLS only (it has no implicit-TLS mode). -PLUS over TLS 1.3 (tls-exporter) and
  // TLS 1.2 (tls-unique); plain SCRAM over TLS needs --no-cb.
  { client: 'gsasl', protocol: 'IMAP', methods: ['PLAIN', 'PLAIN+authzid', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5', ...SCRAM, ...SCRAM_PLUS, 'NTLM'], tls: ['STARTTLS'] },
  { client: 'gsasl', protocol: 'IMAP', methods: SCRAM_PLUS, tls: ['STARTTLS'], tlsVersion: 'TLSv1.2' },
  { client: 'gsasl', protocol: 'SMTP', methods: ['PLAIN', 'PLAIN+authzid', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5', ...SCRAM, ...SCRAM_PLUS, 'NTLM'], tls: ['STARTTLS'] },
  { client: 'gsasl', protocol: 'SMTP', methods: SCRAM_PLUS, tls: ['STARTTLS'], tlsVersion: 'TLSv1.2' },
  // curl: forced with --login-options AUTH=...; APOP with AUTH=+APOP; authzid with --sasl-authzid.
  { client: 'curl', protocol: 'IMAP', methods: ['PLAIN', 'PLAIN+authzid', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5', 'NTLM'], tls: BOTH },
  { client: 'curl', protocol: 'POP3', methods: ['PLAIN', 'PLAIN+authzid', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5', 'NTLM', 'APOP'], tls: BOTH },
  { client: 'curl', protocol: 'SMTP', methods: ['PLAIN', 'PLAIN+authzid', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5', 'NTLM'], tls: BOTH },
  // Cyrus: -m login = IMAP LOGIN, -m user / -m apop for POP3; SASL through libsasl2.
  { client: 'cyrus', protocol: 'IMAP', methods: ['IMAP-LOGIN', 'PLAIN', 'CRAM-MD5', 'DIGEST-MD5', ...SCRAM, 'NTLM'], tls: BOTH },
  { client: 'cyrus', protocol: 'POP3', methods: ['USER/PASS', 'APOP', 'PLAIN', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5', ...SCRAM, 'NTLM'], tls: BOTH },
  { client: 'cyrus', protocol: 'SMTP', methods: ['PLAIN', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5', ...SCRAM, 'NTLM'], tls: BOTH },
  // libsasl2 2.1.28 sends `p=tls-unique` even on TLS 1.3, where tls-unique is undefined (RFC
  // 9266): a correct server refuses it.
  { client: 'cyrus', protocol: 'IMAP', methods: SCRAM_PLUS, tls: BOTH, expect: 'refused', note: 'Cyrus asks for tls-unique on TLS 1.3' },
  { client: 'cyrus', protocol: 'POP3', methods: SCRAM_PLUS, tls: BOTH, expect: 'refused', note: 'Cyrus asks for tls-unique on TLS 1.3' },
  { client: 'cyrus', protocol: 'SMTP', methods: SCRAM_PLUS, tls: BOTH, expect: 'refused', note: 'Cyrus asks for tls-unique on TLS 1.3' },
  // swaks: --tls is STARTTLS, --tls-on-connect implicit TLS.
  { client: 'swaks', protocol: 'SMTP', methods: ['PLAIN', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5', 'NTLM'], tls: BOTH },
  // Python: what the standard library offers.
  { client: 'python', protocol: 'IMAP', methods: ['IMAP-LOGIN', 'CRAM-MD5', 'PLAIN+authzid'], tls: BOTH },
  { client: 'python', protocol: 'POP3', methods: ['USER/PASS', 'APOP'], tls: BOTH },
  { client: 'python', protocol: 'SMTP', methods: ['PLAIN', 'LOGIN', 'CRAM-MD5'], tls: BOTH },
];

/** Cells left out, each with its reason (none hides a failure of Mailward's that has no report). */
export const GAPS: Gap[] = [
  { client: 'gsasl', protocol: 'IMAP', methods: 'all', tls: 'implicit', reason: 'gsasl 2.2 has no implicit-TLS mode (STARTTLS only)' },
  { client: 'gsasl', protocol: 'SMTP', methods: 'all', tls: 'implicit', reason: 'gsasl 2.2 has no implicit-TLS mode (STARTTLS only)' },
  { client: 'gsasl', protocol: 'POP3', methods: 'all', tls: 'both', reason: 'gsasl 2.2 speaks only --imap and --smtp' },
  { client: 'swaks', protocol: 'IMAP', methods: 'all', tls: 'both', reason: 'swaks is an SMTP client' },
  { client: 'swaks', protocol: 'POP3', methods: 'all', tls: 'both', reason: 'swaks is an SMTP client' },
  { client: 'curl', protocol: 'IMAP', methods: 'IMAP-LOGIN, SCRAM-*', tls: 'both', reason: 'curl 7.88 cannot force IMAP LOGIN and has no SCRAM' },
  { client: 'curl', protocol: 'POP3', methods: 'USER/PASS, SCRAM-*', tls: 'both', reason: 'curl 7.88 cannot force USER/PASS and has no SCRAM' },
  { client: 'cyrus', protocol: 'IMAP', methods: 'LOGIN (SASL)', tls: 'both', reason: 'imtest -m LOGIN sends the IMAP LOGIN command (it matches "login" without case), never AUTHENTICATE LOGIN' },
  { client: 'python', protocol: 'SMTP', methods: 'DIGEST-MD5, NTLM, SCRAM-*', tls: 'both', reason: 'smtplib offers PLAIN, LOGIN and CRAM-MD5 only' },
];

export const MATRIX: Cell[] = CAPABILITIES.flatMap((c) => c.methods.flatMap((method) => c.tls.map((tls): Cell => ({
  client: c.client, protocol: c.protocol, method, tls,
  ...(c.tlsVersion ? { tlsVersion: c.tlsVersion } : {}),
  expect: c.expect ?? 'ok',
  ...(c.note ? { note: c.note } : {}),
}))));

export function cellName(c: Cell): string {
  return `${c.client} ${c.protocol} ${c.method} ${c.tls}${c.tlsVersion ? ` ${c.tlsVersion}` : ''}${c.expect === 'refused' ? ' (refused)' : ''}`;
}

export function cellsFor(protocol: Protocol): Cell[] {
  return MATRIX.filter((c) => c.protocol === protocol);
}

/** Markdown: one table per protocol, methods as rows, clients as columns; each cell lists the
 *  TLS modes (S = STARTTLS, I = implicit TLS, 1.2 = also forced TLS 1.2; ✗ = refused as it must). */
export function matrixMarkdown(cells: Cell[] = MATRIX): string {
  const clients: ClientName[] = ['gsasl', 'curl', 'cyrus', 'swaks', 'python'];
  const out: string[] = [];
  for (const protocol of ['IMAP', 'POP3', 'SMTP'] as const) {
    const mine = cells.filter((c) => c.protocol === protocol);
    const methods = [...new Set(mine.map((c) => c.method))];
    const used = clients.filter((cl) => mine.some((c) => c.client === cl));
    out.push(`### ${protocol}`, '', `| method | ${used.join(' | ')} |`, `|---|${used.map(() => '---').join('|')}|`);
    for (const m of methods) {
      const row = used.map((cl) => {
        const cs = mine.filter((c) => c.client === cl && c.method === m);
        if (cs.length === 0) return '';
        const modes = cs.map((c) => `${c.tls === 'STARTTLS' ? 'S' : 'I'}${c.tlsVersion ? ' 1.2' : ''}`).join(', ');
        return cs.every((c) => c.expect === 'refused') ? `✗ ${modes}` : modes;
      });
      out.push(`| ${m} | ${row.join(' | ')} |`);
    }
    out.push('');
  }
  out.push(`${cells.length} cells. S = STARTTLS, I = implicit TLS, "S 1.2" = STARTTLS with TLS 1.2 forced, ✗ = the client does something a correct server refuses, and Mailward refuses it.`, '');
  out.push('Left out:', '');
  for (const g of GAPS) out.push(`- ${g.client} ${g.protocol} ${g.methods} (${g.tls}): ${g.reason}`);
  return `${out.join('\n')}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.stdout.write(matrixMarkdown());
