/**
 * Test support for the listener layer: a toy protocol session that uses every effect, and a line
 * client over real sockets (clear, upgraded, or TLS from the start). Not used by production code.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { openConnection } from '../../backends/wire.js';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectionInfo, Effect, ProtocolSession } from './session.js';

const w = (text: string): Effect => ({ type: 'write', data: `${text}\r\n` });

export interface ToyOptions {
  /** Answer like an SMTP server (220 greeting, 250/221), for SMTP tools such as swaks. */
  smtp?: boolean;
  /** Wait this long before the greeting (to see early talkers). */
  greetDelayMs?: number;
  /** Where RELAY connects. */
  backendPort?: number;
  /** RELAY connects as the backend connector does for IMAP and POP3: reads into the
   *  connection's own buffers (src/backends/wire.ts, ReadPort). */
  ownBuffers?: boolean;
}

/** An echo-like session: every command maps to one effect kind. */
export class ToySession implements ProtocolSession {
  readonly lines: string[] = [];
  readonly literals: Buffer[] = [];
  tlsStarted = 0;
  closed = false;
  idled = false;
  backend: Socket | undefined;

  constructor(readonly info: ConnectionInfo, readonly opts: ToyOptions = {}) {}

  async start(): Promise<Effect[]> {
    if (this.opts.greetDelayMs) await sleep(this.opts.greetDelayMs);
    return [w(this.opts.smtp ? '220 toy ESMTP' : `* HELLO ${this.info.remoteAddress} ${this.info.remotePort}`)];
  }

  async onLine(buf: Buffer): Promise<Effect[]> {
    const line = buf.toString('latin1');
    this.lines.push(line);
    const [cmd = '', ...args] = line.split(' ');
    switch (cmd.toUpperCase()) {
      case 'EHLO': case 'HELO': return [w('250 toy')];
      case 'STARTTLS': return [w(this.opts.smtp ? '220 go ahead' : 'OK begin TLS'), { type: 'starttls' }];
      case 'INFO': return [w(`INFO ${JSON.stringify(this.view())}`)];
      case 'LIT': return [w('+ go'), { type: 'read', mode: { kind: 'literal', size: Number(args[0]) } }];
      case 'QUIT': return [w(this.opts.smtp ? '221 bye' : 'BYE'), { type: 'close', reason: 'quit' }];
      case 'THROW': throw new Error('toy failure');
      case 'SLOW': await sleep(Number(args[0])); return [w('SLOW done')];
      case 'BIG': return [{ type: 'write', data: Buffer.alloc(Number(args[0]), 0x61) }, w('')];
      case 'RELAY': {
        const port = this.opts.backendPort;
        if (port === undefined) return [w('NO backend')];
        let b: Socket;
        if (this.opts.ownBuffers) {
          const r = await openConnection({ address: '127.0.0.1', port, timeoutMs: 5000, ownBuffers: true });
          if (!r.ok) return [w(`NO ${r.reason}`)];
          b = r.socket as Socket;
          b.pause(); // as LineChannel.detach leaves it
        } else {
          b = netConnect({ host: '127.0.0.1', port });
          await new Promise<void>((resolve, reject) => { b.once('connect', resolve); b.once('error', reject); });
        }
        this.backend = b;
        return [{ type: 'relay', backend: b, preface: 'OK relay\r\n', account: 'toy@test' }];
      }
      default: return [w(`ECHO ${line}`)];
    }
  }

  async onLiteral(data: Buffer): Promise<Effect[]> {
    this.literals.push(data);
    return [w(`LITERAL ${data.length} ${data.toString('latin1')}`)];
  }

  async onLineTooLong(): Promise<Effect[]> { return [w('TOO LONG')]; }

  async onTlsStarted(): Promise<Effect[]> {
    this.tlsStarted++;
    return this.opts.smtp ? [] : [w(`TLS ${this.info.tls?.protocol ?? '?'}`)];
  }

  onIdleTimeout(): Effect[] { this.idled = true; return [w('BYE idle')]; }

  onClose(): void { this.closed = true; }

