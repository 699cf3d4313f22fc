/**
 * Limits of the password module. Each bounds the work or memory one stored string or one
 * supplied password can make us spend; a stored string over a limit is refused like a malformed
 * one (logged at problem level), never run.
 */

/** Longest password we hash or verify, in bytes. MD5-crypt and SHA-crypt do work proportional to
 *  the password length in every one of their 1,000-5,000+ rounds (the long-password DoS that led
 *  Django to cap passwords), and no person types a 1 KiB password. */
export const PASSWORD_MAX_BYTES = 1024;

/** Longest stored string we parse: the longest hash form (SSHA512 with a large salt, a SCRAM key
 *  set) is under 300 characters; a clear password may take PASSWORD_MAX_BYTES plus its `{PLAIN}`
 *  tag. Bounds the parser's work on a corrupt or hostile settings value. */
export const STORED_MAX_LENGTH = PASSWORD_MAX_BYTES + 64;

/** SHA-crypt `rounds=`: glibc accepts up to 999,999,999, which would hold a worker for hours. A
 *  million rounds is 200x the default and far above what any system writes (Debian uses the
 *  default 5,000; hardened setups 50,000-500,000). */
export const SHACRYPT_MAX_ROUNDS = 1_000_000;

/** glibc's floor for an explicit `rounds=`: a stored value below it is never produced by crypt(3)
 *  (glibc would write rounds=1000), so such a string cannot be genuine. */
export const SHACRYPT_MIN_ROUNDS = 1000;

/** bcrypt cost: each step doubles the work; cost 16 is about 4 s here, 31 would be days. Stored
 *  costs come from administrators, but a typo must not stall the login path. */
export const BCRYPT_MAX_COST = 16;

/** Argon2 memory per verification in KiB: concurrent logins each allocate this much, so 256 MiB
 *  keeps a burst of verifications within the machine (libuv runs 4 at a time by default). */
export const ARGON2_MAX_MEMORY_KIB = 262_144;

/** Argon2 passes: 16 passes at the memory cap is already over a second here. */
export const ARGON2_MAX_TIME_COST = 16;

/** Argon2 lanes: the reference allows 2^24-1; more lanes than our cores only adds threads. */
export const ARGON2_MAX_PARALLELISM = 16;

/** SCRAM (PBKDF2) iteration count: 10 million is a few seconds of a libuv thread, and every
 *  client must pay it too; above that the stored keys are broken rather than strong. */
export const SCRAM_MAX_ITERATIONS = 10_000_000;

/** Salt length in bytes for the salted digests and SCRAM: real salts are 4-32 bytes; 256 bounds
 *  a garbled value's cost without refusing any tool's output. */
export const SALT_MAX_BYTES = 256;
