/**
 * Runs testssl.sh (Debian package testssl.sh, command `testssl`) against host:port and returns
 * its findings from `--jsonfile`. Issue 5's listeners reuse it (with `starttls`) for their scans;
 * here it checks the TLS layer's own test server. The options are the quickest that still check
 * what the policy promises: `-p` (protocols offered), `-s` (cipher categories: NULL, export, LOW,
 * 3DES, CBC...) and `-S` (server defaults, including the chain of trust), nothing else.
 */
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
