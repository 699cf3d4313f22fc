/**
 * The neutral load generator: the same minimal IMAP, POP3 and TLS clients for every server.
 * Each operation opens its own connection (a login is measured with its TCP and greeting cost,
 * as a mail client pays it), and source addresses rotate over 127.0.0.0/8 so that neither the
 * per-address connection limits of the servers nor the client's ephemeral ports (TIME_WAIT) cap
 * the rate.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

/** Source addresses 127.0.0.2 .. 127.0.0.(1+N): Mailward allows 50 open connections per client
 *  address (MAX_CONNECTIONS_PER_IP), so 5,000 idle connections need at least 100 of them. */
export const SOURCE_ADDRESSES = 200;

/** How long any single read may wait: a stalled server fails the operation, never the run. */
export const OP_TIMEOUT_MS = 10_000;


let nextSource = 0;
export function sourceAddress(): string {
  nextSource = (nextSource + 1) % SOURCE_ADDRESSES;
  return `127.0.0.${2 + nextSource}`;
}

export interface Target { host: string; port: number; tls?: { servername?: string; session?: Buffer } }

/** A connection that reads CRLF lines and counts raw bytes. */
export class Conn {
  readonly socket: Socket | TLSSocket;
  #buf = '';
  #waiter: (() => void) | null = null;
  #closed: Error | null = null;
  /** When set, data is counted here instead of being buffered as lines (bulk FETCH). */
  sink: ((chunk: Buffer) => void) | null = null;

  private constructor(socket: Socket | TLSSocket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      if (this.sink) { this.sink(d); return; }
      this.#buf += d.toString('latin1');
      this.#wake();
    });
    const end = (e?: Error): void => { this.#closed ??= e ?? new Error('connection closed'); this.#wake(); };
    socket.on('error', end);
    socket.on('close', () => end());
  }

  static open(t: Target): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const localAddress = sourceAddress();
      const raw = netConnect({ host: t.host, port: t.port, localAddress });
      const s = t.tls
        ? tlsConnect({ socket: raw, rejectUnauthorized: false, ...(t.tls.servername ? { servername: t.tls.servername } : {}), ...(t.tls.session ? { session: t.tls.session } : {}) })
        : raw;
      if (t.tls) raw.on('error', () => { /* reported through the TLS socket */ });
      s.setNoDelay(true);
      const timer = setTimeout(() => { s.destroy(); reject(new Error('connect time-out')); }, OP_TIMEOUT_MS);
      s.once('error', (e) => { clearTimeout(timer); reject(e); });
      s.once(t.tls ? 'secureConnect' : 'connect', () => { clearTimeout(timer); resolve(new Conn(s)); });
    });
  }

  #wake(): void { const w = this.#waiter; this.#waiter = null; w?.(); }

  async line(): Promise<string> {
    for (;;) {
      const i = this.#buf.indexOf('\n');
      if (i >= 0) {
        const l = this.#buf.slice(0, i > 0 && this.#buf.charCodeAt(i - 1) === 13 ? i - 1 : i);
        this.#buf = this.#buf.slice(i + 1);
        return l;
      }
      if (this.#closed) throw this.#closed;
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => { this.#waiter = null; reject(new Error('read time-out')); }, OP_TIMEOUT_MS);
        this.#waiter = () => { clearTimeout(t); resolve(); };
      });
    }
  }

  /** Reads lines until one starts with `prefix`; returns it. */
  async until(prefix: string): Promise<string> {
    for (;;) {
      const l = await this.line();
      if (l.startsWith(prefix)) return l;
    }
  }

  write(s: string): void { this.socket.write(s); }

  close(): void { this.socket.destroy(); }
}

export interface Account { user: string; password: string }

function plainB64(a: Account): string {
  return Buffer.from(`\0${a.user}\0${a.password}`).toString('base64');
}

/** What an operation must end with: 'ok' (logged in) or a refusal whose text matches. */
export type Expect = 'ok' | RegExp;

function check(line: string, okPrefix: string, expect: Expect): void {
  if (expect === 'ok') { if (!line.startsWith(okPrefix)) throw new Error(`login failed: ${line}`); return; }
  if (!expect.test(line)) throw new Error(`unexpected reply: ${line}`);
}

export async function imapGreeting(c: Conn): Promise<string> {
  const g = await c.line();
  if (!g.startsWith('* OK')) throw new Error(`greeting: ${g}`);
  return g;
}

/** IMAP LOGIN with quoted strings (RFC 9051 §6.2.3). */
export async function imapLogin(c: Conn, a: Account, expect: Expect = 'ok'): Promise<void> {
  c.write(`a LOGIN "${a.user}" "${a.password}"\r\n`);
  check(await c.until('a '), 'a OK', expect);
}

/** IMAP AUTHENTICATE PLAIN in two steps (no SASL-IR: every server here understands this form). */
export async function imapPlain(c: Conn, a: Account, expect: Expect = 'ok'): Promise<void> {
  c.write('a AUTHENTICATE PLAIN\r\n');
  const go = await c.line();
  if (!go.startsWith('+')) throw new Error(`AUTHENTICATE: ${go}`);
  c.write(`${plainB64(a)}\r\n`);
  check(await c.until('a '), 'a OK', expect);
}

/** Client-side SCRAM keys are cached by (password, salt, iterations): when a server keeps a
 *  stable salt, the generator does not pay PBKDF2 per login (its own CPU is reported anyway). */
