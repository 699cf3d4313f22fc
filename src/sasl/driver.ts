/**
 * The wire side of SASL, shared by IMAP AUTHENTICATE, POP3 AUTH, SMTP AUTH and the HTTP API: a
 * protocol hands over the client's raw text (the SASL-IR argument, then each continuation line)
 * and gets back what to answer. Base64, the `*` cancel, the `=` empty initial response, the
 * length limit, step ordering and final server data all live here, so no protocol contains
 * mechanism code and no mechanism sees anything but decoded bytes.
 */
import { logger } from '../core/log.js';
import { decodeBase64Strict } from '../core/base64.js';
import type { AuthOutcome, SaslContext, SaslExchange, SaslFailure, SaslMechanism, SaslStep } from './mechanism.js';
import { getMechanism } from './registry.js';

/** Longest base64 line accepted from a client, in characters. The largest legitimate message of
 *  the mechanisms we serve is an NTLM Type 3 with long names and an NTLMv2 blob (a few KiB);
 *  RFC 2831 caps a DIGEST-MD5 response at 4096 octets. 16 KiB of base64 (12 KiB decoded) covers
 *  them with margin and bounds what a hostile client makes us buffer and decode. */
export const SASL_MAX_LINE_LENGTH = 16384;

/** Most client turns one exchange may take. The longest mechanism here needs three (LOGIN:
 *  initial, user name, password; DIGEST-MD5 and SCRAM with final data as a challenge: three);
 *  the cap ends an exchange that a buggy mechanism or a hostile client would keep alive. */
export const SASL_MAX_ROUNDS = 8;

/** How the protocol carries a mechanism's final server data (DIGEST-MD5 rspauth, SCRAM v=).
 *  `with-success`: in the success reply (IMAP4rev2 `OK [SASL...]`-style additional data).
 *  `as-challenge`: as one more challenge that the client answers with an empty line, then success
 *  (RFC 4422 §3.6 allows both; SMTP (RFC 4954) and IMAP4rev1 have only the second). */
export type SuccessDataMode = 'with-success' | 'as-challenge';

export type SaslReply =
  /** Send a continuation with this base64 text (may be empty: `+ ` / `334 `). */
  | { reply: 'challenge'; base64: string }
  /** Authenticated. `serverData` (base64) only in `with-success` mode. */
  | { reply: 'success'; outcome: Extract<AuthOutcome, { status: 'ok' }>; authcid: string; authzid?: string; serverData?: string }
  | { reply: 'failure'; failure: SaslFailure }
  /** The mechanism is unknown or not offered on this connection: SMTP 504 5.5.4, IMAP NO, POP3 -ERR. */
  | { reply: 'unsupported'; mechanism: string };

export interface SaslSessionOptions {
  /** Names this connection offered (from `advertisedMechanisms`); anything else is unsupported,
   *  so a mechanism hidden by policy (A6, A8) cannot be used by naming it. */
  offered: readonly string[];
  successData: SuccessDataMode;
  /** Where mechanisms are looked up; the registry unless a test brings its own. */
  lookup?: (name: string) => SaslMechanism | undefined;
}

/** Outcome of decoding one client line. */
export type DecodedLine = { ok: true; data: Buffer } | { ok: false; failure: SaslFailure };

/** Strict RFC 4648 base64 (src/core/base64.ts): two different lines never mean the same bytes. */
export { decodeBase64Strict };

/**
 * One client line (not the initial response): `*` cancels (RFC 4422 §3.5), an empty line is an
 * empty response, anything else must be strict base64 within the line limit.
 */
export function decodeClientLine(line: string): DecodedLine {
  if (line.length > SASL_MAX_LINE_LENGTH) return { ok: false, failure: { status: 'malformed', reason: 'line too long' } };
  if (line === '*') return { ok: false, failure: { status: 'cancelled' } };
  const data = decodeBase64Strict(line);
  if (data === null) return { ok: false, failure: { status: 'malformed', reason: 'bad base64' } };
  return { ok: true, data };
}

