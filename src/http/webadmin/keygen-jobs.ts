/**
 * Key generation in the background (T5): an RSA 4096 key can take seconds, longer than a browser
 * should wait on one request. The POST starts a job and redirects to a progress page that reloads
 * itself with a meta refresh (no script needed) until the job is done; the key is then stored
 * through the service, with the rights of the administrator who asked.
 */
import { randomToken } from '../common/sessions.js';
import type { KeyKind } from '../../tls/keys.js';

/** Key generations running at once, server-wide: each occupies a thread of libuv's pool (4 by
 *  default, shared with file I/O and password hashing); two leave room for the rest. */
export const KEYGEN_MAX_RUNNING = 2;

/** How long a finished job is kept for its progress page to find it. */
export const KEYGEN_RESULT_TTL_MS = 10 * 60 * 1000;

/** Most jobs remembered (finished ones included): bounds memory whatever the traffic. */
export const KEYGEN_MAX_JOBS = 100;

export interface KeygenJob {
  id: string;
  /** Only the session that started a job may look at it. */
  sessionId: string;
  domain: string;
  kind: KeyKind;
  started: number;
  state: 'running' | 'done' | 'failed';
  message?: string;
  finished?: number;
}

export class KeygenJobs {
  private readonly jobs = new Map<string, KeygenJob>();

  running(): number {
    let n = 0;
    for (const j of this.jobs.values()) if (j.state === 'running') n++;
    return n;
  }

  /** Starts a job; null when too many are running. `work` generates and stores the key (through
   *  the service) and returns a message for the page, or throws to fail the job. */
  start(sessionId: string, domain: string, kind: KeyKind, work: () => Promise<string>): KeygenJob | null {
    this.sweep();
    if (this.running() >= KEYGEN_MAX_RUNNING || this.jobs.size >= KEYGEN_MAX_JOBS) return null;
    const job: KeygenJob = { id: randomToken(), sessionId, domain, kind, started: Date.now(), state: 'running' };
    this.jobs.set(job.id, job);
    void (async () => {
      try {
        job.message = await work();
        job.state = 'done';
      } catch (e) {
        job.state = 'failed';
        job.message = e instanceof Error ? e.message : String(e);
      } finally {
        job.finished = Date.now();
      }
    })();
    return job;
  }

  get(id: string, sessionId: string): KeygenJob | null {
    const j = this.jobs.get(id);
    return j && j.sessionId === sessionId ? j : null;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, j] of this.jobs) if (j.finished !== undefined && now - j.finished > KEYGEN_RESULT_TTL_MS) this.jobs.delete(id);
  }
}
