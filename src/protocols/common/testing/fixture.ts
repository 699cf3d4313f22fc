/**
 * Test fixture for the IMAP and POP3 sessions: a real AuthEngine over a temporary file store (the
 * approach of src/auth/engine.test.ts, trimmed to the accounts the protocols need), a recording
 * BackendConnector that can answer each way, and helpers to read effects as transcripts.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthEngine } from '../../../auth/engine.js';
import { InProcessLockout } from '../../../auth/lockout.js';
import { PasswordService } from '../../../auth/password-service.js';
import type { BackendConnector, BackendRequest, BackendResult } from '../../../backends/connector.js';
import { Directory, type SettingsChange } from '../../../directory/directory.js';
import { openFileStore } from '../../../settings/backends/files/index.js';
import { dict, type CgDict } from '../../../settings/format/types.js';
import type { ProtocolDeps } from '../deps.js';
import type { ConnectionInfo, Effect, ServiceName } from '../session.js';

export const HOST = 'mail.example.com';

/** Accounts: name → [settings, password]. Clear-stored ones serve the challenge mechanisms. */
export const ACCOUNTS: Record<string, [Record<string, string | string[]>, string | undefined]> = {
  alice: [{}, 'alice-pass'],
  clara: [{ PasswordEncryption: 'clear' }, 'clara-pass'],
  secure: [{ RequireSecureMethod: 'YES', PasswordEncryption: 'clear' }, 'secure-pass'],
  off: [{ AccessModes: ['None'] }, 'off-pass'],
  quoty: [{ PasswordEncryption: 'clear' }, 'q"uo\\te pass'],
};

export type BackendMode = 'ok' | 'no-backend' | 'unavailable' | 'refused' | 'in-use' | 'hang';

/** A BackendConnector that records each request and answers as `mode` says. `ok` returns a real
 *  connected socket to a local server on port 0, so a relay effect carries a live socket. */
export class FakeBackends implements BackendConnector {
  mode: BackendMode = 'ok';
  capabilities: string[] | undefined = ['IMAP4rev1', 'IDLE', 'NAMESPACE'];
  pending: Buffer | undefined;
  readonly requests: Array<{ service: string; account: string; authz?: string; password?: string; client: string }> = [];
  readonly sockets: Socket[] = [];
  /** Lines the backend received after the login: proof that a client did something real. */
  readonly backendLines: string[] = [];
  #server: Server | null = null;
  #serverSide: Socket[] = [];

  async connect(req: BackendRequest): Promise<BackendResult> {
    const r: FakeBackends['requests'][number] = { service: req.service, account: `${req.login.account}@${req.login.domain}`, client: req.client.remoteAddress };
    if (req.login.authzAccount) r.authz = `${req.login.authzAccount}@${req.login.authzDomain}`;
    if (req.password) r.password = req.password.toString('utf8');
    this.requests.push(r);
    switch (this.mode) {
      case 'no-backend': return { status: 'no-backend' };
      case 'unavailable': return { status: 'unavailable', reason: 'connection refused' };
      case 'refused': return { status: 'refused', reason: 'NO [AUTHENTICATIONFAILED] master login refused' };
      case 'in-use': return { status: 'unavailable', reason: 'PASS: -ERR [IN-USE] mailbox locked by another session' }; // as src/backends/pop3.ts reports it
      case 'hang': return new Promise<BackendResult>(() => undefined);
      case 'ok': {
        const socket = await this.#socket();
        const result: BackendResult = { status: 'ok', socket };
        if (this.capabilities) result.capabilities = this.capabilities;
        if (this.pending) result.pending = this.pending;
        return result;
      }
    }
  }

  /** A connected socket; `connect` with mode 'ok' uses it, and tests that delay a success do too. */
  async #socket(): Promise<Socket> {
    if (!this.#server) {
      this.#server = createServer((s) => { this.#serverSide.push(s); s.on('error', () => undefined); this.#serve(s); });
      this.#server.listen(0, '127.0.0.1');
      await once(this.#server, 'listening');
    }
    const addr = this.#server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    const socket = connect(addr.port, '127.0.0.1');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    this.sockets.push(socket);
    return socket;
  }

