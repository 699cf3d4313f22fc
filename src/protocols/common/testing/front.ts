/**
 * A real listener in front of a protocol session, for runs with independent clients (python
 * imaplib/poplib, curl, gsasl): a STARTTLS listener that forbids clear text before TLS, one that
 * allows it, and an implicit-TLS one, all on port 0, with the test certificate made for
 * `localhost` (so clients that check the name can be given its CA).
 */
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ListenerConfig } from '../../../settings/schema.js';
import { TlsContextResolver } from '../../../tls/context.js';
import { makeTestCertificate } from '../../../tls/test-certificate.js';
import { ListenerSet } from '../listener.js';
import type { ServiceName, SessionFactory } from '../session.js';

export interface Front {
  /** STARTTLS, ClearTextLogin tls-only. */
  starttls: number;
  /** STARTTLS, ClearTextLogin always. */
  clearAllowed: number;
  implicit: number;
  /** PEM file of the CA that signed the test certificate. */
  caFile: string;
  close(): Promise<void>;
}

const cfg = (TLS: ListenerConfig['TLS'], ClearTextLogin: ListenerConfig['ClearTextLogin']): ListenerConfig =>
  ({ Address: '127.0.0.1', Port: 0, TLS, Grant: [], Deny: [], ProxyFrom: [], ClearTextLogin });

export async function startFront(service: ServiceName, sessionFactory: SessionFactory): Promise<Front> {
  const cert = await makeTestCertificate('localhost');
  const resolver = new TlsContextResolver({ testCertificate: cert });
  resolver.setDomains([], 'localhost');
  const dir = await mkdtemp(join(tmpdir(), 'mw-front-'));
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, cert.chainPem);
  const set = new ListenerSet({ service, tls: resolver, sessionFactory });
  const problems = await set.update([cfg('starttls', 'tls-only'), cfg('starttls', 'always'), cfg('implicit', 'tls-only')]);
  if (problems.length > 0) throw new Error(`listeners: ${JSON.stringify(problems)}`);
  const [a, b, c] = set.bound();
  return {
    starttls: a!.port, clearAllowed: b!.port, implicit: c!.port, caFile,
    async close() {
      await set.close({ connections: 'destroy' });
      resolver.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
