/**
 * GNU gsasl as an independent SASL peer, in raw mode over stdin/stdout (no network): it catches
 * what our own client and server would agree on by mistake. Shared by every mechanism's tests.
 *
 * gsasl's raw protocol (src/gsasl.c, checked with gsasl 2.2): with --quiet it prints the
 * mechanism name, then loops { step; print the step's output (base64, may be empty) as one line;
 * read one line }, until a step returns OK; so after its last output it still reads one line,
 * which it ignores. A failing step makes it exit 1 ("mechanism error"); end of input while it
 * waits for a line also exits 1. Channel-binding data is asked for on the same stdin with an
 * unterminated prompt "Enter base64 encoded tls-exporter channel binding: " (then tls-unique).
 * `-d` turns off the application-data phase that would otherwise follow a success.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { SaslReply } from '../driver.js';
import type { SaslClientMechanism } from '../client/index.js';

/** What the server side of a run must offer: SaslSession fits. */
export interface SaslServerPeer {
  start(mechanism: string, initialResponse?: string): Promise<SaslReply>;
  respond(line: string): Promise<SaslReply>;
}

export type GsaslChannelBindingType = 'tls-exporter' | 'tls-unique';

export interface GsaslOptions {
  mechanism: string;
  authcid?: string;
  password?: string;
  authzid?: string;
  realm?: string;
  /** --service (DIGEST-MD5 digest-uri service, GSSAPI). */
  service?: string;
  /** --hostname (DIGEST-MD5 digest-uri host). Also stops gsasl prompting for channel binding. */
  hostname?: string;
  /** DIGEST-MD5: gsasl defaults to qop-int; we serve qop-auth only. */
  qop?: 'qop-auth' | 'qop-int' | 'qop-conf';
  /** Answer gsasl's channel-binding prompt with these bytes (-PLUS mechanisms). Without it the
   *  prompts get an empty line, i.e. no binding data. */
  channelBinding?: { type: GsaslChannelBindingType; data: Buffer };
  /** --no-cb: gsasl does not use channel bindings at all. */
  noCb?: boolean;
  /** Server direction: `as-sent` passes gsasl's first client output as the SASL-IR argument;
   *  `never` starts without one (as IMAP without SASL-IR) and sends that output after the
   *  server's first (empty) challenge. Default `as-sent`. */
  initialResponse?: 'as-sent' | 'never';
  extraArgs?: string[];
  /** Whole run, milliseconds; the child is killed after it. Default 5000. */
  timeoutMs?: number;
}

export interface TranscriptLine { from: 'gsasl' | 'mailward'; line: string }

export interface GsaslClientRunResult {
  /** Our server's last reply. */
  reply: SaslReply;
  /** gsasl's exit code: 0 when it accepted the exchange (e.g. DIGEST-MD5 rspauth verified). */
  exitCode: number | null;
  stderr: string;
  transcript: TranscriptLine[];
}

export interface GsaslServerRunResult {
  /** gsasl (the server) accepted our client: exit 0. */
  accepted: boolean;
  exitCode: number | null;
  /** Our client refused a challenge (message of the error), if it did. */
  clientError?: string;
  /** `finish(null)` of our client after gsasl accepted, when the mechanism has one. */
  serverVerified?: boolean;
  stderr: string;
  transcript: TranscriptLine[];
}

const GSASL = 'gsasl';
/** Bound on exchange rounds in the harness, so a confused peer cannot loop forever. */
const HARNESS_MAX_ROUNDS = 16;
const CB_PROMPT = /^Enter base64 encoded (tls-[a-z-]+) channel binding: /;
/** Any other interactive prompt means an option is missing: fail loudly instead of hanging. */
const OTHER_PROMPT = /^(Enter [^\n]*: |Validate [^\n]*\) )$/;

/** Fails (throws) with the Debian package name when gsasl is not installed. */
export function requireGsasl(): void {
  const r = spawnSync(GSASL, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error('gsasl is not installed: install the Debian package "gsasl" (apt-get install -y gsasl)');
  }
}

