/**
 * Starts Mailward's multi-core mode for the benchmark (until `mailward start` gets a workers
 * option): node mailward-cluster.js DATA_DIR WORKERS. The primary prints the same
 * "Mailward started" line as `mailward start` and stops on SIGTERM.
 */
import { startCluster } from '../src/cluster.js';

const [dataDir, workers] = process.argv.slice(2);
const handle = await startCluster(dataDir ?? '', { workers: Number(workers ?? '1'), print: (l) => process.stdout.write(`${l}\n`) });
const keepAlive = setInterval(() => {}, 1 << 30);
process.once('SIGTERM', () => { clearInterval(keepAlive); void handle.stop(); });
