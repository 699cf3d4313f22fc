/**
 * SCRAM stored keys in Dovecot's and GNU SASL's format:
 * `{SCRAM-SHA-256}<iterations>,<salt b64>,<StoredKey b64>,<ServerKey b64>`. GNU SASL may append
 * the SaltedPassword as a fifth field; it is accepted and ignored (never needed, and we never
 * write it: it would let a thief of the store act as the client).
 */
import { decodeBase64Strict } from '../../core/base64.js';
import { equalSecrets, parseDecimal } from '../encoding.js';
import { SALT_MAX_BYTES, SCRAM_MAX_ITERATIONS } from '../limits.js';
import { scramHashLength, scramKeys, scramNormalize } from '../algorithms/scram.js';
import type { DeriveResult, ParseResult, ScramAlgorithm, SchemeCheck, SchemeId } from '../types.js';
import { malformed, oneWay, overLimit } from './common.js';

export function scramTag(alg: ScramAlgorithm): string {
  return alg === 'SHA-1' ? '{SCRAM-SHA-1}' : '{SCRAM-SHA-256}';
}

/** The stored form of a key set (what hashNewPassword writes beside the argon2id hash). */
export function formatScram(alg: ScramAlgorithm, iterations: number, salt: Buffer, storedKey: Buffer, serverKey: Buffer): string {
  return `${scramTag(alg)}${iterations},${salt.toString('base64')},${storedKey.toString('base64')},${serverKey.toString('base64')}`;
}

export function parseScram(id: SchemeId, alg: ScramAlgorithm, core: string): ParseResult {
  const fields = core.split(',');
  if (fields.length !== 4 && fields.length !== 5) return malformed('SCRAM keys are iterations,salt,StoredKey,ServerKey');
  const [itText, saltText, storedText, serverText, saltedText] = fields;
  const iterations = parseDecimal(itText ?? '', Number.MAX_SAFE_INTEGER);
  if (iterations === null || iterations < 1) return malformed('SCRAM iteration count is not a positive decimal');
  if (iterations > SCRAM_MAX_ITERATIONS) return overLimit('SCRAM iterations above SCRAM_MAX_ITERATIONS');
  const salt = decodeBase64Strict(saltText ?? '');
  const storedKey = decodeBase64Strict(storedText ?? '');
  const serverKey = decodeBase64Strict(serverText ?? '');
  const hlen = scramHashLength(alg);
  if (!salt || salt.length === 0) return malformed('SCRAM salt is not non-empty base64');
  if (salt.length > SALT_MAX_BYTES) return overLimit('SCRAM salt above SALT_MAX_BYTES');
  if (!storedKey || storedKey.length !== hlen || !serverKey || serverKey.length !== hlen) {
    return malformed('SCRAM StoredKey/ServerKey are not base64 of the hash length');
  }
  if (saltedText !== undefined) {
    const salted = decodeBase64Strict(saltedText);
    if (!salted || salted.length !== hlen) return malformed('SCRAM SaltedPassword field is not base64 of the hash length');
  }
  const kind = alg === 'SHA-1' ? 'scram-sha-1' : 'scram-sha-256';
  return oneWay(id, async (password): Promise<SchemeCheck> => {
    // A clear password (PLAIN, LOGIN) checked against SCRAM keys: derive StoredKey the way the
    // client would and compare; a password SASLprep refuses can never have produced these keys.
    const normalized = scramNormalize(password);
    if (normalized === null) return 'mismatch';
    const keys = await scramKeys(alg, normalized, salt, iterations);
    const a = equalSecrets(keys.storedKey, storedKey);
    const b = equalSecrets(keys.serverKey, serverKey);
    return a && b ? 'match' : 'mismatch';
  }, {
    derive: (want): Promise<DeriveResult> => Promise.resolve(want === kind
      ? { available: true, value: { kind: 'scram', algorithm: alg, salt, iterations, storedKey, serverKey } }
      : { available: false, reason: 'one-way' }),
  });
}
