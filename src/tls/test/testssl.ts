/**
 * Runs testssl.sh (Debian package testssl.sh, command `testssl`) against host:port and returns
 * its findings from `--jsonfile`. Issue 5's listeners reuse it (with `starttls`) for their scans;
 * here it checks the TLS layer's own test server. The options are the quickest that still check
 * what the policy promises: `-p` (protocols offered), `-s` (cipher categories: NULL, export, LOW,
 * 3DES, CBC...) and `-S` (server defaults, including the chain of trust), nothing else.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { run, tempDir } from './tools.js';

/** Environment variable that, set to 1, lets the testssl.sh test be skipped (CI never sets it). */
export const SKIP_TESTSSL_ENV = 'MAILWARD_SKIP_TESTSSL';

/** A whole testssl run with these checks takes tens of seconds on loopback; more means a hang. */
export const TESTSSL_TIMEOUT_MS = 240_000;

export interface TestsslFinding { id: string; severity: string; finding: string; ip?: string; port?: string; cve?: string }

export interface TestsslOptions {
  /** The name to send as SNI (and check the certificate against); the address is `host`. */
  servername?: string;
  /** A CA file to trust besides the system's (for a test PKI). */
  caFile?: string;
  /** `smtp`, `imap`, `pop3`... for a STARTTLS port. */
  starttls?: string;
  timeoutMs?: number;
}

export type TestsslResult =
  | { status: 'ok'; findings: TestsslFinding[]; byId: Map<string, TestsslFinding>; elapsedMs: number }
  | { status: 'failed'; message: string };

export async function runTestssl(host: string, port: number, opts: TestsslOptions = {}): Promise<TestsslResult> {
  const t = tempDir('testssl');
  const started = Date.now();
  try {
    const json = t.path('out.json');
    const target = `${opts.servername ?? host}:${port}`;
    const args = [
      '--quiet', '--color', '0', '--warnings', 'off', '--sneaky', '--nodns', 'none',
      '--connect-timeout', '5', '--openssl-timeout', '5',
      '--ip', host, '-p', '-s', '-S', '--jsonfile', json,
      ...(opts.caFile ? ['--add-ca', opts.caFile] : []),
      ...(opts.starttls ? ['-t', opts.starttls] : []),
      target,
    ];
    const r = await run('testssl', args, { timeoutMs: opts.timeoutMs ?? TESTSSL_TIMEOUT_MS, cwd: t.dir });
    let text: string;
    try { text = readFileSync(json, 'utf8'); } catch { return { status: 'failed', message: `testssl wrote no JSON (exit ${r.code}): ${r.out.slice(-2000)}` }; }
    let parsed: unknown;
    try { parsed = JSON.parse(text); } catch { return { status: 'failed', message: 'testssl wrote JSON that does not parse' }; }
    if (!Array.isArray(parsed)) return { status: 'failed', message: 'testssl JSON is not a list of findings' };
    const findings: TestsslFinding[] = parsed
      .filter((x): x is Record<string, unknown> => x !== null && typeof x === 'object')
      .map((x) => ({ id: String(x.id ?? ''), severity: String(x.severity ?? ''), finding: String(x.finding ?? ''), ip: String(x.ip ?? ''), port: String(x.port ?? ''), ...(x.cve ? { cve: String(x.cve) } : {}) }));
    const scanProblem = findings.find((f) => f.id === 'scanProblem' && f.severity === 'FATAL');
    if (scanProblem) return { status: 'failed', message: `testssl could not scan: ${scanProblem.finding}` };
    return { status: 'ok', findings, byId: new Map(findings.map((f) => [f.id, f])), elapsedMs: Date.now() - started };
  } finally {
    t.remove();
  }
}

/**
 * The policy verdict (T8) on a scan of a listener with the test PKI: nothing below TLS 1.2, no weak
 * cipher category, a complete chain (certificate and intermediate) that verifies. The test PKI's
 * short validity and missing CRL/OCSP are the only serious findings allowed.
 */
export function assertTestsslVerdict(findings: ReadonlyMap<string, TestsslFinding>, all: readonly TestsslFinding[]): void {
  const f = (id: string): string => findings.get(id)?.finding ?? `(no ${id} finding)`;
  for (const id of ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1']) assert.match(f(id), /^not offered/, `${id}: ${f(id)}`);
  assert.match(f('TLS1_2'), /^offered/);
  assert.match(f('TLS1_3'), /^offered/);
  for (const id of ['cipherlist_NULL', 'cipherlist_aNULL', 'cipherlist_EXPORT', 'cipherlist_LOW', 'cipherlist_3DES_IDEA', 'cipherlist_AVERAGE']) {
    assert.match(f(id), /^not offered/, `${id}: ${f(id)}`);
  }
  assert.match(f('cipherlist_STRONG'), /^offered/);
  assert.equal(f('cert_chain_of_trust'), 'passed.', 'a complete chain to the test root');
  assert.equal(f('certs_countServer'), '2', 'the certificate and the intermediate are sent');
  assert.equal(f('certs_list_ordering_problem'), 'no');
  assert.match(f('cert_trust'), /^Ok via SAN/);
  const allowed = new Set(['cert_expirationStatus', 'cert_notAfter', 'cert_revocation']);
  assert.deepEqual(all.filter((x) => (x.severity === 'HIGH' || x.severity === 'CRITICAL') && !allowed.has(x.id)), []);
}
