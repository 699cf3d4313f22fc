/**
 * An OpenSSL-made test PKI, so that our certificates meet an independent implementation: a root
 * CA, an intermediate CA, and domain certificates issued by the intermediate from CSRs that
 * Mailward generated (the flow an administrator follows with a real CA).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { generatePrivateKey } from '../keys.js';
import { generateSigningRequest, type CertificateAttributes, type DomainNames } from '../certificates.js';
import { openssl, tempDir } from './tools.js';

export interface TestPki {
  dir: string;
  rootPem: string;
  intermediatePem: string;
  rootFile: string;
  /** Issues a certificate for a new Mailward key from a Mailward CSR, signed by the intermediate. */
  issue(domain: DomainNames, attrs: CertificateAttributes, opts?: { extraSan?: string[] }): Promise<{ keyPem: string; certPem: string }>;
  remove(): void;
}

export async function makeTestPki(): Promise<TestPki> {
  const t = tempDir('pki');
  const ok = async (args: string[]): Promise<void> => { const r = await openssl(args, { cwd: t.dir }); assert.equal(r.code, 0, `openssl ${args.join(' ')}\n${r.out}`); };
  writeFileSync(t.path('ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  await ok(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-subj', '/O=Mailward Tests/CN=Test Root CA', '-days', '3']);
  await ok(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'int.key', '-out', 'int.csr', '-subj', '/O=Mailward Tests/CN=Test Intermediate CA']);
  await ok(['x509', '-req', '-in', 'int.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-days', '3', '-extfile', 'ca.ext', '-out', 'int.pem']);
  let n = 0;
  return {
    dir: t.dir,
    rootPem: readFileSync(t.path('root.pem'), 'utf8'),
    intermediatePem: readFileSync(t.path('int.pem'), 'utf8'),
    rootFile: t.path('root.pem'),
    async issue(domain, attrs, opts = {}) {
      n += 1;
      const key = await generatePrivateKey('ecdsa-p256');
      const csr = await generateSigningRequest(key.pkcs8Pem, attrs, domain);
      assert.equal(csr.status, 'ok');
      if (csr.status !== 'ok') throw new Error('unreachable');
      writeFileSync(t.path(`d${n}.csr`), csr.pem);
      const san = [attrs.commonName, ...(opts.extraSan ?? [])].map((s) => `DNS:${s}`).join(',');
      writeFileSync(t.path(`d${n}.ext`), `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
      await ok(['x509', '-req', '-in', `d${n}.csr`, '-CA', 'int.pem', '-CAkey', 'int.key', '-CAcreateserial', '-days', '2', '-extfile', `d${n}.ext`, '-out', `d${n}.pem`]);
      return { keyPem: key.pkcs8Pem, certPem: readFileSync(t.path(`d${n}.pem`), 'utf8') };
    },
    remove: () => t.remove(),
  };
}
