/**
 * LOGIN (RFC 9051 §6.2.3), the regular login (A5): user name and password as atoms, quoted
 * strings or literals. Refused before TLS where the listener forbids clear text (A8,
 * LOGINDISABLED); the engine then applies every account rule (N2, H2, A7, H1).
 */
import { PASSWORD_MAX_BYTES } from '../../../passwords/limits.js';
import { PLAIN_MAX_IDENTITY } from '../../../sasl/mechs/plain.js';
import { decodeUtf8 } from '../../../sasl/text.js';
import { passwordLogin } from '../../common/login-flow.js';
import { loginReply } from '../replies.js';
import { astring } from '../syntax.js';
import type { ImapCommand } from './types.js';

export interface LoginArgs { user: string; password: Buffer }

const CONTROL = /[\x00-\x1f\x7f]/;

export const login: ImapCommand<LoginArgs> = {
  name: 'LOGIN',
  states: ['not-authenticated'],
  parse(args) {
    if (args.length !== 2) return { ok: false, reason: 'LOGIN takes a user name and a password' };
    const u = astring(args[0]);
    const p = astring(args[1]);
    if (u === null || p === null) return { ok: false, reason: 'LOGIN arguments must be strings' };
    if (u.length === 0) return { ok: false, reason: 'empty user name' };
    if (u.length > PLAIN_MAX_IDENTITY) return { ok: false, reason: 'user name too long' };
    if (p.length > PASSWORD_MAX_BYTES) return { ok: false, reason: 'password too long' };
    const user = decodeUtf8(u);
    if (user === null) return { ok: false, reason: 'user name is not UTF-8' };
    if (CONTROL.test(user)) return { ok: false, reason: 'control character in user name' };
    return { ok: true, args: { user, password: p } };
  },
  async run(ctx, tag, { user, password }) {
    const policy = await ctx.policy();
    // A8: the password is not even looked at, so a refused LOGIN never counts towards lock-out.
    if (!policy.clearText) return loginReply(tag, { status: 'clear-text-disabled' });
    const { outcome, capture } = await passwordLogin(ctx.deps, ctx.info, { mode: 'IMAP', login: user, method: 'LOGIN-COMMAND', password });
    if (outcome.status === 'ok') return ctx.loggedIn(tag, outcome, capture);
    ctx.log.info('login.failed', { command: 'LOGIN', login: user, status: outcome.status });
    return loginReply(tag, outcome);
  },
};