  /**
   * A backend already logged in, as the connector hands it over: it answers the few commands
   * clients send after login (IMAP LIST/SELECT/LOGOUT, POP3 STAT/LIST/QUIT), told apart by
   * their shape, so that independent clients can finish their sessions cleanly.
   */
  #serve(s: Socket): void {
    let buf = '';
    s.setEncoding('latin1');
    s.on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 2);
        this.backendLines.push(l);
        s.write(backendAnswer(l));
        if (/^(\S+ LOGOUT|QUIT)$/i.test(l)) s.end();
      }
    });
  }

  async close(): Promise<void> {
    for (const s of [...this.sockets, ...this.#serverSide]) s.destroy();
    if (this.#server) { this.#server.close(); await once(this.#server, 'close'); }
  }
}

function backendAnswer(l: string): string {
  const pop = /^([A-Za-z]+)(?: .*)?$/.exec(l)?.[1]?.toUpperCase();
  switch (pop) {
    case 'QUIT': return '+OK backend signing off\r\n';
    case 'STAT': return '+OK 0 0\r\n';
    case 'LIST': case 'UIDL': return '+OK 0 messages\r\n.\r\n';
    case 'CAPA': return '+OK\r\nUSER\r\nUIDL\r\n.\r\n';
    case 'NOOP': case 'RSET': return '+OK\r\n';
  }
  const imap = /^(\S+) ([A-Za-z]+)/.exec(l);
  if (!imap) return '+OK\r\n';
  const [, tag, cmd] = imap;
  switch (cmd!.toUpperCase()) {
    case 'LOGOUT': return `* BYE backend logging out\r\n${tag} OK LOGOUT completed\r\n`;
    case 'LIST': return `* LIST (\\HasNoChildren) "/" INBOX\r\n${tag} OK LIST completed\r\n`;
    case 'SELECT': case 'EXAMINE': return `* 0 EXISTS\r\n* OK [UIDVALIDITY 1] UIDs valid\r\n${tag} OK [READ-WRITE] SELECT completed\r\n`;
    case 'CAPABILITY': return `* CAPABILITY IMAP4rev1 IDLE\r\n${tag} OK CAPABILITY completed\r\n`;
    default: return `${tag} OK done\r\n`;
  }
}

export interface Fixture {
  dir: string;
  directory: Directory;
  engine: AuthEngine;
  backends: FakeBackends;
  deps: ProtocolDeps;
  /** Changes server settings (they apply to the next command). */
  setServer(change: SettingsChange): Promise<void>;
  done(): Promise<void>;
}

export async function fixture(server: CgDict = dict()): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'mw-proto-'));
  const store = await openFileStore(join(dir, 'data'));
  await store.put({ kind: 'server' }, dict({
    MainDomainName: 'example.com', HideUnknownAccounts: 'NO', LoginFailureLimit: '3', LoginFailurePeriod: '60s', LoginFailureDelay: '0s', ...server,
  }));
  const directory = new Directory(store);
  await directory.createDomain('example.com');
  const passwords = new PasswordService(directory);
  for (const [name, [settings, password]] of Object.entries(ACCOUNTS)) {
    await directory.createAccount('example.com', name, dict(settings));
    if (password) await passwords.setPassword('example.com', name, password);
  }
  const engine = new AuthEngine({ directory, lockout: new InProcessLockout(), passwords });
  const backends = new FakeBackends();
  const deps: ProtocolDeps = {
    engine,
    serverSettings: async () => (await directory.serverSettings()).values,
    backends,
    hostname: async () => HOST,
  };
  return {
    dir, directory, engine, backends, deps,
    async setServer(change) { await directory.update({ kind: 'server' }, change); },
    async done() { await backends.close(); await store.close(); await rm(dir, { recursive: true, force: true }); },
  };
}

let nextId = 0;

/** A connection as a listener would describe it. Defaults: clear link with STARTTLS, tls-only. */
export function connectionInfo(service: ServiceName, over: Partial<ConnectionInfo> = {}): ConnectionInfo {
  return {
    id: `t${++nextId}`, service, remoteAddress: '127.0.0.1', remotePort: 50000, localAddress: '127.0.0.1', localPort: 1143,
    secure: false, clearTextLogin: 'tls-only', startTlsAvailable: true, ...over,
  };
}

/** What the listener would do when TLS comes up: the same object becomes secure. */
export function makeSecure(info: ConnectionInfo, bindings: Partial<Record<'tls-exporter' | 'tls-server-end-point', Buffer>> = {}): void {
  info.secure = true;
  info.startTlsAvailable = false;
  info.tls = { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', resumed: false, channelBindings: bindings };
}

/** The text the effects write, in order. */
export function written(effects: readonly Effect[]): string {
  return effects.map((e) => (e.type === 'write' ? (typeof e.data === 'string' ? e.data : e.data.toString('latin1')) : '')).join('');
}

export function kinds(effects: readonly Effect[]): string[] {
  return effects.map((e) => e.type);
}

export const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

/**
 * Checks the contract every effect list must keep: writes are whole CRLF-terminated lines with no
 * bare CR or LF; a close or relay is the last effect; a literal read is within `maxLiteral`.
 * Returns the problem, or null.
 */
export function effectProblem(effects: readonly Effect[], maxLiteral: number): string | null {
  for (const [i, e] of effects.entries()) {
    const last = i === effects.length - 1;
    switch (e.type) {
      case 'write': {
        const t = typeof e.data === 'string' ? e.data : e.data.toString('latin1');
        if (!t.endsWith('\r\n')) return `write not CRLF-terminated: ${JSON.stringify(t)}`;
        if (/\r(?!\n)|(?<!\r)\n/.test(t)) return `bare CR or LF in ${JSON.stringify(t)}`;
        break;
      }
      case 'close':
      case 'relay':
        if (!last) return `${e.type} is not the last effect`;
        break;
      case 'read':
        if (e.mode.kind === 'literal' && (e.mode.size < 0 || e.mode.size > maxLiteral)) return `literal read of ${e.mode.size}`;
        if (!last) return 'read is not the last effect';
        break;
      case 'starttls':
        if (!last) return 'starttls is not the last effect';
        break;
    }
  }
  return null;
}
