/**
 * PLAIN (RFC 4616): one client message `[authzid] NUL authcid NUL passwd`. The password crosses
 * the link in clear, so A7/A8 apply (the engine and the advertise policy see `clearText`).
 *
 * The authzid is handed to the port and never granted here: maddy before 0.6.3 (CVE-2023-27582)
 * checked the authcid's password and then logged the client in as whatever authzid it named.
 * Whether an account may act for another is decided in one place, the authentication engine.
 */
import { malformed } from '../exchange.js';
import { decodeUtf8 } from '../text.js';
import type { AuthOutcome, SaslExchange, SaslMechanism, SaslStep } from '../mechanism.js';

/** Longest authcid or authzid, in octets: `name@domain` with a 255-octet name (NAME_MAX_LENGTH)
 *  and a 253-octet DNS domain fits; RFC 4616 §2 requires at least 255. */
export const PLAIN_MAX_IDENTITY = 512;
/** Longest password, in octets: RFC 4616 asks servers to take at least 255; a kilobyte holds any
 *  human passphrase and bounds what a client can make the password schemes hash. */
export const PLAIN_MAX_PASSWORD = 1024;
/** Whole message: the three fields and two separators. */
export const PLAIN_MAX_MESSAGE = 2 * PLAIN_MAX_IDENTITY + PLAIN_MAX_PASSWORD + 2;

export type PlainParse =
  | { ok: true; authzid: string; authcid: string; password: Buffer }
  | { ok: false; reason: string };

/** Splits and checks a PLAIN message; exported for the malformed-input table. */
export function parsePlainMessage(msg: Buffer): PlainParse {
  if (msg.length > PLAIN_MAX_MESSAGE) return { ok: false, reason: 'message too long' };
  const first = msg.indexOf(0);
  if (first < 0) return { ok: false, reason: 'missing NUL separators' };
  const second = msg.indexOf(0, first + 1);
  if (second < 0) return { ok: false, reason: 'missing second NUL separator' };
  // A third NUL would make the password ambiguous (RFC 4616: passwd = 1*SAFE, SAFE excludes NUL).
  if (msg.indexOf(0, second + 1) >= 0) return { ok: false, reason: 'NUL in password' };
  const authzidBytes = msg.subarray(0, first);
  const authcidBytes = msg.subarray(first + 1, second);
  const password = msg.subarray(second + 1);
  if (authcidBytes.length === 0) return { ok: false, reason: 'empty authcid' };
  if (password.length === 0) return { ok: false, reason: 'empty password' };
  if (authzidBytes.length > PLAIN_MAX_IDENTITY || authcidBytes.length > PLAIN_MAX_IDENTITY) return { ok: false, reason: 'identity too long' };
  if (password.length > PLAIN_MAX_PASSWORD) return { ok: false, reason: 'password too long' };
  const authzid = decodeUtf8(authzidBytes);
  const authcid = decodeUtf8(authcidBytes);
  // RFC 4616 section 2: all three are UTF-8 strings.
  if (authzid === null || authcid === null || decodeUtf8(password) === null) return { ok: false, reason: 'not UTF-8' };
  return { ok: true, authzid, authcid, password: Buffer.from(password) };
}

function outcomeStep(outcome: AuthOutcome, authcid: string, authzid: string | undefined): SaslStep {
  if (outcome.status !== 'ok') return { type: 'failure', failure: outcome };
  const step: SaslStep = { type: 'success', outcome, authcid };
  if (authzid !== undefined) step.authzid = authzid;
  return step;
}

export const plain: SaslMechanism = {
  name: 'PLAIN',
  needs: 'verify-plain',
  clearText: true,
  advertiseGroup: 'clear',
  start(ctx): SaslExchange {
    let state: 'initial' | 'awaiting-message' | 'done' = 'initial';
    return {
      async step(input) {
        if (state === 'done') return malformed('step after completion');
        if (input === null) {
          // No initial response: ask for the message with an empty challenge (RFC 4422 §5).
          if (state !== 'initial') {
            state = 'done';
            return malformed('missing response');
          }
          state = 'awaiting-message';
          return { type: 'challenge', data: Buffer.alloc(0) };
        }
        state = 'done';
        const parsed = parsePlainMessage(input);
        if (!parsed.ok) return malformed(parsed.reason);
        const authzid = parsed.authzid === '' ? undefined : parsed.authzid;
        const req: Parameters<typeof ctx.port.authenticate>[0] = {
          login: parsed.authcid,
          method: 'PLAIN',
          clearText: true,
          credential: { type: 'password', password: parsed.password },
        };
        if (authzid !== undefined) req.authzid = authzid;
        const outcome = await ctx.port.authenticate(req);
        return outcomeStep(outcome, parsed.authcid, authzid);
      },
    };
  },
};
