/**
 * The NT hash (MD4 of the UTF-16LE password), as the older Dovecot `{NTLM}<hex>`, and as
 * FreeBSD's and libxcrypt's `$3$$<hex>` (what `mkpasswd -m nt` writes), which widens each byte
 * instead of decoding UTF-8: the same for ASCII passwords, and checked as it was made otherwise.
 * Unsalted and fast, so weak as a one-way form, but it is exactly what NTLM needs: an account
 * stored this way can still use NTLM.
 */
import { decodeHexStrict, equalSecrets } from '../encoding.js';
import { ntHash, ntHashOfBytes } from '../algorithms/nt.js';
import type { DeriveResult, ParseResult, PasswordScheme } from '../types.js';
import { malformed, oneWay } from './common.js';

export const nt: PasswordScheme = {
  id: 'nt',
  forms: [{ tag: '', lead: '$3$$' }, { tag: '{NTLM}', lead: '' }, { tag: '{NT}', lead: '' }],
  parse(core, form): ParseResult {
    const hex = core.slice(form.lead.length);
    const hash = hex.length === 32 ? decodeHexStrict(hex) : null;
    if (!hash) return malformed('NT hash is 32 hex digits');
    return oneWay('nt', (password) => {
      const actual = form.lead === '$3$$' ? ntHashOfBytes(password) : ntHash(password);
      return Promise.resolve(actual !== null && equalSecrets(actual, hash) ? 'match' : 'mismatch');
    }, {
      derive: (kind): Promise<DeriveResult> => Promise.resolve(kind === 'nt-hash'
        ? { available: true, value: { kind: 'nt-hash', hash: Buffer.from(hash) } }
        : { available: false, reason: 'one-way' }),
    });
  },
};
