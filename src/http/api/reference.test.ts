// W3: docs/api.md and docs/openapi.json are generated from the command table; this keeps them equal
// to what the code does (regenerate with `mailward api-reference > docs/api.md` and
// `mailward api-reference --openapi > docs/openapi.json`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { COMMANDS } from '../../admin/cli/commands.js';
import { apiReference, openApiJson } from './reference.js';

test('W3: docs/api.md is what `mailward api-reference` prints, and names every command', async () => {
  const doc = await readFile('docs/api.md', 'utf8');
  assert.equal(doc, apiReference());
  for (const c of COMMANDS) assert.ok(doc.includes(`### ${c.name}`), c.name);
});

test('W3: docs/openapi.json is what `mailward api-reference --openapi` prints, a JSON OpenAPI 3.1 document', async () => {
  const text = await readFile('docs/openapi.json', 'utf8');
  assert.equal(text, openApiJson());
  const doc = JSON.parse(text) as { openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };
  assert.equal(doc.openapi, '3.1.0');
  // Every $ref points at something that exists.
  for (const m of text.matchAll(/"\$ref": "#\/components\/(schemas|responses)\/([A-Za-z]+)"/g)) {
    const table = (doc.components as unknown as Record<string, Record<string, unknown>>)[m[1] as string];
    assert.ok(table?.[m[2] as string], `missing ${m[0]}`);
  }
});

test('W3: docs/openapi.json passes an independent OpenAPI 3.1 validator (openapi-spec-validator)', async () => {
  const probe = spawnSync('python3', ['-c', 'import openapi_spec_validator'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `python3 with the openapi_spec_validator module is needed (pip package openapi-spec-validator, part of the machine image's Python): ${probe.stderr}`);
  const r = spawnSync('python3', ['-c', 'import json,sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))\nprint("valid")', 'docs/openapi.json'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'valid');
});
