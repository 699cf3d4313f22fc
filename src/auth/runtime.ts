/**
 * The password sources that run beside the engine, kept in step with the server settings: the
 * External Authentication program (E1, E4: started when enabled, restarted when its program or
 * arguments change, stopped when disabled) and the PAM checker (P6: one per PAM service name).
 */
import { logger, setModuleLevel } from '../core/log.js';
import type { ServerSettings } from '../settings/schema.js';
import type { OsPasswords } from './engine.js';
import { ExternalAuthenticator } from './sources/external/index.js';
import { OsPasswordChecker } from './sources/os/index.js';

const log = logger('AUTH');

export class ExternalAuthManager {
  private current: { key: string; ext: ExternalAuthenticator } | null = null;

  get(): ExternalAuthenticator | null {
    return this.current?.ext ?? null;
  }

  /** Applies the Helpers settings; returns once an old program (if replaced) has been stopped. */
  async reconfigure(s: ServerSettings): Promise<void> {
    setModuleLevel('EXTAUTH', s.ExtAuthLogLevel);
    const key = s.ExtAuthEnabled && s.ExtAuthProgram ? JSON.stringify([s.ExtAuthProgram, s.ExtAuthArguments, s.ExtAuthTimeout]) : '';
    if (this.current?.key === key) return;
    const old = this.current;
    this.current = null;
    if (key) {
      const ext = new ExternalAuthenticator({ program: s.ExtAuthProgram, args: s.ExtAuthArguments, requestTimeoutMs: s.ExtAuthTimeout * 1000 });
      ext.start();
      this.current = { key, ext };
      log.major('extauth.configured', { program: s.ExtAuthProgram });
    }
    if (old) await old.ext.stop();
  }

  async stop(): Promise<void> {
    const old = this.current;
    this.current = null;
    if (old) await old.ext.stop();
  }
}

/** OS passwords through the PAM helper, one checker per service name (the setting may change). */
export class PamPasswords implements OsPasswords {
  private readonly checkers = new Map<string, OsPasswordChecker>();

  async check(osUser: string, password: Buffer, service: string): Promise<'ok' | 'bad' | 'unavailable'> {
    let c = this.checkers.get(service);
    if (!c) {
      c = new OsPasswordChecker({ service });
      this.checkers.set(service, c);
    }
    const r = await c.check({ osUser, password });
    if (r.status === 'ok') return 'ok';
    if (r.status === 'bad' || r.status === 'unknown-user') return 'bad';
    return 'unavailable';
  }
}
