/** NOOP (RFC 9051 §6.1.2): keeps the connection alive; nothing else before login. */
import { line } from '../replies.js';
import { noArgs, type ImapCommand } from './types.js';

export const noop: ImapCommand<null> = {
  name: 'NOOP',
  states: ['not-authenticated'],
  parse: noArgs,
  async run(_ctx, tag) {
    return [line(`${tag} OK NOOP completed`)];
  },
};