function buildArgs(role: 'client' | 'server', o: GsaslOptions): string[] {
  const args = [role === 'client' ? '--client' : '--server', '--quiet', '-d', `--mechanism=${o.mechanism}`];
  if (o.authcid !== undefined) args.push(`--authentication-id=${o.authcid}`);
  if (o.password !== undefined) args.push(`--password=${o.password}`);
  if (o.authzid !== undefined) args.push(`--authorization-id=${o.authzid}`);
  if (o.realm !== undefined) args.push(`--realm=${o.realm}`);
  if (o.service !== undefined) args.push(`--service=${o.service}`);
  if (o.hostname !== undefined) args.push(`--hostname=${o.hostname}`);
  if (o.qop !== undefined) args.push(`--quality-of-protection=${o.qop}`);
  if (o.noCb) args.push('--no-cb');
  args.push(...(o.extraArgs ?? []));
  return args;
}

/** A running gsasl with line-oriented stdout, answering channel-binding prompts itself. */
class GsaslProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly transcript: TranscriptLine[] = [];
  stderr = '';
  #buf = '';
  #lines: string[] = [];
  #eof = false;
  #waiter: (() => void) | null = null;
  #error: Error | null = null;
  readonly exit: Promise<number | null>;
  readonly #timer: NodeJS.Timeout;

  constructor(role: 'client' | 'server', readonly options: GsaslOptions) {
    this.child = spawn(GSASL, buildArgs(role, options), { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    this.child.stdout.setEncoding('utf8');
    this.child.stderr.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => this.#onData(d));
    this.child.stderr.on('data', (d: string) => { this.stderr += d; });
    // EPIPE when gsasl has already exited is expected (it stops reading on failure).
    this.child.stdin.on('error', () => undefined);
    this.exit = new Promise((resolve) => {
      this.child.on('close', (code) => {
        this.#eof = true;
        clearTimeout(this.#timer);
        this.#wake();
        resolve(code);
      });
      this.child.on('error', (e) => {
        this.#error = e;
        this.#eof = true;
        this.#wake();
        resolve(null);
      });
    });
    this.#timer = setTimeout(() => {
      this.#error = new Error(`gsasl timed out after ${options.timeoutMs ?? 5000} ms; stderr: ${this.stderr}`);
      this.child.kill('SIGKILL');
    }, options.timeoutMs ?? 5000);
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  #onData(d: string): void {
    this.#buf += d;
    for (;;) {
      const cb = CB_PROMPT.exec(this.#buf);
      if (cb) {
        const type = cb[1];
        const binding = this.options.channelBinding;
        const answer = binding && binding.type === type ? binding.data.toString('base64') : '';
        this.transcript.push({ from: 'gsasl', line: `[prompt ${type}]` });
        this.child.stdin.write(answer + '\n');
        this.#buf = this.#buf.slice(cb[0].length);
        continue;
      }
      const nl = this.#buf.indexOf('\n');
      if (nl < 0) {
        if (OTHER_PROMPT.test(this.#buf)) {
          this.#error = new Error(`gsasl asked interactively: ${JSON.stringify(this.#buf)} (pass the matching option)`);
          this.child.kill('SIGKILL');
        }
        break;
      }
      const line = this.#buf.slice(0, nl);
      this.#buf = this.#buf.slice(nl + 1);
      this.transcript.push({ from: 'gsasl', line });
      this.#lines.push(line);
    }
    this.#wake();
  }

  /** The next output line, or null once gsasl has exited without one. */
  async nextLine(): Promise<string | null> {
    for (;;) {
      if (this.#error) throw this.#error;
      const line = this.#lines.shift();
      if (line !== undefined) return line;
      if (this.#eof) return null;
      await new Promise<void>((resolve) => { this.#waiter = resolve; });
    }
  }

  writeLine(line: string): void {
    this.transcript.push({ from: 'mailward', line });
    if (!this.child.stdin.destroyed && this.child.stdin.writable) this.child.stdin.write(line + '\n');
  }

  closeInput(): void {
    this.child.stdin.end();
  }

  async finish(): Promise<number | null> {
    this.closeInput();
    const code = await this.exit;
    if (this.#error) throw this.#error;
    return code;
  }
}

async function expectMechanismLine(p: GsaslProcess, mechanism: string): Promise<void> {
  const first = await p.nextLine();
  if (first !== mechanism) {
    const code = await p.finish();
    throw new Error(`gsasl did not start ${mechanism} (first line ${JSON.stringify(first)}, exit ${code}): ${p.stderr}`);
  }
}

/**
 * gsasl --client against our server side. Returns our server's last reply and gsasl's exit code;
 * a test asserts both (success: reply 'success' and exit 0; wrong password: a failure reply).
 */
export async function runGsaslClient(server: SaslServerPeer, options: GsaslOptions): Promise<GsaslClientRunResult> {
  const p = new GsaslProcess('client', options);
  try {
    await expectMechanismLine(p, options.mechanism);
    const first = await p.nextLine();
    if (first === null) throw new Error(`gsasl exited before its first step: ${p.stderr}`);
    let reply: SaslReply;
    if (first === '') {
      reply = await server.start(options.mechanism);
    } else if ((options.initialResponse ?? 'as-sent') === 'as-sent') {
      reply = await server.start(options.mechanism, first);
    } else {
      reply = await server.start(options.mechanism);
      if (reply.reply === 'challenge') {
        p.transcript.push({ from: 'mailward', line: `[challenge ${JSON.stringify(reply.base64)} consumed: gsasl already answered]` });
        reply = await server.respond(first);
      }
    }
    for (let round = 0; round < HARNESS_MAX_ROUNDS; round++) {
      if (reply.reply === 'challenge') {
        p.writeLine(reply.base64);
        const line = await p.nextLine();
        if (line === null) break; // gsasl refused our challenge (e.g. a bad DIGEST-MD5 challenge)
        reply = await server.respond(line);
        continue;
      }
      if (reply.reply === 'success') {
        // The line gsasl reads after its last output: our final data, or nothing.
        p.writeLine(reply.serverData ?? '');
        // If gsasl still needed a step (it verified final data), it prints once more: ack it.
        for (let extra = 0; extra < 2; extra++) {
          const line = await p.nextLine();
          if (line === null) break;
          p.writeLine('');
        }
      }
      break;
    }
    const exitCode = await p.finish();
    return { reply, exitCode, stderr: p.stderr, transcript: p.transcript };
  } catch (e) {
    p.child.kill('SIGKILL');
    throw e;
  }
}

/**
 * Our client mechanism against gsasl --server. `accepted` is gsasl's verdict. A challenge our
 * client refuses is answered with `*` (gsasl then fails), except an empty line, which in raw mode
 * may be gsasl's last (empty) output after it already accepted: it is answered with an empty line.
 */
export async function runGsaslServer(client: SaslClientMechanism, options: GsaslOptions): Promise<GsaslServerRunResult> {
  const p = new GsaslProcess('server', options);
  let clientError: string | undefined;
  const answer = async (challengeB64: string): Promise<void> => {
    try {
      const data = Buffer.from(challengeB64, 'base64');
      const response = await client.next(data);
      p.writeLine(response.toString('base64'));
    } catch (e) {
      if (challengeB64 === '') {
        p.writeLine('');
      } else {
        clientError = e instanceof Error ? e.message : String(e);
        p.writeLine('*');
      }
    }
  };
  try {
    await expectMechanismLine(p, options.mechanism);
    const first = await p.nextLine();
    if (first === null) throw new Error(`gsasl exited before its first step: ${p.stderr}`);
    const { initial } = client.start();
    if (initial !== null) {
      // Client-first: gsasl's first output is its empty "go ahead"; the initial response answers it.
      p.writeLine(initial.toString('base64'));
    } else {
      await answer(first);
    }
    for (let round = 0; round < HARNESS_MAX_ROUNDS; round++) {
      const line = await p.nextLine();
      if (line === null) break;
      await answer(line);
    }
    const exitCode = await p.finish();
    const accepted = exitCode === 0;
    const result: GsaslServerRunResult = { accepted, exitCode, stderr: p.stderr, transcript: p.transcript };
    if (clientError !== undefined) result.clientError = clientError;
    if (accepted && client.finish) result.serverVerified = client.finish(null);
    return result;
  } catch (e) {
    p.child.kill('SIGKILL');
    throw e;
  }
}
