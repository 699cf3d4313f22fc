// The store conformance suite (S1, R4) against the embedded file store, each test in a fresh
// temporary data directory.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreConformance } from '../../store.conformance.js';
import { openFileStore } from './store.js';

runStoreConformance('files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-store-'));
  const store = await openFileStore(join(dir, 'data'));
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});
