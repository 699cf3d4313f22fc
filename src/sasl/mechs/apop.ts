/**
 * APOP (RFC 1939 §7): not SASL, but registered like a mechanism so the engine sees one shape.
 * The POP3 greeting carries a timestamp `<...>`; the client sends `APOP name digest` with
 * digest = hex(MD5(timestamp + password)). Needs the clear password (A9: one-way stored
 * accounts fail cleanly through the engine's bad-credentials), or the External program.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { malformed } from '../exchange.js';
import { decodeUtf8 } from '../text.js';
import type { CredentialValue, SaslExchange, SaslMechanism } from '../mechanism.js';

/** Longest user name, in octets: `name@domain` with a 255-octet name and a 253-octet domain. */
export const APOP_MAX_IDENTITY = 512;
/** Whole argument: name, one space, 32 hex digits (RFC 1939 caps a POP3 command line at 255
 *  octets; we allow long `name@domain` names, still far below the line limit). */
export const APOP_MAX_ARGUMENT = APOP_MAX_IDENTITY + 1 + 32;

const HEX_DIGEST = /^[0-9a-fA-F]{32}$/;
/** RFC 1939: the timestamp is a msg-id, `<` ... `>`, printable, no spaces. */
const TIMESTAMP = /^<[\x21-\x7e]+>$/;

export type ApopParse = { ok: true; user: string; digest: Buffer; digestHex: string } | { ok: false; reason: string };

/** `name SP digest`: RFC 1939 separates the arguments by a single space; the name has none. */
export function parseApopArgument(input: Buffer): ApopParse {
  if (input.length > APOP_MAX_ARGUMENT) return { ok: false, reason: 'argument too long' };
  const text = decodeUtf8(input);
  if (text === null) return { ok: false, reason: 'argument not UTF-8' };
  const parts = text.split(' ');
  if (parts.length !== 2) return { ok: false, reason: 'expected "name digest"' };
  const [user = '', digestHex = ''] = parts;
  if (user.length === 0) return { ok: false, reason: 'empty user name' };
  if (/[\0-\x1f\x7f]/.test(user)) return { ok: false, reason: 'control character in user name' };
  if (!HEX_DIGEST.test(digestHex)) return { ok: false, reason: 'digest is not 32 hex digits' };
  return { ok: true, user, digest: Buffer.from(digestHex, 'hex'), digestHex: digestHex.toLowerCase() };
}

export function apopDigest(timestamp: string, password: Buffer): Buffer {
  return createHash('md5').update(Buffer.from(timestamp, 'utf8')).update(password).digest();
}

export const apop: SaslMechanism = {
  name: 'APOP',
  needs: 'lookup-credentials',
  clearText: false,
  advertiseGroup: 'apop',
  start(ctx): SaslExchange {
    let done = false;
    return {
      async step(input) {
        if (done) return malformed('step after completion');
        done = true;
        const timestamp = ctx.apopTimestamp;
        if (timestamp === undefined || !TIMESTAMP.test(timestamp)) return malformed('no APOP timestamp on this session');
        if (input === null) return malformed('missing argument');
        const parsed = parseApopArgument(input);
        if (!parsed.ok) return malformed(parsed.reason);
        const verify = (secret: CredentialValue): boolean => {
          if (secret.kind !== 'clear') return false;
          return timingSafeEqual(apopDigest(timestamp, secret.password), parsed.digest);
        };
        const outcome = await ctx.port.authenticate({
          login: parsed.user,
          method: 'APOP',
          clearText: false,
          credential: {
            type: 'challenge',
            mechanism: 'APOP',
            needs: 'clear',
            verify,
            external: { response: parsed.digestHex, challenge: timestamp },
          },
        });
        if (outcome.status !== 'ok') return { type: 'failure', failure: outcome };
        return { type: 'success', outcome, authcid: parsed.user };
      },
    };
  },
};
