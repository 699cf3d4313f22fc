/**
 * CRAM-MD5 (RFC 2195): the server sends a unique `<random.time@host>` challenge, the client
 * answers `user SP hex(HMAC-MD5(password, challenge))`. The server needs the clear password
 * (A9: an account stored one-way gets a clean bad-credentials from the engine), or the External
 * Authentication program checks it from `external`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { malformed, serverFirstExchange } from '../exchange.js';
import { decodeUtf8 } from '../text.js';
import type { CredentialValue, SaslExchange, SaslMechanism } from '../mechanism.js';

/** Longest user name, in octets: `name@domain` with a 255-octet name and a 253-octet domain. */
export const CRAM_MD5_MAX_IDENTITY = 512;
/** Whole response: user name, one space, 32 hex digits. */
export const CRAM_MD5_MAX_RESPONSE = CRAM_MD5_MAX_IDENTITY + 1 + 32;
/** Random part of the challenge: 128 bits, so a challenge never repeats and cannot be guessed
 *  (a replayed response is only worthless if the challenge is new every time). */
export const CRAM_MD5_RANDOM_BYTES = 16;

const HEX_DIGEST = /^[0-9a-fA-F]{32}$/;

export function randomCramChallenge(serverName: string): string {
  return `<${randomBytes(CRAM_MD5_RANDOM_BYTES).toString('hex')}.${Date.now()}@${serverName}>`;
}

export type CramParse = { ok: true; user: string; digest: Buffer; digestHex: string } | { ok: false; reason: string };

/** `user SP digest`. The digest is the last field, so a user name may itself contain spaces. */
export function parseCramResponse(input: Buffer): CramParse {
  if (input.length > CRAM_MD5_MAX_RESPONSE) return { ok: false, reason: 'response too long' };
  const text = decodeUtf8(input);
  if (text === null) return { ok: false, reason: 'response not UTF-8' };
  const sp = text.lastIndexOf(' ');
  if (sp < 0) return { ok: false, reason: 'missing space before digest' };
  const user = text.slice(0, sp);
  const digestHex = text.slice(sp + 1);
  if (user.length === 0) return { ok: false, reason: 'empty user name' };
  if (/[\0\r\n]/.test(user)) return { ok: false, reason: 'control character in user name' };
  if (!HEX_DIGEST.test(digestHex)) return { ok: false, reason: 'digest is not 32 hex digits' };
  return { ok: true, user, digest: Buffer.from(digestHex, 'hex'), digestHex: digestHex.toLowerCase() };
}

export function cramMd5Digest(password: Buffer, challenge: string): Buffer {
  return createHmac('md5', password).update(challenge, 'utf8').digest();
}

/** The mechanism with an injectable challenge source: tests replay the RFC 2195 example. */
export function createCramMd5(newChallenge: (serverName: string) => string): SaslMechanism {
  return {
    name: 'CRAM-MD5',
    needs: 'lookup-credentials',
    clearText: false,
    advertiseGroup: 'secure',
    start(ctx): SaslExchange {
      return serverFirstExchange({
        // CRAM-MD5 is server-first: data before the challenge cannot be a valid answer.
        initialResponseRefused: 'initial response not allowed',
        challenge: () => {
          const challenge = newChallenge(ctx.serverName);
          return { data: Buffer.from(challenge, 'utf8'), context: challenge };
        },
        respond: async (response, challenge) => {
          const parsed = parseCramResponse(response);
          if (!parsed.ok) return malformed(parsed.reason);
          const expectedFor = (secret: CredentialValue): boolean => {
            if (secret.kind !== 'clear') return false;
            return timingSafeEqual(cramMd5Digest(secret.password, challenge), parsed.digest);
          };
          const outcome = await ctx.port.authenticate({
            login: parsed.user,
            method: 'CRAM-MD5',
            clearText: false,
            credential: {
              type: 'challenge',
              mechanism: 'CRAM-MD5',
              needs: 'clear',
              verify: expectedFor,
              external: { response: parsed.digestHex, challenge },
            },
          });
          if (outcome.status !== 'ok') return { type: 'failure', failure: outcome };
          return { type: 'success', outcome, authcid: parsed.user };
        },
      });
    },
  };
}

export const cramMd5: SaslMechanism = createCramMd5(randomCramChallenge);
