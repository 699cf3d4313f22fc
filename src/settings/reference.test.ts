// The configuration reference in docs/ is generated from the schema; this keeps the two equal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { configurationReference } from './reference.js';

test('docs/configuration.md is what `mailward settings-reference` prints (regenerate it after changing the schema)', async () => {
  assert.equal(await readFile('docs/configuration.md', 'utf8'), configurationReference());
});
