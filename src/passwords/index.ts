/**
 * The password module's API (SPEC P3, P4, A9, H1): check a password against the account's stored
 * `Password` string, produce the string to store for a new password, and give challenge
 * mechanisms the secret they need where the stored form allows it. Nothing here throws on bad
 * input or bad stored data; CPU-heavy hashing runs off the event loop (worker threads for the
 * crypt(3) family, libuv's pool for argon2, bcrypt and PBKDF2).
 */
import { randomBytes } from 'node:crypto';
import { logger } from '../core/log.js';
import { utf8OrNull } from './encoding.js';
import { PASSWORD_MAX_BYTES } from './limits.js';
import { clearStoredForm, identify, type Identified } from './registry.js';
import { hashArgon2id } from './schemes/argon2id.js';
import { checkScramIterations, SCRAM_DEFAULT_ITERATIONS, SCRAM_SALT_BYTES } from './schemes/clear.js';
import { formatScram } from './schemes/scram-common.js';
import { scramKeys, scramNormalize } from './algorithms/scram.js';
import type { DeriveKind, DeriveOptions, DeriveResult, Encryption, ScramAlgorithm, VerifyResult } from './types.js';

export type * from './types.js';
export { identify, clearStoredForm, looksTagged, SCHEMES, type Identified } from './registry.js';
export { ARGON2ID_PARAMS, ARGON2ID_SALT_BYTES } from './schemes/argon2id.js';
export { SCRAM_DEFAULT_ITERATIONS, SCRAM_MIN_ITERATIONS, SCRAM_SALT_BYTES } from './schemes/clear.js';
export { closeCryptPool, CRYPT_POOL_SIZE, CRYPT_QUEUE_MAX, CRYPT_JOB_TIMEOUT_MS } from './pool.js';
export * from './limits.js';
// The password algorithms the SASL mechanisms compute with (imports point down: sasl uses these,
// so a stored form and the mechanism that checks it can never disagree on the mathematics).
export { md4, ntHashOfText } from './algorithms/nt.js';
export { saslPrep } from './algorithms/saslprep.js';
export {
  scramClientKeys, scramHashLength, scramHashName, scramKeys, scramNormalize, type ScramClientKeys, type ScramKeys,
} from './algorithms/scram.js';

const log = logger('AUTH');

/**
 * A fixed argon2id hash made with ARGON2ID_PARAMS from a random password nobody kept, verified
 * for names that do not exist so that they take as long as a wrong password (SPEC H1). A test
 * fails if ARGON2ID_PARAMS change without this being regenerated.
 */
export const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$cwpWf2GXFltpfN5a+2OYJg$J1uwVGthj51Aft48hVKh+Xr8HoxIwZNXUHCi6xIbl4Y';

function toBuffer(password: Buffer | string): Buffer {
  return typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
}

/** Logs a stored string we cannot use, at problem level, by scheme and reason only: never the
 *  string (it may be a hash, or a clear password that was never escaped). */
function logUnusable(id: Exclude<Identified, { status: 'parsed' }>): void {
  if (id.status === 'unknown-scheme') log.problem('password.unknownScheme', { reason: id.reason });
  else if (id.status === 'malformed' || id.status === 'over-limit') {
    log.problem(id.status === 'malformed' ? 'password.malformed' : 'password.overLimit', { scheme: id.scheme ?? 'none', reason: id.reason });
  }
}

async function spendDummyTime(password: Buffer): Promise<void> {
  const d = identify(DUMMY_HASH);
  if (d.status === 'parsed') await d.parsed.check(password);
}

/**
 * Does `password` match the `stored` string? `policy.encryption` is the account's effective
 * "Password Encryption" setting: with 'one-way', a match against anything but current argon2id
 * sets needsUpgrade, and the caller stores hashNewPassword(password, ...) now (SPEC P3).
 * An empty stored password and an empty supplied one never match (SPEC P4). Garbled or unknown
 * stored strings give ok=false with a problem (and a log record), and cost a dummy argon2id
 * check so that they take as long as a real one. Never throws.
 */