  view(): Record<string, unknown> {
    const i = this.info;
    const cb = Object.fromEntries(Object.entries(i.tls?.channelBindings ?? {}).map(([k, v]) => [k, v.toString('hex')]));
    return {
      remote: i.remoteAddress, remotePort: i.remotePort, local: i.localAddress, localPort: i.localPort, secure: i.secure,
      startTls: i.startTlsAvailable, clearTextLogin: i.clearTextLogin, early: i.earlyInput === true,
      protocol: i.tls?.protocol, resumed: i.tls?.resumed, domain: i.tls?.domain, cb,
    };
  }
}

/** A line-oriented client that can upgrade to TLS in place. */
export class LineClient {
  socket: Socket | TLSSocket;
  #buf = '';
  #waiters: Array<() => void> = [];
  received = 0;
  ended = false;
  /** TLS sessions the server gave (for resumption tests). */
  tlsSessions: Buffer[] = [];
  readonly closed: Promise<void>;
  #onData = (d: Buffer): void => { this.received += d.length; this.#buf += d.toString('latin1'); this.#wake(); };

  private constructor(socket: Socket | TLSSocket) {
    this.socket = socket;
    socket.on('data', this.#onData);
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => { this.ended = true; this.#wake(); resolve(); }));
  }

  #wake(): void { for (const f of this.#waiters.splice(0)) f(); }

  static connect(port: number, opts: { host?: string; localAddress?: string } = {}): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = netConnect({ host: opts.host ?? '127.0.0.1', port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
      s.once('connect', () => resolve(new LineClient(s)));
      s.once('error', reject);
    });
  }

  static connectTls(port: number, opts: ConnectionOptions = {}): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts });
      const sessions: Buffer[] = [];
      s.on('session', (b: Buffer) => sessions.push(b));
      s.once('secureConnect', () => { const c = new LineClient(s); c.tlsSessions = sessions; resolve(c); });
      s.once('error', reject);
    });
  }

  send(text: string | Buffer): void { this.socket.write(text); }

  /** The next line (without CRLF); rejects if the connection closes first or on time-out. */
  async line(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#buf.indexOf('\n');
      if (i >= 0) {
        const l = this.#buf.slice(0, i).replace(/\r$/, '');
        this.#buf = this.#buf.slice(i + 1);
        return l;
      }
      if (this.ended) throw new Error(`closed before a line (buffered: ${JSON.stringify(this.#buf.slice(0, 200))})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line within ${timeoutMs} ms (buffered: ${JSON.stringify(this.#buf.slice(0, 200))})`);
      await new Promise<void>((resolve) => { const t = setTimeout(resolve, left); this.#waiters.push(() => { clearTimeout(t); resolve(); }); });
    }
  }

  /** Sends a command and returns its one-line answer. */
  async ask(cmd: string): Promise<string> { this.send(`${cmd}\r\n`); return this.line(); }

  async info(): Promise<Record<string, unknown> & { cb: Record<string, string> }> {
    const l = await this.ask('INFO');
    if (!l.startsWith('INFO ')) throw new Error(`unexpected: ${l}`);
    return JSON.parse(l.slice(5)) as Record<string, unknown> & { cb: Record<string, string> };
  }

  /** Upgrades to TLS over the same connection (after the server said to begin). */
  upgrade(opts: ConnectionOptions = {}): Promise<TLSSocket> {
    const raw = this.socket;
    raw.off('data', this.#onData);
    return new Promise((resolve, reject) => {
      const t = tlsConnect({ socket: raw as Socket, rejectUnauthorized: false, ...opts });
      t.once('secureConnect', () => { this.socket = t; t.on('data', this.#onData); t.on('error', () => undefined); resolve(t); });
      t.once('error', reject);
    });
  }

  /** Resolves when the server has closed, with what was left unread. */
  async waitClosed(timeoutMs = 5000): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs); });
    try { await Promise.race([this.closed, late]); } finally { clearTimeout(timer); }
    return this.#buf;
  }

  destroy(): void { this.socket.destroy(); }
}
