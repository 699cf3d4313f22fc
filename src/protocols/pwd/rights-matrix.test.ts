// R5 through the PWD/CLI: every cell of the shared rights matrix (src/admin/rights-matrix.ts), each
// actor logged in over PWD with its own account, each operation sent as its CommuniGate command:
// allowed cells answer 200/201, refused ones 501 with the refusal (or "unknown", for what the
// actor may not even see).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MATRIX_ACTORS, RIGHTS_MATRIX, ACTOR_LOGINS, type MatrixActor } from '../../admin/rights-matrix.js';
import { ACTOR_PASSWORD, makeMatrixFixture } from '../../admin/rights-matrix.fixture.js';
import { cellCommand, matrixEngine } from '../../admin/cli/testing/matrix.js';
import { PwdSession } from './session.js';
import { connectionInfo, render } from './testing/transcript.js';

test('R5: the rights matrix holds through the PWD/CLI interpreter, for every right and operation', async () => {
  const f = await makeMatrixFixture();
  try {
    const engine = await matrixEngine(f);
    const deps = { engine, admin: f.admin, serverSettings: async () => (await f.directory.serverSettings()).values, hostname: async () => 'mail.example.com' };
    const sessions = new Map<MatrixActor, PwdSession>();
    const say = async (s: PwdSession, line: string) => render(await s.onLine(Buffer.from(line, 'utf8'))).text;
    for (const who of MATRIX_ACTORS) {
      const s = new PwdSession(connectionInfo({ secure: true }), deps);
      await s.start();
      assert.equal(await say(s, `USER ${ACTOR_LOGINS[who]}`), '300 please send the PASS\r\n');
      assert.equal(await say(s, `PASS ${ACTOR_PASSWORD}`), '200 login OK, proceed\r\n', who);
      sessions.set(who, s);
    }
    let cells = 0;
    for (const cell of RIGHTS_MATRIX) {
      for (const who of MATRIX_ACTORS) {
        const tag = `p${cells++}`;
        await f.prepare(cell, tag);
        const { line } = cellCommand(cell, tag);
        const reply = await say(sessions.get(who) as PwdSession, `INLINE ${line}`);
        if (cell.allowed.includes(who)) assert.match(reply, /^20[01] /, `${who} → ${cell.op}: ${line} → ${reply}`);
        else assert.match(reply, /^501 (not allowed: |unknown (domain|account) )/, `${who} → ${cell.op}: ${line} → ${reply}`);
      }
    }
    assert.equal(cells, RIGHTS_MATRIX.length * MATRIX_ACTORS.length);
  } finally {
    await f.close();
  }
});
