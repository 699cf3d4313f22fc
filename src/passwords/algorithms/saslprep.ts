/**
 * SASLprep (RFC 4013), the one implementation of the project, through @mongodb-js/saslprep:
 * RFC 3454 tables B.1 (mapped to nothing) and C.1.2 (non-ASCII spaces to U+0020), NFKC, the
 * prohibited tables C.1.2-C.9, the bidirectional rule (RFC 3454 section 6) and, for stored
 * strings, the unassigned code points of table A.1.
 *
 * SCRAM applies it to the password before PBKDF2 (RFC 5802 section 2.2, "Normalize") and to the
 * user name: keys stored or computed from a clear password here and the keys the SCRAM mechanism's
 * client computes (src/sasl) must come from the same string, or non-ASCII passwords never match.
 *
 * NFKC is the running engine's Unicode version, not 3.2; the two differ only for characters
 * assigned since, which a stored string refuses as unassigned anyway.
 */
import saslprepLib from '@mongodb-js/saslprep';

/**
 * `stored` for passwords (and anything kept to compare against later), `query` for user names:
 * RFC 5802 section 5.1 prepares names as queries, which allow unassigned code points. Returns
 * null where RFC 4013 says the preparation fails, and for an empty result: a password that
 * prepares to nothing is an empty password (SPEC P4), a name that does is no name.
 */
export function saslPrep(s: string, mode: 'query' | 'stored'): string | null {
  try {
    const out = saslprepLib(s, { allowUnassigned: mode === 'query' });
    return out.length === 0 ? null : out;
  } catch {
    return null;
  }
}
