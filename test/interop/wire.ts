/**
 * A raw line client for the policy tests that need the exact words of a reply (H1 compares the
 * reply to an unknown name with the reply to a wrong password byte for byte) or a wire trick no
 * client does on purpose (STARTTLS with a pipelined command, a chosen source address).
 * Built on the listener layer's test LineClient (src/protocols/common/test-support.ts).
 */
import { LineClient } from '../../src/protocols/common/test-support.js';

export type Proto = 'IMAP' | 'POP3' | 'SMTP' | 'PWD';
export type Link = 'clear' | 'starttls' | 'implicit';

export interface Conn {
  c: LineClient;
  greeting: string;
}

/** Reads lines until one matches `last`; returns them all. */
export async function until(c: LineClient, last: RegExp, timeoutMs = 5000): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const l = await c.line(timeoutMs);
    out.push(l);
    if (last.test(l)) return out;
  }
}

/** Opens a connection: `starttls` upgrades at once (clients that care about the clear phase use
 *  `clear` on a STARTTLS listener). SMTP gets its EHLO answered before returning. */
export async function open(proto: Proto, port: number, link: Link, opts: { localAddress?: string; servername?: string } = {}): Promise<Conn> {
  const tlsOpts = { servername: opts.servername ?? 'example.com', ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) };
  const c = link === 'implicit' ? await LineClient.connectTls(port, tlsOpts) : await LineClient.connect(port, opts.localAddress ? { localAddress: opts.localAddress } : {});
  const greeting = await c.line();
  if (proto === 'SMTP') await ehlo(c);
  if (link === 'starttls') {
    const verb = { IMAP: 'S STARTTLS', POP3: 'STLS', SMTP: 'STARTTLS', PWD: 'STLS' }[proto];
    const r = await c.ask(verb);
    if (!/^(S OK|\+OK|220|200)/.test(r)) throw new Error(`${proto} ${verb}: ${r}`);
    await c.upgrade({ servername: tlsOpts.servername });
    if (proto === 'SMTP') await ehlo(c);
  }
  return { c, greeting };
}

export async function ehlo(c: LineClient, name = 'client.test'): Promise<string[]> {
  c.send(`EHLO ${name}\r\n`);
  return until(c, /^\d{3} /);
}

/**
 * One clear-text login (IMAP LOGIN, POP3 USER/PASS, SMTP AUTH PLAIN, PWD USER/PASS); returns
 * the final reply line (for IMAP the tagged one, the untagged lines before it dropped).
 */
export async function login(proto: Proto, conn: Conn, user: string, password: string): Promise<string> {
  const { c } = conn;
  switch (proto) {
    case 'IMAP': {
      c.send(`L LOGIN "${user}" "${password}"\r\n`);
      const lines = await until(c, /^L /);
      return lines[lines.length - 1]!;
    }
    case 'POP3':
    case 'PWD': {
      const u = await c.ask(`USER ${user}`);
      if (!/^(\+OK|300)/.test(u)) return u;
      return c.ask(`PASS ${password}`);
    }
    case 'SMTP':
      return c.ask(`AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}`);
  }
}

/** Did a login reply say yes? */
export function loggedIn(proto: Proto, reply: string): boolean {
  return { IMAP: /^L OK /, POP3: /^\+OK/, SMTP: /^235 /, PWD: /^200 / }[proto].test(reply);
}

/** Opens, logs in, closes; returns the login reply. */
export async function tryLogin(proto: Proto, port: number, link: Link, user: string, password: string, opts: { localAddress?: string } = {}): Promise<string> {
  const conn = await open(proto, port, link, opts);
  try {
    return await login(proto, conn, user, password);
  } finally {
    conn.c.destroy();
  }
}
