/**
 * PLAIN client (RFC 4616): the whole message is the initial response. Where the protocol cannot
 * carry it, the caller sends it in answer to the server's first, empty challenge (see
 * SaslClientStart); any challenge reaching `next` is therefore unexpected.
 */
import { SaslClientError, type SaslClientCredentials, type SaslClientMechanism } from './index.js';

export function plainClient(creds: SaslClientCredentials): SaslClientMechanism {
  if (creds.authcid === '' || creds.password === '') throw new SaslClientError('PLAIN needs an authcid and a password');
  if ([creds.authcid, creds.password, creds.authzid ?? ''].some((s) => s.includes('\0'))) {
    throw new SaslClientError('PLAIN fields cannot contain NUL');
  }
  const message = Buffer.from(`${creds.authzid ?? ''}\0${creds.authcid}\0${creds.password}`, 'utf8');
  return {
    name: 'PLAIN',
    start() {
      return { initial: message };
    },
    next() {
      throw new SaslClientError('unexpected PLAIN challenge');
    },
  };
}
