// R5 at the service layer: every right × every operation, allowed or refused as the table says.
// The web, API and CLI tests drive the same table through their interfaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMailwardError } from '../core/errors.js';
import { MATRIX_ACTORS, RIGHTS_MATRIX } from './rights-matrix.js';
import { makeMatrixFixture } from './rights-matrix.fixture.js';

test('R5: the rights matrix holds at the service layer', async () => {
  const f = await makeMatrixFixture();
  try {
    let cells = 0;
    for (const cell of RIGHTS_MATRIX) {
      for (const who of MATRIX_ACTORS) {
        const tag = `${cells++}`;
        await f.prepare(cell, tag);
        const actor = await f.actor(who);
        const fn = f.admin[cell.method] as (...a: unknown[]) => Promise<unknown>;
        let allowed: boolean;
        try {
          await fn.call(f.admin, actor, ...cell.args(tag));
          allowed = true;
        } catch (e) {
          if (!isMailwardError(e, 'directory.refused') && !isMailwardError(e, 'directory.notFound')) throw e;
          allowed = false;
        }
        assert.equal(allowed, cell.allowed.includes(who), `${who} → ${cell.op}`);
      }
    }
    assert.equal(cells, RIGHTS_MATRIX.length * MATRIX_ACTORS.length);
  } finally {
    await f.close();
  }
});

test('R5: a delegated domain admin cannot tell an unknown domain from a forbidden one', async () => {
  const f = await makeMatrixFixture();
  try {
    const da = await f.actor('DomainAdmin');
    const msg = async (p: Promise<unknown>) => { try { await p; return 'allowed'; } catch (e) { return (e as Error).message.replace(/example\.com|nowhere\.test/, 'X'); } };
    assert.equal(await msg(f.admin.getDomainSettings(da, 'example.com')), await msg(f.admin.getDomainSettings(da, 'nowhere.test')));
    assert.equal(await msg(f.admin.listAccounts(da, 'example.com')), await msg(f.admin.listAccounts(da, 'nowhere.test')));
    assert.deepEqual(await f.admin.listDomains(da), ['corp.test']);
  } finally {
    await f.close();
  }
});
