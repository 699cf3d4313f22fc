/**
 * Strict RFC 4648 base64, the one decoder for every layer that reads base64 from outside: stored
 * password forms (src/passwords), SASL lines and SCRAM attributes (src/sasl), HTTP Basic
 * credentials. It lives in core because those layers must not depend on one another for it.
 */

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Strict RFC 4648 base64: alphabet only, padded to a multiple of four, padding only at the end,
 * and canonical (unused bits zero); null otherwise. Node's decoder skips what it does not
 * understand, so a sloppy check would let two different strings mean the same bytes (a stored
 * value "repaired", a SASL line or SCRAM attribute smuggled past a log).
 */
export function decodeBase64Strict(s: string): Buffer | null {
  if (!BASE64_RE.test(s)) return null;
  const b = Buffer.from(s, 'base64');
  // The round trip refuses non-zero pad bits: only the canonical form survives.
  return b.toString('base64') === s ? b : null;
}
