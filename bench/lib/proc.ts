/**
 * What the kernel says a server costs: CPU time of a whole process tree from /proc/<pid>/stat,
 * and memory as PSS from /proc/<pid>/smaps_rollup. PSS (proportional set size) splits each
 * shared page among the processes that map it, so a tree of forked workers is not counted
 * several times for the pages they share (RSS would be).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/** Clock ticks per second for /proc/<pid>/stat times (USER_HZ; 100 on every Linux we run on,
 *  read from getconf when it is there). */
export const CLOCK_TICKS: number = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

export interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime of the process itself, in ticks. */
  own: number;
  /** cutime + cstime: children that exited and were waited for, in ticks. */
  reaped: number;
}

/** Parses one /proc/<pid>/stat line. The comm field is in parentheses and may hold spaces or
 *  parentheses itself, so the fields are counted from the last ')'. */
export function parseStat(pid: number, text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime 15, cutime 16, cstime 17; ppid is 4.
  const f = (n: number): number => Number(rest[n - 3]);
  const own = f(14) + f(15);
  const reaped = f(16) + f(17);
  if (!Number.isFinite(own) || !Number.isFinite(reaped)) return null;
  return { pid, comm: text.slice(open + 1, close), ppid: f(4), own, reaped };
}

function readStat(pid: number): ProcStat | null {
  try { return parseStat(pid, readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return null; }
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** The live processes of the tree rooted at `root` (root first). */
export function tree(root: number): ProcStat[] {
  const stats = allStats();
  const byParent = new Map<number, ProcStat[]>();
  for (const s of stats) {
    const l = byParent.get(s.ppid) ?? [];
    l.push(s);
    byParent.set(s.ppid, l);
  }
  const top = stats.find((s) => s.pid === root);
  if (!top) return [];
  const out: ProcStat[] = [];
  const stack = [top];
  while (stack.length) {
    const s = stack.pop() as ProcStat;
    out.push(s);
    for (const c of byParent.get(s.pid) ?? []) stack.push(c);
  }
  return out;
}

/** CPU seconds used so far by the trees rooted at `roots`: every live process's own time, plus
 *  the time of children that exited and were reaped (counted in their parent's cutime/cstime).
 *  With `only`, just the processes whose comm passes the filter, own time only (e.g. Dovecot's
 *  imap-login and auth processes: its pre-authentication side). */
export function treeCpuSeconds(roots: readonly number[], only?: (comm: string) => boolean): number {
  let ticks = 0;
  for (const root of roots) {
    for (const s of tree(root)) {
      if (only) { if (only(s.comm)) ticks += s.own; continue; }
      ticks += s.own + s.reaped;
    }
  }
  return ticks / CLOCK_TICKS;
}

/** PSS of one process in bytes (0 when it is gone). */
export function pssBytes(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** PSS of every live process of the trees, in bytes; `only` as for treeCpuSeconds. */
export function treePssBytes(roots: readonly number[], only?: (comm: string) => boolean): number {
  let sum = 0;
  for (const root of roots) for (const s of tree(root)) if (!only || only(s.comm)) sum += pssBytes(s.pid);
  return sum;
}

/** Pins every thread of every process of the tree to the given CPUs (taskset -a). New children
 *  inherit the mask of the process that forks them. */
export function pinTree(root: number, cpus: string): void {
  for (const s of tree(root)) spawnSync('taskset', ['-a', '-cp', cpus, String(s.pid)], { stdio: 'ignore' });
}
