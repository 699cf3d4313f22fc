/** The operations of the benchmark, built from the clients for a given server and account set. */
import { Conn, imapGreeting, imapLogin, imapPlain, imapScram, pop3Greeting, pop3UserPass, tlsHandshake, type Account, type Expect, type Target } from './client.js';

export type LoginKind = 'login' | 'plain' | 'scram' | 'pop3';

export const LOGIN_LABELS: Record<LoginKind, string> = {
  login: 'IMAP LOGIN',
  plain: 'IMAP AUTHENTICATE PLAIN',
  scram: 'IMAP AUTHENTICATE SCRAM-SHA-256',
  pop3: 'POP3 USER/PASS',
};

/** Accounts are used in turn, so no single account's state (caches, lock-out) decides. */
export function rotation(accounts: readonly Account[]): () => Account {
  let i = 0;
  return () => accounts[(i++) % accounts.length] as Account;
}

/** One login on a new connection, closed as soon as the result is known. */
export function loginOp(kind: LoginKind, target: Target, next: () => Account, expect: Expect = 'ok'): () => Promise<void> {
  return async () => {
    const c = await Conn.open(target);
    try {
      if (kind === 'pop3') {
        await pop3Greeting(c);
        await pop3UserPass(c, next(), expect);
      } else {
        await imapGreeting(c);
        if (kind === 'login') await imapLogin(c, next(), expect);
        else if (kind === 'plain') await imapPlain(c, next(), expect);
        else await imapScram(c, next(), expect);
      }
    } finally {
      c.close();
    }
  };
}

/** Full handshakes: a new connection, closed once the handshake is done. */
export function fullHandshakeOp(host: string, port: number, servername: string | undefined): () => Promise<void> {
  return async () => { await tlsHandshake({ host, port, servername, wantTicket: false }); };
}

/** Resumed TLS 1.3 handshakes: each connection presents a ticket from an earlier connection (the
 *  first, full handshake's; a resumed connection leaves at the end of its handshake and keeps
 *  presenting it, stateless tickets being valid until they expire); a handshake that was not
 *  resumed is an error. */
export function resumedHandshakeOp(host: string, port: number, servername: string | undefined): () => Promise<void> {
  const pool: Buffer[] = [];
  return async () => {
    const session = pool.pop();
    const r = await tlsHandshake({ host, port, servername, wantTicket: true, ...(session ? { session } : {}) });
    // The fresh ticket when the server sent one, else the one just used (still valid).
    const next = r.ticket ?? session;
    if (next) pool.push(next);
    if (session && !r.reused) throw new Error('TLS session not resumed');
  };
}
