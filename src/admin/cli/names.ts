/**
 * The one table of names that differ between CommuniGate Pro's CLI and Mailward (W3), and the
 * module names of GetModule/UpdateModule/SetModule.
 *
 * Settings keys need no table: the schema (settings/schema.ts) stores each setting under
 * CommuniGate Pro's key where one exists, so `{ RealName = ...; }` means the same on both.
 *
 * Access rights: CommuniGate Pro names the server-wide rights after the WebAdmin realms they open
 * (Master, Users, Settings, Monitor) and calls domain administration `Domain`; Mailward's names are
 * the ones of its schema (R1). GetAccountRights answers with the CommuniGate name; SetAccountRights
 * accepts either name, without regard to case. CommuniGate's finer domain-administration codes
 * (CanCreateAccounts, BasicSettings, ...) are refused rather than widened: Mailward has one domain
 * right, and mapping a narrow grant onto it would give more than the script asked for.
 */
import { RIGHTS, type Right } from '../../directory/rights.js';
import { SERVER_SETTINGS, SERVICES, type Service } from '../../settings/schema.js';

export const RIGHT_NAMES: Readonly<Record<Right, { cgp: string; also: readonly string[] }>> = {
  Master: { cgp: 'Master', also: ['CanModifyAccessRights'] },
  UserAccounts: { cgp: 'Users', also: ['CanModifyUserAccounts'] },
  ServerSettings: { cgp: 'Settings', also: ['CanModifyServerSettings'] },
  Monitor: { cgp: 'Monitor', also: ['Monitors', 'CanMonitorServer'] },
  DomainAdmin: { cgp: 'Domain', also: ['DomainAdministrator', 'CanModifyThisDomain'] },
};

export function rightToCgp(r: Right): string {
  return RIGHT_NAMES[r].cgp;
}

/** A right from either vocabulary, or null. */
export function rightFromName(name: string): Right | null {
  const n = name.toLowerCase();
  for (const r of RIGHTS) {
    const e = RIGHT_NAMES[r];
    if (r.toLowerCase() === n || e.cgp.toLowerCase() === n || e.also.some((a) => a.toLowerCase() === n)) return r;
  }
  return null;
}

/**
 * Modules of GetModule/UpdateModule/SetModule. CommuniGate Pro's modules are its services
 * (SMTP, POP, IMAP, HTTPA, HTTPU, PWD), whose settings include their listeners; Mailward's
 * services are the same names and their settings are the listeners. The other server-wide
 * settings are grouped as the WebAdmin pages group them (Login Security, TLS Sessions, Helpers,
 * Protection...), each group a module named after its page without spaces. Every server-wide
 * setting belongs to exactly one module, so GetModule/UpdateModule reach all of them (W3).
 */
export type ModuleDef =
  | { kind: 'listeners'; name: Service }
  | { kind: 'group'; name: string; keys: readonly string[] };

function groupModules(): ModuleDef[] {
  const groups = new Map<string, string[]>();
  for (const [key, d] of Object.entries(SERVER_SETTINGS)) {
    if (key === 'Listeners') continue; // reached through the service modules
    const name = d.group.replace(/\s+/g, '');
    groups.set(name, [...(groups.get(name) ?? []), key]);
  }
  return [...groups].map(([name, keys]) => ({ kind: 'group', name, keys }));
}

export const MODULES: readonly ModuleDef[] = [
  ...SERVICES.map((name): ModuleDef => ({ kind: 'listeners', name })),
  ...groupModules(),
];

export function findModule(name: string): ModuleDef | null {
  const n = name.toLowerCase();
  return MODULES.find((m) => m.name.toLowerCase() === n) ?? null;
}
