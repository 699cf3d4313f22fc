/**
 * LOGIN client (draft-murchison-sasl-login): the first challenge gets the user name, the second
 * the password, whatever their text says ("Username:", "User Name", "VXNlcm5hbWU6" decoded...):
 * servers word them differently, and every widespread client answers by position.
 */
import { SaslClientError, type SaslClientCredentials, type SaslClientMechanism } from './index.js';

export function loginClient(creds: SaslClientCredentials): SaslClientMechanism {
  if (creds.authcid === '' || creds.password === '') throw new SaslClientError('LOGIN needs a user name and a password');
  if (creds.authzid !== undefined && creds.authzid !== '' && creds.authzid !== creds.authcid) {
    throw new SaslClientError('LOGIN cannot carry an authorization identity');
  }
  let turn = 0;
  return {
    name: 'LOGIN',
    start() {
      return { initial: null };
    },
    next() {
      turn += 1;
      if (turn === 1) return Buffer.from(creds.authcid, 'utf8');
      if (turn === 2) return Buffer.from(creds.password, 'utf8');
      throw new SaslClientError('unexpected third LOGIN challenge');
    },
  };
}