/**
 * The SASL-IR argument (RFC 4959, RFC 4954, RFC 5034): `=` is an empty initial response; an
 * absent argument is no initial response and never reaches here. An empty argument is refused:
 * the RFCs spell the empty response `=`, and `AUTH PLAIN ` with nothing after it is ambiguous.
 */
export function decodeInitialResponse(text: string): DecodedLine {
  if (text === '=') return { ok: true, data: Buffer.alloc(0) };
  if (text === '') return { ok: false, failure: { status: 'malformed', reason: 'empty initial response must be "="' } };
  return decodeClientLine(text);
}

export function encodeChallenge(data: Buffer): string {
  return data.toString('base64');
}

const log = logger('SASL');

type SessionState =
  | { phase: 'idle' }
  | { phase: 'running'; mechanism: SaslMechanism; exchange: SaslExchange; rounds: number }
  /** Success held back while the client acknowledges the final data sent as a challenge. */
  | { phase: 'final-data'; mechanism: SaslMechanism; success: Extract<SaslStep, { type: 'success' }> }
  | { phase: 'done' };

/**
 * One AUTHENTICATE/AUTH exchange on one connection. `start` then `respond` for each client line
 * until a reply other than `challenge`; after that the session is spent (a new command makes a
 * new session). Never throws: a failing port or mechanism bug becomes a `temporary-failure`.
 */
export class SaslSession {
  #state: SessionState = { phase: 'idle' };

  constructor(private readonly ctx: SaslContext, private readonly options: SaslSessionOptions) {}

  get finished(): boolean {
    return this.#state.phase === 'done';
  }

  /** `initialResponse`: the SASL-IR argument as sent (base64 or `=`), undefined when absent. */
  async start(mechanismName: string, initialResponse?: string): Promise<SaslReply> {
    if (this.#state.phase !== 'idle') return this.#finish({ status: 'malformed', reason: 'exchange already started' });
    const offered = this.options.offered.some((n) => n.toUpperCase() === mechanismName.toUpperCase());
    const mechanism = (this.options.lookup ?? getMechanism)(mechanismName);
    // APOP shares the registry but is a POP3 command, not SASL: `AUTH APOP` is unknown.
    if (!offered || !mechanism || mechanism.advertiseGroup === 'apop') {
      this.#state = { phase: 'done' };
      return { reply: 'unsupported', mechanism: mechanismName.slice(0, 64) };
    }
    let input: Buffer | null = null;
    if (initialResponse !== undefined) {
      const decoded = decodeInitialResponse(initialResponse);
      if (!decoded.ok) return this.#finish(decoded.failure, mechanism.name);
      input = decoded.data;
    }
    let exchange: SaslExchange;
    try {
      exchange = mechanism.start(this.ctx);
    } catch (e) {
      log.problem('sasl.mechanism-error', { mechanism: mechanism.name, error: e });
      return this.#finish({ status: 'temporary-failure', reason: 'mechanism error' }, mechanism.name);
    }
    this.#state = { phase: 'running', mechanism, exchange, rounds: 0 };
    return this.#step(input);
  }

  /** One continuation line from the client, as received (without CRLF). */
  async respond(line: string): Promise<SaslReply> {
    const state = this.#state;
    if (state.phase === 'final-data') {
      const decoded = decodeClientLine(line);
      if (!decoded.ok) return this.#finish(decoded.failure, state.mechanism.name);
      // RFC 4422 §3.6: the client answers final data with an empty response; anything else
      // means it did not follow the exchange (or did not accept the server's proof).
      if (decoded.data.length !== 0) return this.#finish({ status: 'malformed', reason: 'non-empty response to final data' }, state.mechanism.name);
      this.#state = { phase: 'done' };
      return this.#success(state.success, false, state.mechanism.name);
    }
    if (state.phase !== 'running') return this.#finish({ status: 'malformed', reason: 'no exchange in progress' });
    const decoded = decodeClientLine(line);
    if (!decoded.ok) return this.#finish(decoded.failure, state.mechanism.name);
    return this.#step(decoded.data);
  }

  async #step(input: Buffer | null): Promise<SaslReply> {
    const state = this.#state;
    if (state.phase !== 'running') return this.#finish({ status: 'malformed', reason: 'no exchange in progress' });
    state.rounds += 1;
    if (state.rounds > SASL_MAX_ROUNDS) return this.#finish({ status: 'malformed', reason: 'too many rounds' }, state.mechanism.name);
    let step: SaslStep;
    try {
      step = await state.exchange.step(input);
    } catch (e) {
      // A mechanism must never throw on input; the port may fail for infrastructure reasons.
      log.problem('sasl.mechanism-error', { mechanism: state.mechanism.name, error: e });
      return this.#finish({ status: 'temporary-failure', reason: 'mechanism error' }, state.mechanism.name);
    }
    switch (step.type) {
      case 'challenge':
        return { reply: 'challenge', base64: encodeChallenge(step.data) };
      case 'failure':
        return this.#finish(step.failure, state.mechanism.name);
      case 'success':
        if (step.serverData && step.serverData.length > 0 && this.options.successData === 'as-challenge') {
          this.#state = { phase: 'final-data', mechanism: state.mechanism, success: step };
          return { reply: 'challenge', base64: encodeChallenge(step.serverData) };
        }
        this.#state = { phase: 'done' };
        return this.#success(step, true, state.mechanism.name);
    }
  }

