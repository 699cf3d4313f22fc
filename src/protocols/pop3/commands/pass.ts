/**
 * PASS (RFC 1939 §7): the password is the rest of the line, spaces included. The engine applies
 * every account rule (N2, H2, A7, H1); a failure returns to the start of AUTHORIZATION.
 */
import { PASSWORD_MAX_BYTES } from '../../../passwords/limits.js';
import { passwordLogin } from '../../common/login-flow.js';
import { pop3LoginReply } from '../replies.js';
import type { Pop3Command } from './types.js';

export const pass: Pop3Command<{ password: Buffer }> = {
  name: 'PASS',
  states: ['user-given'],
  parse(l) {
    if (l.rest.length > PASSWORD_MAX_BYTES) return { ok: false, reason: 'password too long' };
    return { ok: true, args: { password: l.rest } };
  },
  async run(ctx, { password }) {
    const state = ctx.state;
    if (state.kind !== 'user-given') return { bad: 'USER first' };
    ctx.state = { kind: 'authorization' };
    const policy = await ctx.policy();
    // A8 again: the setting may have changed since USER.
    if (!policy.clearText) return pop3LoginReply({ status: 'clear-text-disabled' });
    const { outcome, capture } = await passwordLogin(ctx.deps, ctx.info, { mode: 'POP', login: state.user, method: 'USER-PASS', password });
    if (outcome.status === 'ok') return ctx.loggedIn(outcome, capture);
    ctx.log.info('login.failed', { command: 'PASS', login: state.user, status: outcome.status });
    return pop3LoginReply(outcome);
  },
};
