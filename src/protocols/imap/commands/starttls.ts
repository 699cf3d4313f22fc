/**
 * STARTTLS (RFC 9051 §6.2.1, RFC 2595): answer, then upgrade. The listener discards anything the
 * client pipelined after the command (T1); `onTlsStarted` then starts the session afresh.
 */
import { line } from '../replies.js';
import { noArgs, type ImapCommand } from './types.js';

export const starttls: ImapCommand<null> = {
  name: 'STARTTLS',
  states: ['not-authenticated'],
  parse: noArgs,
  async run(ctx, tag) {
    if (ctx.info.secure) return { bad: 'TLS is already active' };
    if (!ctx.info.startTlsAvailable) return { bad: 'STARTTLS is not available' };
    ctx.state = { kind: 'tls-negotiation' };
    ctx.log.low('starttls');
    return [line(`${tag} OK Begin TLS negotiation now`), { type: 'starttls' }];
  },
};