  #success(step: Extract<SaslStep, { type: 'success' }>, withData: boolean, mechanism: string): SaslReply {
    log.info('sasl.success', { mechanism, account: step.outcome.account, domain: step.outcome.domain });
    const reply: SaslReply = { reply: 'success', outcome: step.outcome, authcid: step.authcid };
    if (step.authzid !== undefined) reply.authzid = step.authzid;
    if (withData && step.serverData && step.serverData.length > 0) reply.serverData = encodeChallenge(step.serverData);
    return reply;
  }

  #finish(failure: SaslFailure, mechanism?: string): SaslReply {
    this.#state = { phase: 'done' };
    log.low('sasl.failure', { mechanism, status: failure.status, reason: 'reason' in failure ? failure.reason : undefined });
    return { reply: 'failure', failure };
  }
}

/**
 * APOP (RFC 1939) is one POP3 command, not a SASL exchange: `APOP name digest`. The POP3 session
 * passes the text after `APOP ` and its greeting's timestamp in `ctx.apopTimestamp`; the
 * mechanism registered as APOP does the rest. Returns `unsupported` when APOP is not offered.
 */
export async function authenticateApop(ctx: SaslContext, args: string, offered: boolean): Promise<SaslReply> {
  const mechanism = getMechanism('APOP');
  if (!offered || !mechanism) return { reply: 'unsupported', mechanism: 'APOP' };
  if (args.length > SASL_MAX_LINE_LENGTH) return { reply: 'failure', failure: { status: 'malformed', reason: 'line too long' } };
  try {
    const step = await mechanism.start(ctx).step(Buffer.from(args, 'utf8'));
    if (step.type === 'success') {
      const reply: SaslReply = { reply: 'success', outcome: step.outcome, authcid: step.authcid };
      return reply;
    }
    if (step.type === 'failure') return { reply: 'failure', failure: step.failure };
    return { reply: 'failure', failure: { status: 'malformed', reason: 'unexpected challenge' } };
  } catch (e) {
    log.problem('sasl.mechanism-error', { mechanism: 'APOP', error: e });
    return { reply: 'failure', failure: { status: 'temporary-failure', reason: 'mechanism error' } };
  }
}
