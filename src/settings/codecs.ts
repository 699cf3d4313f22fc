/**
 * Codecs between the stored text form of a setting (a CgValue, as CommuniGate Pro writes it: "YES",
 * "10m", ( a, b )) and its typed value. Decoding never throws: it returns the value or a message
 * that an administrator can act on.
 */
import ipaddr from 'ipaddr.js';
import { LOG_LEVELS, type LogLevel } from '../core/log.js';
import { isDict, type CgDict, type CgValue } from './format/types.js';

export type Decoded<T> = { ok: true; value: T } | { ok: false; message: string };
const ok = <T>(value: T): Decoded<T> => ({ ok: true, value });
const bad = <T>(message: string): Decoded<T> => ({ ok: false, message });

export interface Codec<T> {
  /** A short description of the accepted form, shown in errors and in the configuration reference. */
  readonly form: string;
  decode(raw: CgValue): Decoded<T>;
  encode(value: T): CgValue;
}

const describe = (raw: CgValue): string => (typeof raw === 'string' ? JSON.stringify(raw) : Array.isArray(raw) ? 'an array' : isDict(raw) ? 'a dictionary' : String(raw));

export const boolean: Codec<boolean> = {
  form: 'YES or NO',
  decode(raw) {
    if (typeof raw === 'string') {
      const v = raw.toUpperCase();
      if (v === 'YES' || v === 'TRUE' || v === '1') return ok(true);
      if (v === 'NO' || v === 'FALSE' || v === '0') return ok(false);
    }
    return bad(`expected YES or NO, got ${describe(raw)}`);
  },
  encode: (v) => (v ? 'YES' : 'NO'),
};

