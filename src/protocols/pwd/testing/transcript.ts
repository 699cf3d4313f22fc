/**
 * Drives a PWD session as a transcript, without a socket: lines in, the text written and whether
 * the session closed out. Test-only.
 */
import assert from 'node:assert/strict';
import type { ConnectionInfo, Effect, ProtocolSession } from '../../common/session.js';
import { MAIN, type AdminFixture } from '../../../admin/cli/testing/fixture.js';
import { PwdSession, type PwdDeps } from '../session.js';

export function connectionInfo(extra: Partial<ConnectionInfo> = {}): ConnectionInfo {
  return {
    id: 'test', service: 'PWD', remoteAddress: '127.0.0.1', remotePort: 40000, localAddress: '127.0.0.1', localPort: 1106,
    secure: true, clearTextLogin: 'tls-only', startTlsAvailable: false, ...extra,
  };
}

export function pwdDeps(f: AdminFixture): PwdDeps {
  return {
    engine: f.engine,
    admin: f.admin,
    serverSettings: async () => (await f.directory.serverSettings()).values,
    hostname: async () => `mail.${MAIN}`,
  };
}

export interface Turn { text: string; closed: boolean }

export function render(effects: Effect[]): Turn {
  let text = '';
  let closed = false;
  for (const e of effects) {
    if (e.type === 'write') text += typeof e.data === 'string' ? e.data : e.data.toString('utf8');
    else if (e.type === 'close') closed = true;
    else assert.fail(`PWD asked for a ${e.type} effect`);
  }
  return { text, closed };
}

export class Transcript {
  readonly session: ProtocolSession;
  closed = false;
  greeting = '';

  constructor(f: AdminFixture, info: Partial<ConnectionInfo> = {}) {
    this.session = new PwdSession(connectionInfo(info), pwdDeps(f));
  }

  async start(): Promise<string> {
    const t = render(await this.session.start());
    this.greeting = t.text;
    return t.text;
  }

  async send(line: string | Buffer): Promise<string> {
    assert.ok(!this.closed, 'sending on a closed session');
    const t = render(await this.session.onLine(typeof line === 'string' ? Buffer.from(line, 'utf8') : line));
    this.closed = t.closed;
    return t.text;
  }

  /** Runs `[client line, expected reply]` rows; a string must match exactly (CRLFs included), a
   *  RegExp must match the whole reply text. */
  async run(rows: readonly (readonly [string | Buffer, string | RegExp])[]): Promise<void> {
    for (const [line, want] of rows) {
      const got = await this.send(line);
      const what = typeof line === 'string' ? line : `[${line.length} bytes]`;
      if (typeof want === 'string') assert.equal(got, want, `C: ${what}`);
      else assert.match(got, want, `C: ${what}`);
    }
  }
}

/** The APOP timestamp of a greeting. */
export function timestampOf(greeting: string): string {
  const m = /(<[^>]+>)\r\n$/.exec(greeting);
  assert.ok(m, `no APOP timestamp in ${JSON.stringify(greeting)}`);
  return m[1] as string;
}
