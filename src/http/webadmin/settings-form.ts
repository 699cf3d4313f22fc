/**
 * Forms rendered from the settings schema (src/settings/schema.ts), not by hand: each setting's
 * label, help, codec and secret flag decide its control, so a setting added to the schema appears
 * on its page without page code. Submitted forms become a SettingsChange of only the keys that
 * changed, which the service checks against the same schema.
 *
 * Inheritance on the page: an empty text or list field, or the "default" choice of a select,
 * means "not set here" (the built-in default, or for account settings the domain-wide and then the
 * server-wide Default Account Settings, P1). Secrets are never shown: their field is empty, a new
 * value replaces the stored one, and a "remove" box deletes it.
 */
import { html, type SafeHtml } from '../common/html.js';
import type { Form } from '../common/form.js';
import type { CgDict, CgValue } from '../../settings/format/types.js';
import { isDict } from '../../settings/format/types.js';
import type { SchemaTable, SettingDef } from '../../settings/schema.js';
import type { SettingSource } from '../../settings/effective.js';
import type { SettingsChange } from '../../directory/directory.js';

type Kind =
  | { type: 'bool' }
  | { type: 'choice'; options: string[] }
  | { type: 'list' }
  | { type: 'dict' }
  | { type: 'secret' }
  | { type: 'text' };

export function kindOf(d: SettingDef<unknown>): Kind {
  if (d.secret) return { type: 'secret' };
  if (typeof d.default === 'boolean') return { type: 'bool' };
  const m = /^one of (.+)$/.exec(d.codec.form);
  if (m?.[1]) return { type: 'choice', options: m[1].split(', ') };
  if (Array.isArray(d.default)) return { type: 'list' };
  if (d.default !== null && typeof d.default === 'object') return { type: 'dict' };
  return { type: 'text' };
}

/** A stored or default value as the text an administrator reads and types. */
export function showValue(v: CgValue | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map((x) => showValue(x)).join('\n');
  if (isDict(v)) return Object.entries(v).map(([k, x]) => `${k} = ${showValue(x)}`).join('\n');
  return String(v);
}

function encodeDefault(d: SettingDef<unknown>): CgValue {
  return d.codec.encode(d.default as never);
}

/** How each source reads on an account page (P1's layers), and on a server or domain page, whose
 *  only layers are the object itself and the built-in default. */
export const ACCOUNT_SOURCES: Record<SettingSource, string> = { account: 'set here', domain: 'domain defaults', server: 'server defaults', default: 'built-in' };
export const OBJECT_SOURCES: Record<SettingSource, string> = { account: 'set here', domain: 'set here', server: 'set here', default: 'built-in' };

export interface SettingsTableOptions {
  schema: SchemaTable;
  keys: readonly string[];
  /** The object's stored values (secrets already replaced by "(set)"). */
  stored: CgDict;
  /** Effective values and where each comes from (account pages). */
  effective?: { values: Record<string, unknown>; sources: Record<string, SettingSource> };
  /** What "not set here" means on this page, for the select's first option. */
  inherit: 'default' | 'inherit';
  /** Values just submitted (re-shown after a refused change so nothing typed is lost). */
  submitted?: Form | null;
  readOnly?: boolean;
  sourceNames?: Record<SettingSource, string>;
}

