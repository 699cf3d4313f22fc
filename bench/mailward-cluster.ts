/**
 * The benchmark's multi-core Mailward: exactly `mailward start --data DATA_DIR --workers WORKERS`
 * (node mailward-cluster.js DATA_DIR WORKERS), the command an administrator runs. One worker is
 * the ordinary single process (the 1-core row of the scaling section); more are the multi-core
 * mode, whose workers ask the primary for the shared lock-out counters (H2) at each login, so
 * that cost is in the figures. It prints the start banner and stops on SIGTERM like the command.
 * (bench/lib/mailward.ts may call bin/mailward.js with --workers directly instead.)
 */
import { main } from '../src/cli/main.js';

const [dataDir, workers] = process.argv.slice(2);
process.exitCode = await main(['start', '--data', dataDir ?? '', '--workers', workers ?? '1']);
