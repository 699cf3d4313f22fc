/** CAPABILITY (RFC 9051 §6.1.1): what this connection offers now (A8: LOGINDISABLED, AUTH=...). */
import { line } from '../replies.js';
import { noArgs, type ImapCommand } from './types.js';

export const capability: ImapCommand<null> = {
  name: 'CAPABILITY',
  states: ['not-authenticated'],
  parse: noArgs,
  async run(ctx, tag) {
    const policy = await ctx.policy();
    return [line(`* CAPABILITY ${policy.capabilities.join(' ')}`), line(`${tag} OK Capability completed`)];
  },
};