export function settingsTable(o: SettingsTableOptions): SafeHtml {
  const rows = o.keys.map((key) => {
    const d = o.schema[key];
    if (!d) return '';
    const k = kindOf(d);
    const name = `s.${key}`;
    const stored = o.stored[key];
    const sub = o.submitted?.has(name) ? o.submitted.get(name) : undefined;
    const dflt = showValue(encodeDefault(d));
    const id = `f-${key}`;
    let control: SafeHtml;
    const dis = o.readOnly ? html` disabled` : '';
    switch (k.type) {
      case 'bool': case 'choice': {
        const cur = sub ?? (typeof stored === 'string' ? stored : '');
        const opts = k.type === 'bool' ? ['YES', 'NO'] : k.options;
        const first = o.inherit === 'default' ? `default (${dflt})` : 'inherit';
        control = html`<select id="${id}" name="${name}"${dis}><option value=""${cur === '' ? html` selected` : ''}>${first}</option>${opts.map((v) =>
          html`<option value="${v}"${cur.toLowerCase() === v.toLowerCase() ? html` selected` : ''}>${v}</option>`)}</select>`;
        break;
      }
      case 'list': case 'dict': {
        const cur = sub ?? showValue(stored);
        control = html`<textarea id="${id}" name="${name}" class="short" placeholder="${o.inherit === 'default' ? `default: ${dflt || '(empty)'}` : 'inherit'}"${dis}>${cur}</textarea>`;
        break;
      }
      case 'secret': {
        const set = stored !== undefined && stored !== '';
        control = html`<input id="${id}" type="password" name="${name}" autocomplete="new-password" placeholder="${set ? '(set) leave empty to keep' : '(not set)'}"${dis}>
${set ? html` <label class="check"><input type="checkbox" name="${`r.${key}`}" value="1"${dis}> remove</label>` : ''}`;
        break;
      }
      default: {
        const cur = sub ?? showValue(stored);
        control = html`<input id="${id}" type="text" name="${name}" value="${cur}" placeholder="${o.inherit === 'default' ? `default: ${dflt || '(empty)'}` : 'inherit'}"${dis}>`;
      }
    }
    let eff: SafeHtml | string = '';
    if (o.effective && key in o.effective.values) {
      const src = o.effective.sources[key] ?? 'default';
      const v = d.secret ? ((o.effective.values[key] === '' || (Array.isArray(o.effective.values[key]) && (o.effective.values[key] as unknown[]).length === 0)) ? '(not set)' : '(set)')
        : showValue(d.codec.encode(o.effective.values[key] as never));
      eff = html`<div class="effective">Effective: <strong>${v || '(empty)'}</strong> <span class="source ${(o.sourceNames ?? ACCOUNT_SOURCES)[src] === 'set here' ? 'account' : ''}">${(o.sourceNames ?? ACCOUNT_SOURCES)[src]}</span></div>`;
    }
    return html`<tr><td class="label"><label for="${id}">${d.label}</label></td><td>${control}${eff}</td><td class="help">${d.help}</td></tr>`;
  });
  return html`<table class="settings">${rows}</table>`;
}

/**
 * The change a submitted form asks for: only the keys whose value differs from what is stored.
 * Values are passed on as text for the service to check against the schema (so a typo is refused
 * with the schema's message, not silently dropped).
 */
export function settingsChange(schema: SchemaTable, keys: readonly string[], form: Form, stored: CgDict): SettingsChange {
  const change: SettingsChange = {};
  for (const key of keys) {
    const d = schema[key];
    const name = `s.${key}`;
    if (!d || !form.has(name) && !form.has(`r.${key}`)) continue;
    const k = kindOf(d);
    const rawText = form.get(name);
    let next: CgValue | null;
    switch (k.type) {
      case 'secret':
        if (form.get(`r.${key}`) === '1') { next = null; break; }
        if (rawText === '') continue; // keep the stored secret
        next = rawText;
        break;
      case 'bool': case 'choice':
        next = rawText === '' ? null : rawText;
        break;
      case 'list': {
        const items = rawText.split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '');
        next = items.length === 0 ? null : items;
        break;
      }
      case 'dict': {
        const entries = rawText.split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '');
        if (entries.length === 0) { next = null; break; }
        const out = Object.create(null) as CgDict;
        for (const line of entries) {
          const eq = line.indexOf('=');
          // A line without "=" is kept as a key with an empty value, so the schema check names it.
          const kk = (eq < 0 ? line : line.slice(0, eq)).trim();
          out[kk] = eq < 0 ? '' : line.slice(eq + 1).trim();
        }
        next = out;
        break;
      }
      default: {
        const t = rawText.trim();
        next = t === '' ? null : t;
      }
    }
    const cur = stored[key];
    if (next === null ? cur === undefined : JSON.stringify(next) === JSON.stringify(cur)) continue;
    change[key] = next;
  }
  return change;
}
