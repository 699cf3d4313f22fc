/**
 * STLS (RFC 2595 §4): answer, then upgrade. The listener discards anything pipelined after the
 * command (T1); `onTlsStarted` then forgets the USER name and everything else learned before.
 */
import { line } from '../replies.js';
import { AUTHORIZATION, noArgs, type Pop3Command } from './types.js';

export const stls: Pop3Command<null> = {
  name: 'STLS',
  states: AUTHORIZATION,
  parse: noArgs,
  async run(ctx) {
    if (ctx.info.secure) return { bad: 'TLS is already active' };
    if (!ctx.info.startTlsAvailable) return { bad: 'STLS is not available' };
    ctx.state = { kind: 'tls-negotiation' };
    ctx.log.low('starttls');
    return [line('+OK Begin TLS negotiation'), { type: 'starttls' }];
  },
};
