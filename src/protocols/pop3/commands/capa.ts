/** CAPA (RFC 2449 §5): what this connection offers now (A8: USER only where clear text is allowed). */
import { line } from '../replies.js';
import { AUTHORIZATION, noArgs, type Pop3Command } from './types.js';

export const capa: Pop3Command<null> = {
  name: 'CAPA',
  states: AUTHORIZATION,
  parse: noArgs,
  async run(ctx) {
    const policy = await ctx.policy();
    return [line('+OK Capability list follows'), ...policy.capabilities.map((c) => line(c)), line('.')];
  },
};
