/**
 * Access rights (R1–R5), stored per domain in Settings/Access.settings (R4) as
 * `{ accountName = ( Right, Right ); }`. The rules of who may hold and grant a right live here and
 * nowhere else; every interface (web, API, CLI) asks the service layer, which asks this module.
 */
export const RIGHTS = ['Master', 'UserAccounts', 'ServerSettings', 'Monitor', 'DomainAdmin'] as const;
export type Right = (typeof RIGHTS)[number];

export const RIGHT_LABELS: Record<Right, string> = {
  Master: 'Can Modify Access Rights (unlimited access)',
  UserAccounts: 'Can Modify User Accounts',
  ServerSettings: 'Can Modify Server Settings',
  Monitor: 'Can Monitor Server',
  DomainAdmin: 'Can Modify This Domain and its Account Settings',
};

/** R1: the four server-wide rights can be held only by accounts of the main domain. */
export const MAIN_DOMAIN_ONLY: ReadonlySet<Right> = new Set(['Master', 'UserAccounts', 'ServerSettings', 'Monitor']);

export function parseRight(s: string): Right | null {
  return RIGHTS.find((r) => r.toLowerCase() === s.toLowerCase()) ?? null;
}

/** The rights that holding `held` implies: Master implies every right (R1). */
export function expandRights(held: readonly Right[]): Set<Right> {
  return held.includes('Master') ? new Set(RIGHTS) : new Set(held);
}

/** R1: may an account of this domain hold this right at all? */
export function mayHold(right: Right, isMainDomain: boolean): boolean {
  return isMainDomain || !MAIN_DOMAIN_ONLY.has(right);
}
