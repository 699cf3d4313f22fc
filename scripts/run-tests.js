#!/usr/bin/env node
// Runs every compiled test file with node's own test runner, whose closing summary CI reads.
// Test files are dist/**/*.test.js (unit tests sit beside their code; cross-module ones in test/).
// Arguments narrow the run: `node scripts/run-tests.js sasl` runs the test files whose path has "sasl".
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk('dist', []).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (files.length === 0) {
  console.error('no test files found under dist/ (did the build run?)');
  process.exit(1);
}
const concurrency = process.env.MAILWARD_TEST_CONCURRENCY ?? '2';
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env: { ...process.env, MAILWARD_TEST: '1' },
});
process.exit(r.status ?? 1);
