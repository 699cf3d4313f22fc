/**
 * In-process locks keyed by string. The data-directory lock file keeps other processes out; these
 * keep the asynchronous operations of this process from interleaving, so that a compare-and-set
 * (read revision, compare, write) is atomic and a domain is not deleted while a write inside it is
 * between its temporary file and its rename.
 *
 * Each key is a readers-writer lock, granted in arrival order (a steady flow of readers cannot
 * starve a writer). Several keys are always taken in sorted order, so two operations that need the
 * same keys cannot deadlock. The table is module-wide, so two store objects on the same directory
 * in one process still exclude each other; keys carry the absolute data-directory path.
 */

interface Waiter { exclusive: boolean; grant: () => void }

class RwLock {
  readers = 0;
  writer = false;
  readonly queue: Waiter[] = [];

  acquire(exclusive: boolean): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push({ exclusive, grant: resolve });
      this.pump();
    });
  }

  release(exclusive: boolean): void {
    if (exclusive) this.writer = false;
    else this.readers--;
    this.pump();
  }

  idle(): boolean {
    return !this.writer && this.readers === 0 && this.queue.length === 0;
  }

  private pump(): void {
    for (;;) {
      const head = this.queue[0];
      if (!head || this.writer) return;
      if (head.exclusive) {
        if (this.readers > 0) return;
        this.writer = true;
      } else {
        this.readers++;
      }
      this.queue.shift();
      head.grant();
    }
  }
}

const table = new Map<string, RwLock>();

export interface LockRequest { key: string; exclusive: boolean }

/** Runs `fn` holding every requested lock; a key asked for twice is taken once, exclusive if either asks. */
export async function withLocks<T>(requests: readonly LockRequest[], fn: () => Promise<T>): Promise<T> {
  const merged = new Map<string, boolean>();
  for (const r of requests) merged.set(r.key, (merged.get(r.key) ?? false) || r.exclusive);
  const keys = [...merged.keys()].sort();
  const held: { key: string; lock: RwLock; exclusive: boolean }[] = [];
  try {
    for (const key of keys) {
      let lock = table.get(key);
      if (!lock) { lock = new RwLock(); table.set(key, lock); }
      const exclusive = merged.get(key) ?? true;
      await lock.acquire(exclusive);
      held.push({ key, lock, exclusive });
    }
    return await fn();
  } finally {
    for (const h of held.reverse()) {
      h.lock.release(h.exclusive);
      if (h.lock.idle() && table.get(h.key) === h.lock) table.delete(h.key);
    }
  }
}

/** How many keys have a lock object (held or waited for): 0 when nothing runs. For tests. */
export function activeLockCount(): number {
  return table.size;
}
