/**
 * Clear text: a bare string that no other form claims, or the password escaped as `{PLAIN}...`
 * (also Dovecot's `{CLEAR}`, `{CLEARTEXT}`) when the bare string would be read as a hash. The
 * only form every challenge mechanism can use (SPEC A9), and the only one a clear-text
 * "Password Encryption" setting writes.
 */
import { randomBytes } from 'node:crypto';
import { equalSecrets } from '../encoding.js';
import { scramKeys, scramNormalize } from '../algorithms/scram.js';
import { ntHash } from '../algorithms/nt.js';
import { SCRAM_MAX_ITERATIONS } from '../limits.js';
import type { DeriveKind, DeriveOptions, DeriveResult, ParseResult, PasswordScheme, ScramAlgorithm } from '../types.js';

/**
 * SCRAM iteration count for new keys and for keys computed from a clear password: GNU SASL's
 * default, 16 times RFC 7677's floor of 4,096. PBKDF2-SHA-256 at 65,536 iterations measured
 * 13 ms here, on libuv's pool, about the cost of an argon2id verification; SCRAM keys stored
 * beside the argon2id hash must not be the much cheaper target for an attacker with the store.
 */
export const SCRAM_DEFAULT_ITERATIONS = 65_536;

/** Salt bytes for new SCRAM keys (RFC 5802 sets no length; 16 as for argon2id). */
export const SCRAM_SALT_BYTES = 16;

/** RFC 7677 section 4: the iteration count SHOULD be at least 4,096. */
export const SCRAM_MIN_ITERATIONS = 4096;

export function checkScramIterations(n: number): number {
  if (!Number.isSafeInteger(n) || n < SCRAM_MIN_ITERATIONS || n > SCRAM_MAX_ITERATIONS) {
    throw new RangeError(`SCRAM iterations must be an integer in ${SCRAM_MIN_ITERATIONS}..${SCRAM_MAX_ITERATIONS}`);
  }
  return n;
}

async function deriveFromClear(password: Buffer, kind: DeriveKind, options: DeriveOptions): Promise<DeriveResult> {
  if (kind === 'clear') return { available: true, value: { kind: 'clear', password: Buffer.from(password) } };
  if (kind === 'nt-hash') {
    const hash = ntHash(password);
    return hash ? { available: true, value: { kind: 'nt-hash', hash } } : { available: false, reason: 'not-derivable' };
  }
  const algorithm: ScramAlgorithm = kind === 'scram-sha-1' ? 'SHA-1' : 'SHA-256';
  const normalized = scramNormalize(password);
  if (normalized === null) return { available: false, reason: 'not-derivable' };
  const salt = options.scramSalt ?? randomBytes(SCRAM_SALT_BYTES);
  const iterations = checkScramIterations(options.scramIterations ?? SCRAM_DEFAULT_ITERATIONS);
  const keys = await scramKeys(algorithm, normalized, salt, iterations);
  return { available: true, value: { kind: 'scram', algorithm, salt, iterations, ...keys } };
}

export const clear: PasswordScheme = {
  id: 'clear',
  forms: [{ tag: '{PLAIN}', lead: '' }, { tag: '{CLEAR}', lead: '' }, { tag: '{CLEARTEXT}', lead: '' }],
  parse(core): ParseResult {
    const stored = Buffer.from(core, 'utf8');
    return {
      ok: true,
      parsed: {
        scheme: 'clear',
        upToDate: false,
        check: (password) => Promise.resolve(equalSecrets(password, stored) ? 'match' : 'mismatch'),
        derive: (kind, options) => deriveFromClear(stored, kind, options),
      },
    };
  },
};
