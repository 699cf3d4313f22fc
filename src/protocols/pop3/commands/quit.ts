/** QUIT (RFC 1939 §6): before login there is nothing to update; say goodbye and close. */
import { line } from '../replies.js';
import { AUTHORIZATION, noArgs, type Pop3Command } from './types.js';

export const quit: Pop3Command<null> = {
  name: 'QUIT',
  states: AUTHORIZATION,
  parse: noArgs,
  async run(ctx) {
    ctx.state = { kind: 'closed' };
    return [line(`+OK ${ctx.hostname} Mailward signing off`), { type: 'close', reason: 'quit' }];
  },
};
