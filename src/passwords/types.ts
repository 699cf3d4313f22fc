/**
 * Public types of the password module. `DeriveKind`, `DerivedCredential` and `ScramAlgorithm` are
 * also sasl's `CredentialKind`, `CredentialValue` and `ScramAlgorithm` (src/sasl/mechanism.ts
 * aliases them: imports point down, passwords before sasl), so auth passes derive()'s answer to a
 * mechanism as it is.
 */

/** The account's "Password Encryption" setting (SPEC P3): clear text, or one-way ("U-crpt"). */
export type Encryption = 'clear' | 'one-way';

export type ScramAlgorithm = 'SHA-1' | 'SHA-256';

/** What a challenge mechanism asks for (sasl's CredentialKind). */
export type DeriveKind = 'clear' | 'scram-sha-1' | 'scram-sha-256' | 'nt-hash';

export type DerivedCredential =
  | { kind: 'clear'; password: Buffer }
  | { kind: 'scram'; algorithm: ScramAlgorithm; salt: Buffer; iterations: number; storedKey: Buffer; serverKey: Buffer }
  | { kind: 'nt-hash'; hash: Buffer };

/**
 * Why a secret cannot be given:
 * - `one-way`: the stored form cannot yield it (SPEC A9: the mechanism fails cleanly);
 * - `no-password`: the stored password is absent or empty (SPEC P4);
 * - `invalid`: the stored string is garbled or of an unknown scheme (already logged);
 * - `not-derivable`: stored clear, but the password cannot be used by that mechanism (not UTF-8
 *   for NTLM/SCRAM, or SASLprep refuses it: prohibited, unassigned, bidi, or nothing left).
 */
export type DeriveUnavailable = 'one-way' | 'no-password' | 'invalid' | 'not-derivable';

export type DeriveResult =
  | { available: true; value: DerivedCredential }
  | { available: false; reason: DeriveUnavailable };

/** Identifiers of the schemes in the registry (one file each under schemes/). */
export type SchemeId =
  | 'clear'
  | 'des-crypt' | 'md5-crypt' | 'sha256-crypt' | 'sha512-crypt' | 'bcrypt' | 'argon2id'
  | 'md5' | 'smd5' | 'sha' | 'ssha' | 'sha256' | 'ssha256' | 'sha512' | 'ssha512'
  | 'scram-sha-1' | 'scram-sha-256'
  | 'nt';

/**
 * Why a verification could not say yes, beyond a plain wrong password. The engine maps `busy`
 * and `internal` to a temporary failure (they must not count towards lock-out), the rest to bad
 * credentials.
 * - `empty`: absent/empty stored password or empty supplied password (SPEC P4);
 * - `unknown-scheme`, `malformed`, `over-limit`: the stored string cannot be used (logged);
 * - `password-too-long`: the supplied password exceeds PASSWORD_MAX_BYTES;
 * - `busy`: the hashing worker queue is full; `internal`: a worker failed or timed out.
 */
export type VerifyProblem =
  | 'empty' | 'unknown-scheme' | 'malformed' | 'over-limit' | 'password-too-long' | 'busy' | 'internal';

export interface VerifyResult {
  ok: boolean;
  /** ok, encryption is one-way, and the stored form is not the current argon2id: store the
   *  output of hashNewPassword(password, ...) now (SPEC P3, legacy upgrade at login). */
  needsUpgrade: boolean;
  /** The scheme the stored string was recognised as (absent when it was not recognised). */
  scheme?: SchemeId;
  problem?: VerifyProblem;
}

/** Outcome of one scheme's check. `busy`/`error` come from the worker pool. */
export type SchemeCheck = 'match' | 'mismatch' | 'busy' | 'error';

export interface DeriveOptions {
  /** Salt for SCRAM keys computed from a clear password. Pass a stable one per account (for
   *  example an HMAC of the account name under a server secret) so that the salt announced in
   *  server-first and the keys checked later agree; default: 16 fresh random bytes. */
  scramSalt?: Buffer;
  /** Iterations for SCRAM keys computed from a clear password; default SCRAM_DEFAULT_ITERATIONS. */
  scramIterations?: number;
}

/** A stored string understood by its scheme: what verify and derive work on. */
export interface ParsedPassword {
  readonly scheme: SchemeId;
  /** The form hashNewPassword writes today with one-way encryption (argon2id at no weaker
   *  parameters than the current ones): no upgrade needed. */
  readonly upToDate: boolean;
  /** Compares in constant time; CPU-heavy work happens off the event loop. Never throws. */
  check(password: Buffer): Promise<SchemeCheck>;
  derive(kind: DeriveKind, options: DeriveOptions): Promise<DeriveResult>;
}

export type ParseResult =
  | { ok: true; parsed: ParsedPassword }
  | { ok: false; problem: 'malformed' | 'over-limit' | 'unknown-scheme'; reason: string };

/**
 * One way a scheme appears in a stored string: an optional `{TAG}` (matched case-insensitively,
 * as Dovecot and OpenLDAP do) followed by a literal lead such as `$1$`. The scheme parses the
 * stored string with the tag removed (`core`), so `{CRYPT}$1$...` and `$1$...` parse alike.
 */
export interface SchemeForm { tag: string; lead: string }

export interface PasswordScheme {
  readonly id: SchemeId;
  readonly forms: readonly SchemeForm[];
  parse(core: string, form: SchemeForm): ParseResult;
}
