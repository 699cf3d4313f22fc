/**
 * Test doubles for SMTP session transcripts: an engine whose outcomes follow the real engine's
 * rules for the cases the session must map (A7 over a clear link, N2 from a non-client address,
 * locked, disabled, temporary failure), a scripted backend MTA on a loopback port, a connector
 * that records what it is asked and answers as told, and a transcript runner.
 */
import { createHmac } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { ConnectionFacts } from '../../../auth/engine.js';
import type { BackendConnector, BackendRequest, BackendResult } from '../../../backends/connector.js';
import { resolveServer } from '../../../settings/effective.js';
import type { CgValue } from '../../../settings/format/types.js';
import type { CredentialPort } from '../../../sasl/mechanism.js';
import { FakeCredentialPort } from '../../../sasl/testing/fake-port.js';
import type { ConnectionInfo, Effect } from '../../common/session.js';
import { SmtpSession, type SmtpDeps, type SmtpSessionOptions } from '../session.js';

export const NON_CLIENT = '203.0.113.9';

/** alice (password alice-pass), secure (A7: Secure Method Required), and names whose login
 *  yields one fixed outcome. */
export function engineDouble(): SmtpDeps['engine'] & { facts: ConnectionFacts[] } {
  const users = new FakeCredentialPort({ alice: { password: 'alice-pass' }, secure: { password: 'secure-pass' } });
  const facts: ConnectionFacts[] = [];
  return {
    facts,
    bind(f: ConnectionFacts): CredentialPort {
      facts.push(f);
      return {
        async authenticate(r) {
          const name = r.login.split('@')[0] ?? '';
          if (f.client === NON_CLIENT) return { status: 'not-client-address' };
          if (name === 'locked') return { status: 'locked' };
          if (name === 'disabled') return { status: 'disabled' };
          if (name === 'tempfail') return { status: 'temporary-failure', reason: 'test' };
          if (name === 'secure' && r.clearText && !f.secure) return { status: 'secure-method-required' };
          return users.authenticate(r);
        },
        scramParameters: (l, a) => users.scramParameters(l, a),
      };
    },
  };
}

/** A backend MTA that answers every command and records the lines it got. */
export class ScriptedMta {
  readonly lines: string[] = [];
  readonly #server: Server;
  readonly #sockets: Socket[] = [];
  port = 0;

  constructor() {
    this.#server = createServer((s) => {
      this.#sockets.push(s);
      let buf = '';
      let inData = false;
      s.on('error', () => undefined);
      s.on('data', (d) => {
        buf += d.toString('latin1');
        let i;
        while ((i = buf.indexOf('\r\n')) >= 0) {
          const l = buf.slice(0, i);
          buf = buf.slice(i + 2);
          this.lines.push(l);
          if (inData) {
            if (l === '.') { inData = false; s.write('250 2.0.0 Ok: queued as TEST\r\n'); }
            continue;
          }
          const v = l.split(' ')[0]?.toUpperCase();
          if (v === 'EHLO') s.write('250-backend.test\r\n250-PIPELINING\r\n250-AUTH PLAIN\r\n250-STARTTLS\r\n250-XCLIENT LOGIN ADDR\r\n250 CHUNKING\r\n');
          else if (v === 'DATA') { inData = true; s.write('354 End data with <CR><LF>.<CR><LF>\r\n'); }
          else if (v === 'QUIT') { s.end('221 2.0.0 Bye\r\n'); }
          else if (v === 'RCPT' && l.includes('reject')) s.write('550 5.1.1 Recipient rejected\r\n');
          else s.write('250 2.0.0 Ok\r\n');
        }
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as { port: number }).port;
    return this;
  }

  /** Drops every connection (a backend crash). */
  dropAll(): void {
    for (const s of this.#sockets) s.destroy();
  }

  async stop(): Promise<void> {
    this.dropAll();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

export class FakeConnector implements BackendConnector {
  readonly requests: Array<Omit<BackendRequest, 'password'> & { password?: string }> = [];
  constructor(private readonly answer: () => Promise<BackendResult>) {}

  async connect(req: BackendRequest): Promise<BackendResult> {
    // Copy: the session zeroes the password buffer after the call.
    const { password, ...rest } = req;
    this.requests.push(password ? { ...rest, password: password.toString('utf8') } : rest);
    return this.answer();
  }

  static toMta(mta: ScriptedMta): FakeConnector {
    return new FakeConnector(() => new Promise((resolve) => {
      const s = connect(mta.port, '127.0.0.1', () => resolve({ status: 'ok', socket: s }));
      s.on('error', (e) => resolve({ status: 'unavailable', reason: e.message }));
    }));
  }
}

export function info(extra: Partial<ConnectionInfo> = {}): ConnectionInfo {
  return {
    id: 'smtp-test', service: 'SMTP', remoteAddress: '192.0.2.50', remotePort: 50000, localAddress: '127.0.0.1', localPort: 1587,
    secure: false, clearTextLogin: 'tls-only', startTlsAvailable: true, ...extra,
  };
}

export function deps(backends: BackendConnector, server: Record<string, CgValue> = {}, engine = engineDouble()): SmtpDeps {
  return {
    engine,
    serverSettings: async () => resolveServer(server).values,
    backends,
    hostname: async () => 'mx.example.com',
  };
}

export interface Transcript {
  /** Everything written, as text. */
  out: string;
  /** Reply lines in order. */
  replies: string[];
  closed: boolean;
  starttls: boolean;
  effects: Effect[];
}

/** Feeds lines one after another (as the listener does) until the session closes. */
export async function run(session: SmtpSession, lines: string[], opts: { start?: boolean } = {}): Promise<Transcript> {
  const t: Transcript = { out: '', replies: [], closed: false, starttls: false, effects: [] };
  const take = (effects: Effect[]): void => {
    for (const e of effects) {
      t.effects.push(e);
      if (e.type === 'write') t.out += typeof e.data === 'string' ? e.data : e.data.toString('latin1');
      if (e.type === 'close') t.closed = true;
      if (e.type === 'starttls') t.starttls = true;
    }
  };
  if (opts.start !== false) take(await session.start());
  for (const l of lines) {
    if (t.closed) break;
    take(await session.onLine(Buffer.from(l, 'latin1')));
  }
  t.replies = t.out.split('\r\n').filter((x) => x !== '');
  return t;
}

export function newSession(d: SmtpDeps, i: ConnectionInfo = info(), o: SmtpSessionOptions = {}): SmtpSession {
  return new SmtpSession(i, d, { greetingDelayMs: 0, token: 'mw-testtoken', ...o });
}

export const b64 = (s: string): string => Buffer.from(s, 'latin1').toString('base64');

export function cramResponse(user: string, password: string, challengeB64: string): string {
  const challenge = Buffer.from(challengeB64, 'base64').toString('latin1');
  return b64(`${user} ${createHmac('md5', password).update(challenge).digest('hex')}`);
}
