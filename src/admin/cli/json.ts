/**
 * The JSON form of CommuniGate data-format values, for the JSON API (W3). Strings, numbers,
 * arrays, dictionaries and null map to themselves; the format's other types become one-key
 * objects, so that nothing is lost either way:
 *
 *   #T01-02-2024_10:00:00  <->  { "$time": "2024-02-01T10:00:00.000Z" }   (#TPAST/#TFUTURE: "past"/"future")
 *   [base64]               <->  { "$base64": "..." }
 *   #I[10.0.0.1]:25        <->  { "$ip": "10.0.0.1", "port": 25 }
 *
 * JSON booleans become CommuniGate's YES and NO (what every boolean setting stores). Numbers must
 * be safe integers, as in the data format. Conversion from JSON never throws: it answers a value
 * or a reason.
 */
import { FORMAT_MAX_DEPTH } from '../../core/limits.js';
import { DataBlock, IpAddress, TIME_FUTURE_MS, TIME_PAST_MS, dict, type CgDict, type CgValue } from '../../settings/format/types.js';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export type FromJson = { ok: true; value: CgValue } | { ok: false; reason: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function toJson(v: CgValue, depth = 0): Json {
  if (depth > FORMAT_MAX_DEPTH) return null; // unreachable for values the parser or the store made
  if (v === null || typeof v === 'string' || typeof v === 'number') return v;
  if (v instanceof Date) {
    const t = v.getTime();
    return { $time: t === TIME_PAST_MS ? 'past' : t === TIME_FUTURE_MS ? 'future' : v.toISOString() };
  }
  if (v instanceof DataBlock) return { $base64: v.bytes.toString('base64') };
  if (v instanceof IpAddress) return v.port === undefined ? { $ip: v.address } : { $ip: v.address, port: v.port };
  if (Array.isArray(v)) return v.map((x) => toJson(x, depth + 1));
  const out: { [key: string]: Json } = {};
  for (const [k, x] of Object.entries(v)) {
    // defineProperty: a key named __proto__ stays an ordinary key of the JSON object.
    Object.defineProperty(out, k, { value: toJson(x, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function special(o: Record<string, unknown>): FromJson | null {
  const keys = Object.keys(o);
  if (keys.length === 1 && typeof o.$base64 === 'string') {
    const b = o.$base64;
    if (b.length % 4 !== 0 || !BASE64.test(b)) return { ok: false, reason: '$base64 is not base64' };
    return { ok: true, value: new DataBlock(Buffer.from(b, 'base64')) };
  }
  if (keys.length === 1 && typeof o.$time === 'string') {
    if (o.$time === 'past') return { ok: true, value: new Date(TIME_PAST_MS) };
    if (o.$time === 'future') return { ok: true, value: new Date(TIME_FUTURE_MS) };
    const d = new Date(o.$time);
    return Number.isNaN(d.getTime()) ? { ok: false, reason: '$time is not an ISO 8601 time' } : { ok: true, value: d };
  }
  if (typeof o.$ip === 'string' && keys.every((k) => k === '$ip' || k === 'port')) {
    const port = o.port;
    if (port !== undefined && typeof port !== 'number') return { ok: false, reason: '$ip port is not a number' };
    try {
      return { ok: true, value: new IpAddress(o.$ip, port) };
    } catch {
      return { ok: false, reason: '$ip is not an IP address (or the port is not 0-65535)' };
    }
  }
  return null;
}

export function fromJson(j: unknown, depth = 0): FromJson {
  if (depth > FORMAT_MAX_DEPTH) return { ok: false, reason: `nesting deeper than ${FORMAT_MAX_DEPTH} levels` };
  if (j === null || typeof j === 'string') return { ok: true, value: j };
  if (typeof j === 'boolean') return { ok: true, value: j ? 'YES' : 'NO' };
  if (typeof j === 'number') return Number.isSafeInteger(j) ? { ok: true, value: j } : { ok: false, reason: `${j} is not a whole number the data format can carry` };
  if (Array.isArray(j)) {
    const out: CgValue[] = [];
    for (const x of j) {
      const r = fromJson(x, depth + 1);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return { ok: true, value: out };
  }
  if (typeof j === 'object') {
    const o = j as Record<string, unknown>;
    const s = special(o);
    if (s) return s;
    const out: CgDict = dict();
    for (const [k, x] of Object.entries(o)) {
      const r = fromJson(x, depth + 1);
      if (!r.ok) return { ok: false, reason: `${JSON.stringify(k.slice(0, 64))}: ${r.reason}` };
      out[k] = r.value;
    }
    return { ok: true, value: out };
  }
  return { ok: false, reason: `a ${typeof j} is not a value` };
}

