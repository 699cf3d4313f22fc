/**
 * Runs the matrix cells of one protocol against one stack (Dovecot, Postfix for SMTP, Mailward
 * with a STARTTLS and an implicit-TLS listener), one cell after the other so that the server log
 * between two marks belongs to one client run. Each cell must show, on both sides:
 *  - the client logged in and did real work (IMAP: list and/or fetch message 1; POP3: RETR 1;
 *    SMTP: a message that then arrives in Postfix's maildir, with Postfix's "Authenticated
 *    sender" from XCLIENT LOGIN);
 *  - Mailward logged `auth.success` with exactly that method, a TLS handshake (with the forced
 *    version when the cell asks for one) and the start of the relay to the backend.
 * Negative cells must show the refusal and no success.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DOMAIN, startStack, type Stack } from './stack.js';
import { cellName, cellsFor, type Cell, type Protocol } from './matrix.js';
import { DRIVERS, needsReversible, serverMethod } from './clients.js';
import { LogCapture, requireNamespaceTools, writeHostsFile } from './tools.js';

const SERVICE = { IMAP: 'IMAP', POP3: 'POP', SMTP: 'SMTP' } as const;

/** Accounts: one keeps its password reversible (for CRAM-MD5, DIGEST-MD5, NTLM, APOP: A9), the
 *  other is stored as argon2id plus SCRAM keys, the default (PLAIN, LOGIN, SCRAM run there). */
export const CLEAR_ACCOUNT = { name: 'alice', password: 'Alice-interop-pw1' };
export const HASHED_ACCOUNT = { name: 'carol', password: 'Carol-interop-pw2' };

function specIds(c: Cell): string {
  const m = c.method;
  const ids = m === 'PLAIN' || m === 'LOGIN' || m === 'PLAIN+authzid' ? 'A1'
    : m === 'NTLM' ? 'A3' : m === 'APOP' ? 'A4' : m === 'IMAP-LOGIN' || m === 'USER/PASS' ? 'A5' : 'A2';
  return `${ids} B1 T1`;
}

export interface CellResult { cell: Cell; ms: number; tls: string }

export function matrixSuite(protocol: Protocol): void {
  const logs = new LogCapture();
  let st: Stack;
  let dir: string;
  let hostsFile: string;
  let caFile: string;
  const seed = `seed-${randomBytes(6).toString('hex')}`;
  const results: CellResult[] = [];
  const started = Date.now();

  before(async () => {
    logs.install();
    dir = mkdtempSync(join(tmpdir(), 'mw-interop-clients-'));
    hostsFile = join(dir, 'hosts');
    writeHostsFile(hostsFile, [DOMAIN]);
    requireNamespaceTools(hostsFile);
    const service = SERVICE[protocol];
    st = await startStack({
      listeners: { [service]: [{ id: 'STARTTLS', TLS: 'starttls' }, { id: 'implicit', TLS: 'implicit' }] },
      accounts: [
        { ...CLEAR_ACCOUNT, settings: { PasswordEncryption: 'clear' } },
        { ...HASHED_ACCOUNT, settings: { PasswordEncryption: 'U-crpt' } },
      ],
      server: {
        // A3: NTLM is off by default; the clients here answer a challenge without TargetInfo
        // with NTLMv1, which needs its own switch (INTEROP.md).
        AdvertiseNTLM: 'YES', AllowNTLMv1: 'YES',
        // What the checks read: auth.success (method), tls.handshake (version), relay.start.
        LogLevels: { AUTH: 'info', IMAP: 'info', POP: 'info', SMTP: 'info' }, TLSLogLevel: 'info',
      },
      postfix: protocol === 'SMTP',
    });
    // The out-of-the-box certificate (T3): clients trust its throwaway CA.
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, st.server.runtime.testCertificate.chainPem);
    for (const a of [CLEAR_ACCOUNT, HASHED_ACCOUNT]) {
      await st.dv.deliver(`${a.name}@${DOMAIN}`, `Subject: ${seed}\r\nFrom: seed@example.com\r\nTo: ${a.name}@example.com\r\n\r\nThe seed message (${seed}).\r\n`);
    }
  });

  after(async () => {
    await st?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    const lines = results.map((r) => `  ${cellName(r.cell).padEnd(58)} ${r.tls.padEnd(8)} ${String(r.ms).padStart(5)} ms`);
    process.stdout.write(`\n${protocol} interop matrix: ${results.length} cells passed in ${Date.now() - started} ms (with start and stop)\n${lines.join('\n')}\n`);
  });

  for (const cell of cellsFor(protocol)) {
    test(`${specIds(cell)} ${cellName(cell)}`, async () => {
      const account = needsReversible(cell.method) ? CLEAR_ACCOUNT : HASHED_ACCOUNT;
      const tag = `mw-${cell.client}-${cell.method}-${cell.tls}-${randomBytes(4).toString('hex')}`.replace(/[^A-Za-z0-9-]/g, '_');
      const mark = logs.mark();
      const r = await DRIVERS[cell.client](cell, {
        port: st.port(cell.tls === 'STARTTLS' ? 'STARTTLS' : 'implicit'),
        hostsFile, caFile, dir, user: account.name, password: account.password, seed, tag,
      });
      const transcript = `exit ${r.code}${r.signal ? ` (${r.signal})` : ''} after ${r.ms} ms; client output:\n${r.out.slice(-6000)}`;
      const successes = logs.since(mark, 'auth.success');
      const handshakes = logs.since(mark, 'tls.handshake');
      if (cell.expect === 'refused') {
        assert.ok(!r.worked && r.refused, `the client should have been refused; ${transcript}`);
        assert.deepEqual(successes, [], 'no login succeeded on the server');
        results.push({ cell, ms: r.ms, tls: String(handshakes[0]?.protocol ?? '?') });
        return;
      }
      assert.ok(r.worked, transcript);
      if (cell.method === 'PLAIN+authzid' && cell.client !== 'python') {
        // The transcript shows the PLAIN message sent: authzid NUL authcid NUL password.
        const want = `${account.name}@${DOMAIN}\0${account.name}\0`;
        const tokens = [...r.out.matchAll(/[A-Za-z0-9+/]{16,}={0,2}/g)].map((m) => Buffer.from(m[0], 'base64').toString('latin1'));
        assert.ok(tokens.some((t) => t.startsWith(want)), `the client sent an authzid: ${transcript}`);
      }
      assert.ok(successes.some((s) => s.method === serverMethod(cell.method)), `auth.success with method ${serverMethod(cell.method)}; got ${JSON.stringify(successes)}`);
      assert.ok(handshakes.length >= 1, 'a TLS handshake was logged');
      const version = String(handshakes[0]?.protocol);
      if (cell.tlsVersion) assert.equal(version, cell.tlsVersion, 'the forced TLS version was used');
      // IMAP and POP3 splice the two sockets after the backend login (relay.start); SMTP relays
      // each transaction (smtp.message, with the backend's reply code).
      if (protocol === 'SMTP') assert.ok(logs.since(mark, 'smtp.message').some((m) => m.code === 250), 'the message was relayed to the backend');
      else assert.ok(logs.since(mark, 'relay.start').length >= 1, 'the session was relayed to the backend');
      if (protocol === 'SMTP') {
        const msg = await st.pf!.waitForMessage(`Subject: ${tag}`);
        // XCLIENT LOGIN carried the Mailward account to Postfix (B1).
        assert.match(msg, new RegExp(`Authenticated sender: ${account.name}@${DOMAIN}`));
      }
      results.push({ cell, ms: r.ms, tls: version });
    });
  }
}
