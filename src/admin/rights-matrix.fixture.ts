/**
 * The R5 matrix fixture: a data directory with the two domains and the actor accounts of
 * rights-matrix.ts, each actor with exactly its one right and the password ACTOR_PASSWORD.
 * Shared by the matrix tests of every interface.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFileStore } from '../settings/backends/files/index.js';
import { dict } from '../settings/format/types.js';
import { Directory } from '../directory/directory.js';
import { PasswordService } from '../auth/password-service.js';
import { AuthEngine } from '../auth/engine.js';
import { InProcessLockout } from '../auth/lockout.js';
import { AdminService, type Actor } from './service.js';
import { ACTOR_LOGINS, cellPreconditions, type MatrixActor, type MatrixCell } from './rights-matrix.js';
import type { Right } from '../directory/rights.js';

export const ACTOR_PASSWORD = 'matrix-password-1';

export interface MatrixFixture {
  dataDir: string;
  directory: Directory;
  passwords: PasswordService;
  admin: AdminService;
  actor(who: MatrixActor): Promise<Actor>;
  /** Creates what a cell needs (the domain or account it renames or deletes). */
  prepare(cell: MatrixCell, tag: string): Promise<void>;
  close(): Promise<void>;
}

export async function makeMatrixFixture(): Promise<MatrixFixture> {
  const root = await mkdtemp(join(tmpdir(), 'mw-matrix-'));
  const dataDir = join(root, 'data');
  const store = await openFileStore(dataDir);
  await store.put({ kind: 'server' }, dict({ MainDomainName: 'example.com', LoginFailureLimit: '0', LoginFailureDelay: '0s' }));
  const directory = new Directory(store);
  const passwords = new PasswordService(directory);
  // The engine as lock-out port, as in the running server, so the lock-out cells run too.
  const engine = new AuthEngine({ directory, lockout: new InProcessLockout(), passwords });
  const admin = new AdminService(directory, passwords, engine);
  const local: Actor = { kind: 'local' };
  await admin.createDomain(local, 'example.com');
  await admin.createDomain(local, 'corp.test');
  for (const [who, login] of Object.entries(ACTOR_LOGINS) as [MatrixActor, string][]) {
    await admin.createAccount(local, login, dict(), ACTOR_PASSWORD);
    if (who !== 'none') await admin.setAccountRights(local, login, [who as Right]);
  }
  await admin.createAccount(local, 'user@corp.test', dict(), ACTOR_PASSWORD);
  await admin.createAccount(local, 'target@example.com', dict(), ACTOR_PASSWORD);
  return {
    dataDir,
    directory,
    passwords,
    admin,
    async actor(who) {
      const [account, domain] = ACTOR_LOGINS[who].split('@') as [string, string];
      return { kind: 'account', domain, account, rights: await directory.effectiveRights(domain, account) };
    },
    async prepare(cell, tag) {
      const p = cellPreconditions(cell, tag);
      for (const d of p.domains) await admin.createDomain(local, d);
      for (const a of p.accounts) await admin.createAccount(local, a);
    },
    async close() {
      await store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
