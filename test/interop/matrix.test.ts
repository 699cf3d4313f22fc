// The matrix table printed in docs/interop.md is the one the matrix-*.test.ts files run: the
// document cannot drift from the tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cellName, GAPS, MATRIX, matrixMarkdown } from './matrix.js';

test('docs/interop.md holds the current matrix (regenerate with node dist/test/interop/matrix.js)', () => {
  const doc = readFileSync(new URL('../../../docs/interop.md', import.meta.url), 'utf8');
  assert.ok(doc.includes(matrixMarkdown()), 'docs/interop.md is out of date: paste the output of node dist/test/interop/matrix.js');
});

test('the matrix has no duplicate cell, and every left-out cell gives its reason', () => {
  const names = MATRIX.map(cellName);
  assert.equal(new Set(names).size, names.length);
  for (const g of GAPS) assert.ok(g.reason.length > 10, `${g.client} ${g.protocol}: a reason`);
  assert.ok(MATRIX.length >= 100, `${MATRIX.length} cells`);
});
