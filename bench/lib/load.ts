/**
 * Runs an operation in a closed loop (a fixed number of clients, each starting its next
 * operation when the last one ended) for a fixed time, and measures, for the server's process
 * tree: CPU seconds per operation (from /proc), the rate, and the generator's own CPU use, which
 * tells whether the generator limited the rate.
 */
import { treeCpuSeconds } from './proc.js';

export interface CpuProbe {
  /** CPU seconds used so far by the server's side (its process tree, or the part of it that
   *  the row measures). */
  cpu(): number;
}

export interface RunResult {
  ops: number;
  errors: number;
  firstError?: string;
  wallS: number;
  serverCpuS: number;
  /** Server CPU per operation, µs. */
  usPerOp: number;
  /** Operations per second. */
  rate: number;
  /** Generator CPU as a share of one core (1 = it used its whole core: it may be the limit). */
  generatorLoad: number;
  /** Latency of each operation, ms (only when asked). */
  latencies?: number[];
}

export function probe(roots: readonly number[], only?: (comm: string) => boolean): CpuProbe {
  return { cpu: () => treeCpuSeconds(roots, only) };
}

export function combine(...ps: CpuProbe[]): CpuProbe {
  return { cpu: () => ps.reduce((s, p) => s + p.cpu(), 0) };
}

/** Stops a run whose operations fail this often: a broken setup must not be reported as a rate. */
export const MAX_ERROR_SHARE = 0.01;

export async function runFor(op: () => Promise<void>, o: {
  concurrency: number; durationMs: number; warmupMs: number; server: CpuProbe; keepLatencies?: boolean;
}): Promise<RunResult> {
  const loop = async (untilMs: number, sink: { ops: number; errors: number; first?: string; lat?: number[] }): Promise<void> => {
    while (Date.now() < untilMs) {
      const t = performance.now();
      try {
        await op();
        sink.ops++;
        sink.lat?.push(performance.now() - t);
      } catch (e) {
        sink.errors++;
        sink.first ??= e instanceof Error ? e.message : String(e);
        // A failing server must not turn the loop into a busy spin.
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  const warm = { ops: 0, errors: 0 };
  const wu = Date.now() + o.warmupMs;
  await Promise.all(Array.from({ length: o.concurrency }, () => loop(wu, warm)));
  const sink: { ops: number; errors: number; first?: string; lat?: number[] } = { ops: 0, errors: 0, ...(o.keepLatencies ? { lat: [] } : {}) };
  const cpu0 = o.server.cpu();
  const gen0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: o.concurrency }, () => loop(Date.now() + o.durationMs, sink)));
  const wallS = (performance.now() - t0) / 1000;
  const gen = process.cpuUsage(gen0);
  const serverCpuS = o.server.cpu() - cpu0;
  const r: RunResult = {
    ops: sink.ops, errors: sink.errors, wallS, serverCpuS,
    usPerOp: sink.ops > 0 ? (serverCpuS * 1e6) / sink.ops : NaN,
    rate: sink.ops / wallS,
    generatorLoad: (gen.user + gen.system) / 1e6 / wallS,
    ...(sink.lat ? { latencies: sink.lat } : {}),
    ...(sink.first ? { firstError: sink.first } : {}),
  };
  if (sink.ops === 0 || sink.errors > MAX_ERROR_SHARE * (sink.ops + sink.errors)) {
    throw new Error(`too many failed operations: ${sink.errors} of ${sink.ops + sink.errors} (first: ${sink.first ?? '?'})`);
  }
  return r;
}
