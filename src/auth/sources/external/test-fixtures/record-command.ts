/**
 * Stands in for `mailward account create` in the tests of examples/extauth-create-account.mjs (not
 * a test itself): appends its arguments as one JSON line to the file named by RECORD_FILE, then
 * exits 0, or 1 when an argument starts with `fail`, after SLEEP_MS milliseconds.
 */
import { appendFileSync } from 'node:fs';

const args = process.argv.slice(2);
const file = process.env.RECORD_FILE;
if (!file) process.exit(2);
setTimeout(() => {
  appendFileSync(file, JSON.stringify(args) + '\n');
  process.exit(args.some((a) => a.startsWith('fail')) ? 1 : 0);
}, Number(process.env.SLEEP_MS ?? '0'));
