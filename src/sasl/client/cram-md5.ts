/**
 * CRAM-MD5 client (RFC 2195): answers the server's challenge with `user SP hex(HMAC-MD5(password,
 * challenge))`. It proves knowledge of the password without sending it, but does not authenticate
 * the server; use it only where the backend offers nothing better.
 */
import { createHmac } from 'node:crypto';
import { SaslClientError, type SaslClientCredentials, type SaslClientMechanism } from './index.js';

/** Longest challenge we answer: RFC 2195 challenges are a msg-id of a few dozen octets; a huge
 *  one is a confused or hostile backend. */
export const CRAM_MD5_CLIENT_MAX_CHALLENGE = 1024;

export function cramMd5Client(creds: SaslClientCredentials): SaslClientMechanism {
  if (creds.authcid === '' || creds.password === '') throw new SaslClientError('CRAM-MD5 needs a user name and a password');
  if (creds.authzid !== undefined && creds.authzid !== '' && creds.authzid !== creds.authcid) {
    throw new SaslClientError('CRAM-MD5 cannot carry an authorization identity');
  }
  let answered = false;
  return {
    name: 'CRAM-MD5',
    start() {
      return { initial: null };
    },
    next(challenge) {
      if (answered) throw new SaslClientError('unexpected second CRAM-MD5 challenge');
      if (challenge.length === 0 || challenge.length > CRAM_MD5_CLIENT_MAX_CHALLENGE) throw new SaslClientError('bad CRAM-MD5 challenge length');
      answered = true;
      const digest = createHmac('md5', Buffer.from(creds.password, 'utf8')).update(challenge).digest('hex');
      return Buffer.from(`${creds.authcid} ${digest}`, 'utf8');
    },
  };
}