export function integer(min: number, max: number): Codec<number> {
  return {
    form: `a whole number from ${min} to ${max}`,
    decode(raw) {
      const s = typeof raw === 'number' ? String(raw) : raw;
      if (typeof s !== 'string' || !/^-?\d{1,15}$/.test(s)) return bad(`expected a whole number, got ${describe(raw)}`);
      const n = Number(s);
      return n < min || n > max ? bad(`must be from ${min} to ${max}, got ${n}`) : ok(n);
    },
    encode: (v) => String(v),
  };
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** A time span in CommuniGate's style: `30s`, `10m`, `2h`, `1d`; a bare number is seconds. */
export function duration(minSeconds: number, maxSeconds: number): Codec<number> {
  return {
    form: `a time span such as 30s, 10m, 2h or 1d (${minSeconds}s to ${maxSeconds}s)`,
    decode(raw) {
      const m = typeof raw === 'string' ? /^(\d{1,9})\s*([smhd]?)$/i.exec(raw.trim()) : null;
      if (!m) return bad(`expected a time span such as 10m, got ${describe(raw)}`);
      const secs = Number(m[1]) * (UNIT_SECONDS[(m[2] || 's').toLowerCase()] ?? 1);
      return secs < minSeconds || secs > maxSeconds ? bad(`must be from ${minSeconds}s to ${maxSeconds}s, got ${secs}s`) : ok(secs);
    },
    encode(v) {
      for (const [unit, n] of [['d', 86400], ['h', 3600], ['m', 60]] as const) if (v % n === 0 && v >= n) return `${v / n}${unit}`;
      return `${v}s`;
    },
  };
}

export function text(opts: { maxLength?: number; pattern?: RegExp; patternHelp?: string; allowEmpty?: boolean } = {}): Codec<string> {
  const max = opts.maxLength ?? 4096;
  return {
    form: opts.patternHelp ?? `text up to ${max} characters`,
    decode(raw) {
      if (typeof raw !== 'string') return bad(`expected text, got ${describe(raw)}`);
      if (raw.length > max) return bad(`longer than ${max} characters`);
      if (raw === '' && opts.allowEmpty === false) return bad('must not be empty');
      if (opts.pattern && raw !== '' && !opts.pattern.test(raw)) return bad(`${JSON.stringify(raw)} is not ${opts.patternHelp ?? 'valid'}`);
      return ok(raw);
    },
    encode: (v) => v,
  };
}

export function oneOf<const T extends string>(values: readonly T[]): Codec<T> {
  return {
    form: `one of ${values.join(', ')}`,
    decode(raw) {
      const hit = typeof raw === 'string' ? values.find((v) => v.toLowerCase() === raw.toLowerCase()) : undefined;
      return hit !== undefined ? ok(hit) : bad(`expected one of ${values.join(', ')}, got ${describe(raw)}`);
    },
    encode: (v) => v,
  };
}

export function list<T>(item: Codec<T>, opts: { maxItems?: number } = {}): Codec<T[]> {
  const maxItems = opts.maxItems ?? 10_000;
  return {
    form: `a list ( a, b ) of ${item.form}`,
    decode(raw) {
      // A single string is accepted as a one-element list, as hand-written settings often do.
      const items = typeof raw === 'string' ? (raw === '' ? [] : [raw]) : raw;
      if (!Array.isArray(items)) return bad(`expected a list, got ${describe(raw)}`);
      if (items.length > maxItems) return bad(`more than ${maxItems} items`);
      const out: T[] = [];
      for (const [i, it] of items.entries()) {
        const d = item.decode(it);
        if (!d.ok) return bad(`item ${i + 1}: ${d.message}`);
        out.push(d.value);
      }
      return ok(out);
    },
    encode: (v) => v.map((x) => item.encode(x)),
  };
}

/** DNS-style domain name, lowercase on decode: letters, digits, hyphens, dots; no empty labels. */
export const DOMAIN_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
export const domainName: Codec<string> = {
  form: 'a domain name (letters, digits, hyphens and dots)',
  decode(raw) {
    if (typeof raw !== 'string') return bad(`expected a domain name, got ${describe(raw)}`);
    const v = raw.toLowerCase();
    return DOMAIN_NAME.test(v) ? ok(v) : bad(`${JSON.stringify(raw)} is not a valid domain name`);
  },
  encode: (v) => v,
};

/** One IP address, a CIDR range (`192.0.2.0/24`, `2001:db8::/32`) or a dash range (`a-b`). */
export const addressPattern: Codec<string> = {
  form: 'an IP address, a CIDR range such as 192.0.2.0/24 or 2001:db8::/48, or a range a-b',
  decode(raw) {
    if (typeof raw !== 'string') return bad(`expected an address, got ${describe(raw)}`);
    const v = raw.trim();
    try {
      if (v.includes('/')) { ipaddr.parseCIDR(v); return ok(v); }
      const dash = v.split('-');
      if (dash.length === 2) {
        const [a, b] = dash.map((x) => ipaddr.parse(x.trim()));
        if (a && b && a.kind() === b.kind()) return ok(v);
        return bad(`${JSON.stringify(raw)}: both ends of a range must be IPv4 or both IPv6`);
      }
      if (ipaddr.isValid(v)) return ok(v);
    } catch { /* fall through to the message */ }
    return bad(`${JSON.stringify(raw)} is not an IP address, CIDR range or address range`);
  },
  encode: (v) => v,
};

export const ipAddress: Codec<string> = {
  form: 'an IP address',
  decode: (raw) => (typeof raw === 'string' && ipaddr.isValid(raw.trim()) ? ok(ipaddr.parse(raw.trim()).toString()) : bad(`${describe(raw)} is not an IP address`)),
  encode: (v) => v,
};

export const logLevel: Codec<LogLevel> = oneOf(LOG_LEVELS);

/** A dictionary whose values all use one codec, e.g. per-module log levels. */
export function dictOf<T>(keys: readonly string[] | null, value: Codec<T>): Codec<Record<string, T>> {
  return {
    form: `a dictionary { key = ${value.form}; }`,
    decode(raw) {
      if (!isDict(raw)) return bad(`expected a dictionary, got ${describe(raw)}`);
      const entries: [string, T][] = [];
      for (const [k, v] of Object.entries(raw)) {
        if (keys && !keys.includes(k)) return bad(`unknown key ${JSON.stringify(k)} (known: ${keys.join(', ')})`);
        const d = value.decode(v);
        if (!d.ok) return bad(`${k}: ${d.message}`);
        entries.push([k, d.value]);
      }
      // fromEntries defines own properties, so a key named __proto__ never changes a prototype.
      return ok(Object.fromEntries(entries));
    },
    encode(v) {
      const out = Object.create(null) as CgDict;
      for (const [k, x] of Object.entries(v)) out[k] = value.encode(x);
      return out;
    },
  };
}

/** A dictionary with named fields, each with its own codec; fields absent take their defaults. */
export function record<T extends object>(fields: { [K in keyof T]: { codec: Codec<T[K]>; default: T[K] } }): Codec<T> {
  const names = Object.keys(fields);
  return {
    form: `a dictionary with keys ${names.join(', ')}`,
    decode(raw) {
      if (!isDict(raw)) return bad(`expected a dictionary, got ${describe(raw)}`);
      for (const k of Object.keys(raw)) if (!names.includes(k)) return bad(`unknown key ${JSON.stringify(k)} (known: ${names.join(', ')})`);
      const out = {} as T;
      for (const k of names as (keyof T & string)[]) {
        const f = fields[k];
        const r = raw[k];
        if (r === undefined) { out[k] = f.default; continue; }
        const d = f.codec.decode(r);
        if (!d.ok) return bad(`${k}: ${d.message}`);
        out[k] = d.value;
      }
      return ok(out);
    },
    encode(v) {
      const out = Object.create(null) as CgDict;
      for (const k of names as (keyof T & string)[]) out[k] = fields[k].codec.encode(v[k]);
      return out;
    },
  };
}
