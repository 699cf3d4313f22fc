/** LOGOUT (RFC 9051 §6.1.3): untagged BYE, tagged OK, then the server closes. */
import { line } from '../replies.js';
import { noArgs, type ImapCommand } from './types.js';

export const logout: ImapCommand<null> = {
  name: 'LOGOUT',
  states: ['not-authenticated'],
  parse: noArgs,
  async run(ctx, tag) {
    ctx.state = { kind: 'closed' };
    return [line('* BYE Logging out'), line(`${tag} OK Logout completed`), { type: 'close', reason: 'logout' }];
  },
};
