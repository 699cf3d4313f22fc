/**
 * The R5 rights matrix (src/admin/rights-matrix.ts) as CLI/API commands: each AdminService
 * operation of the table becomes the command of the command table that performs it, with named
 * arguments (the JSON form) and as a CommuniGate command line written from the command's grammar.
 * Test-only.
 */
import assert from 'node:assert/strict';
import { serialize } from '../../../settings/format/index.js';
import { PasswordService } from '../../../auth/password-service.js';
import { AuthEngine } from '../../../auth/engine.js';
import { InProcessLockout } from '../../../auth/lockout.js';
import type { MatrixCell } from '../../rights-matrix.js';
import { ACTOR_LOGINS, MATRIX_ACTORS } from '../../rights-matrix.js';
import { ACTOR_PASSWORD, type MatrixFixture } from '../../rights-matrix.fixture.js';
import { findCommand, type CommandDef } from '../commands.js';
import { fromJson, type Json } from '../json.js';

export interface CellCommand { def: CommandDef; json: Record<string, Json>; line: string }

/** AdminService method -> command name and how its arguments are named. */
const BY_METHOD: Record<string, { command: string; args: (a: unknown[]) => Record<string, Json> }> = {
  getServerSettings: { command: 'GetServerSettings', args: () => ({}) },
  updateServerSettings: { command: 'UpdateServerSettings', args: (a) => ({ settings: a[0] as Json }) },
  getServerAccountDefaults: { command: 'GetServerAccountDefaults', args: () => ({}) },
  updateServerAccountDefaults: { command: 'UpdateServerAccountDefaults', args: (a) => ({ settings: a[0] as Json }) },
  listDomains: { command: 'ListDomains', args: () => ({}) },
  createDomain: { command: 'CreateDomain', args: (a) => ({ domain: a[0] as string }) },
  renameDomain: { command: 'RenameDomain', args: (a) => ({ domain: a[0] as string, newName: a[1] as string }) },
  // force: the service's deleteDomain deletes a domain with its accounts; DeleteDomain does that with force.
  deleteDomain: { command: 'DeleteDomain', args: (a) => ({ domain: a[0] as string, force: true }) },
  getDomainSettings: { command: 'GetDomainSettings', args: (a) => ({ domain: a[0] as string }) },
  updateDomainSettings: { command: 'UpdateDomainSettings', args: (a) => ({ domain: a[0] as string, settings: a[1] as Json }) },
  setDomainAliases: { command: 'SetDomainAliases', args: (a) => ({ domain: a[0] as string, aliases: a[1] as Json }) },
  updateAccountDefaults: { command: 'UpdateAccountDefaults', args: (a) => ({ domain: a[0] as string, settings: a[1] as Json }) },
  listAccounts: { command: 'ListAccounts', args: (a) => ({ domain: a[0] as string }) },
  createAccount: { command: 'CreateAccount', args: (a) => ({ account: a[0] as string }) },
  getAccountSettings: { command: 'GetAccountSettings', args: (a) => ({ account: a[0] as string }) },
  updateAccountSettings: { command: 'UpdateAccountSettings', args: (a) => ({ account: a[0] as string, settings: a[1] as Json }) },
  setAccountPassword: { command: 'SetAccountPassword', args: (a) => ({ account: a[0] as string, password: a[1] as string }) },
  renameAccount: { command: 'RenameAccount', args: (a) => ({ account: a[0] as string, newName: a[1] as string }) },
  deleteAccount: { command: 'DeleteAccount', args: (a) => ({ account: a[0] as string }) },
  getAccountRights: { command: 'GetAccountRights', args: (a) => ({ account: a[0] as string }) },
  setAccountRights: { command: 'SetAccountRights', args: (a) => ({ account: a[0] as string, rights: a[1] as Json }) },
  // Not in the table today; mapped so that a cell added for them runs here too.
  mainDomainName: { command: 'MainDomainName', args: () => ({}) },
  getServerEffectiveSettings: { command: 'GetServerEffectiveSettings', args: () => ({}) },
  setServerAccountDefaults: { command: 'SetServerAccountDefaults', args: (a) => ({ settings: a[0] as Json }) },
  getDomainEffectiveSettings: { command: 'GetDomainEffectiveSettings', args: (a) => ({ domain: a[0] as string }) },
  getDomainAliases: { command: 'GetDomainAliases', args: (a) => ({ domain: a[0] as string }) },
  getAccountDefaults: { command: 'GetAccountDefaults', args: (a) => ({ domain: a[0] as string }) },
  setAccountDefaults: { command: 'SetAccountDefaults', args: (a) => ({ domain: a[0] as string, settings: a[1] as Json }) },
  getAccountEffectiveSettings: { command: 'GetAccountEffectiveSettings', args: (a) => ({ account: a[0] as string }) },
  setAccountSettings: { command: 'SetAccountSettings', args: (a) => ({ account: a[0] as string, settings: a[1] as Json }) },
  verifyAccountPassword: { command: 'VerifyAccountPassword', args: (a) => ({ account: a[0] as string, password: a[1] as string }) },
  getAccountLockout: { command: 'GetAccountLockout', args: (a) => ({ account: a[0] as string }) },
  unlockAccount: { command: 'UnlockAccount', args: (a) => ({ account: a[0] as string }) },
};

/** A command line written from the command's grammar and named arguments. */
export function commandLine(def: CommandDef, json: Record<string, Json>): string {
  const words: string[] = [def.name];
  const value = (v: Json): string => {
    const r = fromJson(v);
    assert.ok(r.ok);
    return serialize(r.value);
  };
  for (const s of def.slots) {
    switch (s.kind) {
      case 'param': { const v = json[s.param]; if (v !== undefined) words.push(value(v)); break; }
      case 'keyword': words.push(s.words[0] as string); break;
      case 'flag': if (json[s.param] === true) words.push(s.words[0] as string); break;
      case 'keyed': { const v = json[s.param]; if (v !== undefined) words.push(s.words[0] as string, value(v)); break; }
      case 'ignore': break;
    }
  }
  return words.join(' ');
}

export function cellCommand(cell: MatrixCell, tag: string): CellCommand {
  const m = BY_METHOD[cell.method];
  assert.ok(m, `the matrix operation ${cell.method} has no CLI/API command: add one to the command table and here`);
  const def = findCommand(m.command);
  assert.ok(def, m.command);
  const json = m.args(cell.args(tag));
  return { def, json, line: commandLine(def, json) };
}

/**
 * The engine for logins to the matrix fixture, with the actors' passwords stored in clear so the
 * hundreds of logins the API matrix makes (Basic on every request) stay cheap; lock-out is off in
 * the fixture (LoginFailureLimit 0).
 */
export async function matrixEngine(f: MatrixFixture): Promise<AuthEngine> {
  await f.directory.update({ kind: 'serverAccountDefaults' }, { PasswordEncryption: 'clear' });
  const passwords = new PasswordService(f.directory);
  for (const who of MATRIX_ACTORS) {
    const [account = '', domain = ''] = ACTOR_LOGINS[who].split('@');
    await passwords.setPassword(domain, account, ACTOR_PASSWORD);
  }
  return new AuthEngine({ directory: f.directory, lockout: new InProcessLockout(), passwords });
}
