// R5 through the JSON API: every cell of the shared rights matrix (src/admin/rights-matrix.ts), each
// request authenticated with HTTP Basic as the actor's own account: allowed cells answer 200,
// refused ones 403 (directory.refused) or 404 (directory.notFound: what the actor may not see).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { MATRIX_ACTORS, RIGHTS_MATRIX, ACTOR_LOGINS } from '../../admin/rights-matrix.js';
import { ACTOR_PASSWORD, makeMatrixFixture } from '../../admin/rights-matrix.fixture.js';
import { cellCommand, matrixEngine } from '../../admin/cli/testing/matrix.js';
import { registerApiRoutes } from './routes.js';
import { basic, TLS_CONN } from './testing/app.js';

test('R5: the rights matrix holds through the JSON API, for every right and operation', async () => {
  const f = await makeMatrixFixture();
  const app = Fastify({ logger: false });
  try {
    const engine = await matrixEngine(f);
    await registerApiRoutes(app, { admin: f.admin, engine, connection: () => TLS_CONN });
    await app.ready();
    let cells = 0;
    for (const cell of RIGHTS_MATRIX) {
      for (const who of MATRIX_ACTORS) {
        const tag = `j${cells++}`;
        await f.prepare(cell, tag);
        const { def, json } = cellCommand(cell, tag);
        const r = await app.inject({
          method: 'POST', url: `/api/v1/${def.name}`, payload: JSON.stringify(json),
          headers: { authorization: basic(ACTOR_LOGINS[who], ACTOR_PASSWORD), 'content-type': 'application/json' },
        });
        const what = `${who} → ${cell.op}: ${def.name} ${JSON.stringify(json)} → ${r.statusCode} ${r.body}`;
        if (cell.allowed.includes(who)) assert.equal(r.statusCode, 200, what);
        else {
          assert.ok(r.statusCode === 403 || r.statusCode === 404, what);
          assert.equal(r.json().error.code, r.statusCode === 403 ? 'directory.refused' : 'directory.notFound', what);
        }
      }
    }
    assert.equal(cells, RIGHTS_MATRIX.length * MATRIX_ACTORS.length);
  } finally {
    await app.close();
    await f.close();
  }
});
