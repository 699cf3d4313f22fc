/**
 * Effective values. An account setting comes from the account, then its domain's Default Account
 * Settings, then the server-wide Default Account Settings, then the built-in default (P1); server
 * and domain settings from their own object, then the built-in default. Each value carries where it
 * came from, which the web admin and `show effective` display.
 *
 * A stored value that fails its check is an error naming the object and key, never silently
 * replaced by a default: a hand edit that went wrong must be seen, not papered over.
 */
import { MailwardError } from '../core/errors.js';
import type { CgValue } from './format/types.js';
import { SCHEMAS, type AccountSettings, type DomainSettings, type Scope, type ServerSettings } from './schema.js';

export type SettingSource = 'account' | 'domain' | 'server' | 'default';

export interface Layer { source: SettingSource; data: Record<string, CgValue> | null | undefined; where: string }

export interface Resolved<T> { values: T; sources: Record<keyof T & string, SettingSource> }

export function resolve<T>(scope: Scope, layers: Layer[]): Resolved<T> {
  const schema = SCHEMAS[scope];
  const values: Record<string, unknown> = {};
  const sources: Record<string, SettingSource> = {};
  for (const [key, d] of Object.entries(schema)) {
    values[key] = d.default;
    sources[key] = 'default';
    for (const layer of layers) {
      const raw = layer.data?.[key];
      if (raw === undefined) continue;
      const r = d.codec.decode(raw);
      if (!r.ok) throw new MailwardError('settings.invalid', `${layer.where}: ${key}: ${r.message}`);
      values[key] = r.value;
      sources[key] = layer.source;
      break;
    }
  }
  return { values: values as T, sources: sources as Resolved<T>['sources'] };
}

export const resolveServer = (data: Record<string, CgValue> | null, where = 'Settings/Main.settings'): Resolved<ServerSettings> =>
  resolve<ServerSettings>('server', [{ source: 'server', data, where }]);

export const resolveDomain = (data: Record<string, CgValue> | null, where: string): Resolved<DomainSettings> =>
  resolve<DomainSettings>('domain', [{ source: 'domain', data, where }]);

export function resolveAccount(l: {
  account: Record<string, CgValue> | null; accountWhere: string;
  domainDefaults: Record<string, CgValue> | null; domainWhere: string;
  serverDefaults: Record<string, CgValue> | null;
}): Resolved<AccountSettings> {
  return resolve<AccountSettings>('account', [
    { source: 'account', data: l.account, where: l.accountWhere },
    { source: 'domain', data: l.domainDefaults, where: l.domainWhere },
    { source: 'server', data: l.serverDefaults, where: 'Settings/AccountDefaults.settings' },
  ]);
}