const scramCache = new Map<string, { clientKey: Buffer; serverKey: Buffer }>();

function scramKeys(password: string, salt: Buffer, iterations: number): { clientKey: Buffer; serverKey: Buffer } {
  const k = `${password}\0${salt.toString('base64')}\0${iterations}`;
  let v = scramCache.get(k);
  if (!v) {
    const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
    v = { clientKey: createHmac('sha256', salted).update('Client Key').digest(), serverKey: createHmac('sha256', salted).update('Server Key').digest() };
    if (scramCache.size > 10_000) scramCache.clear();
    scramCache.set(k, v);
  }
  return v;
}

/** IMAP AUTHENTICATE SCRAM-SHA-256 (RFC 5802, 7677), without channel binding ("n,,"). */
export async function imapScram(c: Conn, a: Account, expect: Expect = 'ok'): Promise<void> {
  const nonce = randomBytes(18).toString('base64');
  const bare = `n=${a.user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${nonce}`;
  c.write('a AUTHENTICATE SCRAM-SHA-256\r\n');
  let l = await c.line();
  if (!l.startsWith('+')) throw new Error(`AUTHENTICATE: ${l}`);
  c.write(`${Buffer.from(`n,,${bare}`).toString('base64')}\r\n`);
  l = await c.line();
  if (!l.startsWith('+ ')) { check(l, 'a OK', expect); return; }
  const first = Buffer.from(l.slice(2), 'base64').toString();
  const attrs = new Map(first.split(',').map((p) => [p.slice(0, 1), p.slice(2)] as [string, string]));
  const r = attrs.get('r') ?? '';
  if (!r.startsWith(nonce)) throw new Error('SCRAM: nonce');
  const { clientKey, serverKey } = scramKeys(a.password, Buffer.from(attrs.get('s') ?? '', 'base64'), Number(attrs.get('i')));
  const withoutProof = `c=biws,r=${r}`;
  const authMessage = `${bare},${first},${withoutProof}`;
  const storedKey = createHash('sha256').update(clientKey).digest();
  const sig = createHmac('sha256', storedKey).update(authMessage).digest();
  const proof = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) proof[i] = (clientKey[i] as number) ^ (sig[i] as number);
  c.write(`${Buffer.from(`${withoutProof},p=${proof.toString('base64')}`).toString('base64')}\r\n`);
  l = await c.line();
  if (l.startsWith('+ ')) {
    const fin = Buffer.from(l.slice(2), 'base64').toString();
    const v = Buffer.from(fin.replace(/^v=/, ''), 'base64');
    const want = createHmac('sha256', serverKey).update(authMessage).digest();
    if (v.length !== want.length || !timingSafeEqual(v, want)) throw new Error('SCRAM: server signature');
    c.write('\r\n');
    l = await c.until('a ');
  } else if (!l.startsWith('a ')) {
    l = await c.until('a ');
  }
  check(l, 'a OK', expect);
}

export async function pop3Greeting(c: Conn): Promise<void> {
  const g = await c.line();
  if (!g.startsWith('+OK')) throw new Error(`greeting: ${g}`);
}

export async function pop3UserPass(c: Conn, a: Account, expect: Expect = 'ok'): Promise<void> {
  c.write(`USER ${a.user}\r\n`);
  const u = await c.line();
  if (!u.startsWith('+OK')) { check(u, '+OK', expect); return; }
  c.write(`PASS ${a.password}\r\n`);
  check(await c.line(), '+OK', expect);
}

/** One full or resumed TLS handshake: resolves when the handshake is done (and, when a ticket is
 *  wanted for the next resumption, when the server's ticket has arrived). */
export function tlsHandshake(t: { host: string; port: number; servername?: string; session?: Buffer; wantTicket: boolean }): Promise<{ reused: boolean; ticket: Buffer | null }> {
  return new Promise((resolve, reject) => {
    const raw = netConnect({ host: t.host, port: t.port, localAddress: sourceAddress() });
    raw.on('error', () => { /* reported through the TLS socket */ });
    const s = tlsConnect({
      socket: raw, rejectUnauthorized: false, minVersion: 'TLSv1.3',
      ...(t.servername ? { servername: t.servername } : {}), ...(t.session ? { session: t.session } : {}),
    });
    let ticket: Buffer | null = null;
    let reused = false;
    let done = false;
    const finish = (e?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      raw.destroy();
      if (e) reject(e); else resolve({ reused, ticket });
    };
    const timer = setTimeout(() => finish(ticket || !t.wantTicket ? undefined : new Error('TLS: no ticket')), OP_TIMEOUT_MS);
    s.on('session', (sess: Buffer) => { ticket = sess; if (t.wantTicket) finish(); });
    s.on('data', () => { /* greetings are not read: the handshake is what is measured */ });
    s.once('error', (e) => finish(e));
    s.once('secureConnect', () => {
      reused = s.isSessionReused();
      // A resumed connection leaves at the end of its handshake, as a full one does, so every
      // server does the same work for it whether or not it sends a fresh ticket (Node sends none
      // on resumption, nginx and s_server do): waiting for one would keep the connection open
      // long enough for an IMAP server to greet, which only the servers without tickets paid.
      // Only the first, full handshake waits for the ticket the next ones present.
      if (!t.wantTicket || reused) finish();
    });
  });
}
