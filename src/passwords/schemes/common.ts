/** Pieces the scheme files share: forms under several tags, one-way parsed values, pool checks. */
import type { CryptTask } from '../crypt-task.js';
import { cryptPool } from '../pool.js';
import { equalSecrets } from '../encoding.js';
import type { DeriveKind, DeriveResult, ParseResult, ParsedPassword, SchemeCheck, SchemeForm, SchemeId } from '../types.js';

/** Every combination of tag and lead: `$1$` bare and under `{CRYPT}` and `{MD5-CRYPT}`... */
export function forms(tags: readonly string[], leads: readonly string[]): SchemeForm[] {
  return tags.flatMap((tag) => leads.map((lead) => ({ tag, lead })));
}

/** A hash form: it can only answer "is this the password", never give a secret back (SPEC A9). */
export function oneWay(
  scheme: SchemeId,
  check: (password: Buffer) => Promise<SchemeCheck>,
  extra: { upToDate?: boolean; derive?: (kind: DeriveKind) => Promise<DeriveResult> } = {},
): ParseResult {
  const parsed: ParsedPassword = {
    scheme,
    upToDate: extra.upToDate ?? false,
    check,
    derive: extra.derive ?? (() => Promise.resolve({ available: false, reason: 'one-way' })),
  };
  return { ok: true, parsed };
}

export function malformed(reason: string): ParseResult {
  return { ok: false, problem: 'malformed', reason };
}

export function overLimit(reason: string): ParseResult {
  return { ok: false, problem: 'over-limit', reason };
}

/** Hashes in a worker thread and compares the encoded result with the stored one in constant time. */
export async function poolCheck(task: CryptTask, expected: string): Promise<SchemeCheck> {
  const r = await cryptPool().run(task);
  if (r.status === 'busy') return 'busy';
  if (r.status === 'error') return 'error';
  return equalSecrets(Buffer.from(r.hash, 'latin1'), Buffer.from(expected, 'latin1')) ? 'match' : 'mismatch';
}

/** A salt of printable ASCII without `$` (the field separator), as crypt(3) writes them. */
export const CRYPT_SALT_CHARS = '[\\x21-\\x23\\x25-\\x7e]';