export async function verify(password: Buffer | string, stored: string, policy: { encryption: Encryption }): Promise<VerifyResult> {
  try {
    const pw = toBuffer(password);
    const id = identify(stored);
    if (id.status !== 'parsed') {
      if (id.status !== 'empty') logUnusable(id);
      if (pw.length > 0 && pw.length <= PASSWORD_MAX_BYTES) await spendDummyTime(pw);
      const scheme = 'scheme' in id ? id.scheme : undefined;
      return scheme === undefined ? { ok: false, needsUpgrade: false, problem: id.status } : { ok: false, needsUpgrade: false, scheme, problem: id.status };
    }
    const scheme = id.parsed.scheme;
    if (pw.length === 0) return { ok: false, needsUpgrade: false, scheme, problem: 'empty' };
    if (pw.length > PASSWORD_MAX_BYTES) return { ok: false, needsUpgrade: false, scheme, problem: 'password-too-long' };
    const r = await id.parsed.check(pw);
    switch (r) {
      case 'match':
        return { ok: true, needsUpgrade: policy.encryption === 'one-way' && !id.parsed.upToDate, scheme };
      case 'mismatch':
        return { ok: false, needsUpgrade: false, scheme };
      case 'busy':
        return { ok: false, needsUpgrade: false, scheme, problem: 'busy' };
      case 'error':
        log.problem('password.checkFailed', { scheme });
        return { ok: false, needsUpgrade: false, scheme, problem: 'internal' };
    }
  } catch (e) {
    log.problem('password.internal', { error: e });
    return { ok: false, needsUpgrade: false, problem: 'internal' };
  }
}

/**
 * The H1 stand-in for an unknown name: the same path and work as verify() against a current
 * argon2id hash, always ok=false.
 */
export async function dummyVerify(password: Buffer | string): Promise<VerifyResult> {
  const r = await verify(password, DUMMY_HASH, { encryption: 'one-way' });
  return { ok: false, needsUpgrade: false, scheme: 'argon2id', ...(r.problem ? { problem: r.problem } : {}) };
}

/**
 * The secret a challenge mechanism needs, from a stored string: the clear password when stored
 * clear; SCRAM keys from stored SCRAM keys of that algorithm or computed from a clear password
 * (pass `scramSalt` to get the same salt on every call); the NT hash from a clear password or a
 * stored NT hash; otherwise `{ available: false, reason: 'one-way' }` (SPEC A9). Never throws.
 */
export async function derive(stored: string, kind: DeriveKind, options: DeriveOptions = {}): Promise<DeriveResult> {
  try {
    const id = identify(stored);
    if (id.status === 'empty') return { available: false, reason: 'no-password' };
    if (id.status !== 'parsed') {
      logUnusable(id);
      return { available: false, reason: 'invalid' };
    }
    return await id.parsed.derive(kind, options);
  } catch (e) {
    log.problem('password.internal', { error: e });
    return { available: false, reason: 'invalid' };
  }
}

export interface NewPasswordOptions {
  encryption: Encryption;
  /** PBKDF2 iterations for the SCRAM keys (4,096..SCRAM_MAX_ITERATIONS); default SCRAM_DEFAULT_ITERATIONS. */
  scramIterations?: number;
  /** Which SCRAM key sets to make with one-way encryption; default ['SHA-256'] (SPEC P3). */
  scramAlgorithms?: readonly ScramAlgorithm[];
}

export type NewPassword =
  | {
      ok: true;
      /** The one string for the account's `Password` setting. */
      password: string;
      /** One-way only: the SCRAM key strings, to be stored in a second setting. Absent when the
       *  password fails SASLprep (then SCRAM cannot be used with it). */
      scram?: Partial<Record<ScramAlgorithm, string>>;
    }
  /** `empty`: use "no password" instead (SPEC P4); `not-utf8`: the setting is text. */
  | { ok: false; reason: 'empty' | 'too-long' | 'not-utf8' };

/**
 * What to store for a new password. One-way: argon2id with ARGON2ID_PARAMS plus SCRAM-SHA-256
 * keys (SPEC P3). Clear: the password, escaped as `{PLAIN}...` when it would read as a hash.
 * Throws RangeError only for an out-of-range scramIterations (a configuration bug).
 */
export async function hashNewPassword(password: Buffer | string, options: NewPasswordOptions): Promise<NewPassword> {
  const pw = toBuffer(password);
  if (pw.length === 0) return { ok: false, reason: 'empty' };
  if (pw.length > PASSWORD_MAX_BYTES) return { ok: false, reason: 'too-long' };
  const text = utf8OrNull(pw);
  if (text === null) return { ok: false, reason: 'not-utf8' };
  if (options.encryption === 'clear') return { ok: true, password: clearStoredForm(text) };

  const iterations = checkScramIterations(options.scramIterations ?? SCRAM_DEFAULT_ITERATIONS);
  const normalized = scramNormalize(pw);
  const [hash, scram] = await Promise.all([
    hashArgon2id(pw),
    normalized === null ? Promise.resolve(undefined) : Promise.all(
      (options.scramAlgorithms ?? ['SHA-256']).map(async (alg) => {
        const salt = randomBytes(SCRAM_SALT_BYTES);
        const k = await scramKeys(alg, normalized, salt, iterations);
        return [alg, formatScram(alg, iterations, salt, k.storedKey, k.serverKey)] as const;
      }),
    ).then((pairs) => Object.fromEntries(pairs) as Partial<Record<ScramAlgorithm, string>>),
  ]);
  return scram ? { ok: true, password: hash, scram } : { ok: true, password: hash };
}
