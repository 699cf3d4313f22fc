/**
 * ID (RFC 2971): the client may say who it is; we answer with our name only (no version: a
 * version string only helps an attacker pick an exploit). The client's parameters are logged at
 * the lowest level for troubleshooting and otherwise dropped: the relay sends its own ID with the
 * client's address to the backend.
 */
import { decodeUtf8 } from '../../../sasl/text.js';
import { ID_MAX_FIELD, ID_MAX_PAIRS, ID_MAX_VALUE } from '../limits.js';
import { line } from '../replies.js';
import { nstring } from '../syntax.js';
import type { ImapCommand } from './types.js';

export type IdArgs = { params: Array<[string, string | null]> | null };

/** Control characters would let a value forge log lines; ID values are display text. */
const PRINTABLE = /^[^\x00-\x1f\x7f]*$/;

export const SERVER_ID = '("name" "Mailward")';

export const id: ImapCommand<IdArgs> = {
  name: 'ID',
  states: ['not-authenticated'],
  parse(args) {
    if (args.length !== 1) return { ok: false, reason: 'ID takes one argument' };
    const a = args[0]!;
    if (a.type === 'atom') return a.value.toUpperCase() === 'NIL' ? { ok: true, args: { params: null } } : { ok: false, reason: 'ID takes NIL or a list' };
    if (a.type !== 'list') return { ok: false, reason: 'ID takes NIL or a list' };
    if (a.items.length % 2 !== 0) return { ok: false, reason: 'ID list must hold field/value pairs' };
    if (a.items.length / 2 > ID_MAX_PAIRS) return { ok: false, reason: 'too many ID fields' };
    const params: Array<[string, string | null]> = [];
    for (let i = 0; i < a.items.length; i += 2) {
      const f = a.items[i]!;
      if (f.type !== 'string') return { ok: false, reason: 'ID field must be a string' };
      const v = nstring(a.items[i + 1]);
      if (v === undefined) return { ok: false, reason: 'ID value must be a string or NIL' };
      if (f.value.length > ID_MAX_FIELD) return { ok: false, reason: 'ID field too long' };
      if (v !== null && v.length > ID_MAX_VALUE) return { ok: false, reason: 'ID value too long' };
      const field = decodeUtf8(f.value);
      const value = v === null ? null : decodeUtf8(v);
      if (field === null || (v !== null && value === null)) return { ok: false, reason: 'ID text must be UTF-8' };
      if (!PRINTABLE.test(field) || (value !== null && !PRINTABLE.test(value))) return { ok: false, reason: 'control character in ID' };
      params.push([field, value]);
    }
    return { ok: true, args: { params } };
  },
  async run(ctx, tag, args) {
    if (args.params) ctx.log.low('client.id', { id: Object.fromEntries(args.params.map(([k, v]) => [k.slice(0, ID_MAX_FIELD), v])) });
    return [line(`* ID ${SERVER_ID}`), line(`${tag} OK ID completed`)];
  },
};
