/**
 * LOGIN (draft-murchison-sasl-login): "Username:" then "Password:", each answered in clear. Python's
 * smtplib sends the user name as an initial response (`AUTH LOGIN <b64 user>`), so an initial
 * response is the user name and the exchange goes straight to "Password:".
 */
import { malformed } from '../exchange.js';
import { decodeUtf8 } from '../text.js';
import type { SaslExchange, SaslMechanism, SaslStep } from '../mechanism.js';

/** Longest user name, in octets: `name@domain` with a 255-octet name and a 253-octet domain. */
export const LOGIN_MAX_IDENTITY = 512;
/** Longest password, in octets: any human passphrase fits; bounds the hashing work a client buys. */
export const LOGIN_MAX_PASSWORD = 1024;

export const LOGIN_USERNAME_CHALLENGE = Buffer.from('Username:', 'ascii');
export const LOGIN_PASSWORD_CHALLENGE = Buffer.from('Password:', 'ascii');

/** A user name must be UTF-8 text without NUL or line breaks (it ends up in logs and in
 *  the backend's LOGIN command); null plus a reason otherwise. */
export function checkLoginName(b: Buffer): { ok: true; name: string } | { ok: false; reason: string } {
  if (b.length === 0) return { ok: false, reason: 'empty user name' };
  if (b.length > LOGIN_MAX_IDENTITY) return { ok: false, reason: 'user name too long' };
  const name = decodeUtf8(b);
  if (name === null) return { ok: false, reason: 'user name not UTF-8' };
  if (/[\0\r\n]/.test(name)) return { ok: false, reason: 'control character in user name' };
  return { ok: true, name };
}

/** Password bytes go to the engine as sent (old clients use legacy charsets), but NUL and line
 *  breaks would be cut or reinterpreted by OS and external authentication: refused. */
export function checkLoginPassword(b: Buffer): { ok: true } | { ok: false; reason: string } {
  if (b.length === 0) return { ok: false, reason: 'empty password' };
  if (b.length > LOGIN_MAX_PASSWORD) return { ok: false, reason: 'password too long' };
  if (b.includes(0) || b.includes(0x0a) || b.includes(0x0d)) return { ok: false, reason: 'control character in password' };
  return { ok: true };
}

export const login: SaslMechanism = {
  name: 'LOGIN',
  needs: 'verify-plain',
  clearText: true,
  advertiseGroup: 'clear',
  start(ctx): SaslExchange {
    let state: 'initial' | 'awaiting-user' | 'awaiting-password' | 'done' = 'initial';
    let user = '';
    const takeUser = (input: Buffer): SaslStep => {
      const checked = checkLoginName(input);
      if (!checked.ok) {
        state = 'done';
        return malformed(checked.reason);
      }
      user = checked.name;
      state = 'awaiting-password';
      return { type: 'challenge', data: LOGIN_PASSWORD_CHALLENGE };
    };
    return {
      async step(input) {
        switch (state) {
          case 'initial':
            if (input === null) {
              state = 'awaiting-user';
              return { type: 'challenge', data: LOGIN_USERNAME_CHALLENGE };
            }
            return takeUser(input);
          case 'awaiting-user':
            if (input === null) {
              state = 'done';
              return malformed('missing response');
            }
            return takeUser(input);
          case 'awaiting-password': {
            state = 'done';
            if (input === null) return malformed('missing response');
            const checked = checkLoginPassword(input);
            if (!checked.ok) return malformed(checked.reason);
            const outcome = await ctx.port.authenticate({
              login: user,
              method: 'LOGIN',
              clearText: true,
              credential: { type: 'password', password: Buffer.from(input) },
            });
            if (outcome.status !== 'ok') return { type: 'failure', failure: outcome };
            return { type: 'success', outcome, authcid: user };
          }
          case 'done':
            return malformed('step after completion');
        }
      },
    };
  },
};
