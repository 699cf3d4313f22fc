/**
 * The one door to @peculiar/x509. The library resolves its ASN.1 schema through tsyringe, which
 * needs the Reflect metadata polyfill loaded first; and it signs through WebCrypto, which on Node
 * is `crypto.webcrypto` (OpenSSL underneath, signing off the event loop). Importing x509 from here
 * guarantees both are set before any certificate is parsed or made.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
