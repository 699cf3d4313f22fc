/**
 * USER (RFC 1939 §7), first half of the regular login (A5). Refused before TLS where the listener
 * forbids clear text (A8; CAPA does not list USER then). The answer never says whether the
 * mailbox exists (H1): that is decided, with the password, at PASS.
 */
import { PLAIN_MAX_IDENTITY } from '../../../sasl/mechs/plain.js';
import { decodeUtf8 } from '../../../sasl/text.js';
import { line, pop3LoginReply } from '../replies.js';
import { AUTHORIZATION, type Pop3Command } from './types.js';

const CONTROL = /[\x00-\x1f\x7f]/;

export const user: Pop3Command<{ name: string }> = {
  name: 'USER',
  states: AUTHORIZATION,
  parse(l) {
    if (l.rest.length === 0) return { ok: false, reason: 'USER takes a name' };
    if (l.rest.length > PLAIN_MAX_IDENTITY) return { ok: false, reason: 'name too long' };
    const name = decodeUtf8(l.rest);
    if (name === null) return { ok: false, reason: 'name is not UTF-8' };
    if (CONTROL.test(name) || name.includes(' ')) return { ok: false, reason: 'invalid name' };
    return { ok: true, args: { name } };
  },
  async run(ctx, { name }) {
    const policy = await ctx.policy();
    if (!policy.clearText) {
      ctx.state = { kind: 'authorization' };
      return pop3LoginReply({ status: 'clear-text-disabled' });
    }
    ctx.state = { kind: 'user-given', user: name };
    return [line('+OK Send your password')];
  },
};
