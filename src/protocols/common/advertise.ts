/**
 * The connection facts every protocol's pre-login policy starts from: what the link and the
 * server settings allow to be advertised (A6, A8, through src/sasl/advertise.ts), and the host
 * name a greeting may carry. IMAP and POP3 read the same answer, so one listener policy cannot
 * mean different things on two ports.
 */
import { advertisedMechanisms, mayAdvertiseClearText, type AdvertiseInput } from '../../sasl/advertise.js';
import type { ChannelBindingType } from '../../sasl/mechanism.js';
import type { ServerSettings } from '../../settings/schema.js';
import type { ConnectionInfo } from './session.js';

/** A channel binding this link offers. tls-info computes some only when read (a getter): such a
 *  key is there because the protocol has that binding, and reading it here would do the key
 *  derivation for every connection, SCRAM-PLUS or not; plain values count when non-empty. */
function offersChannelBinding(bindings: Partial<Record<ChannelBindingType, Buffer>>): boolean {
  for (const k of Object.keys(bindings)) {
    const d = Object.getOwnPropertyDescriptor(bindings, k);
    if (d === undefined) continue;
    if (d.get !== undefined) return true;
    const v = d.value as Buffer | undefined;
    if (v !== undefined && v.length > 0) return true;
  }
  return false;
}

export function advertiseInput(info: ConnectionInfo, settings: ServerSettings): AdvertiseInput {
  return {
    advertiseSecure: settings.AdvertiseSecureSASL,
    advertiseMSN: settings.AdvertiseMSN,
    advertiseNTLM: settings.AdvertiseNTLM,
    clearTextAllowed: info.clearTextLogin,
    linkSecure: info.secure,
    channelBindingAvailable: info.secure && info.tls !== undefined && offersChannelBinding(info.tls.channelBindings),
  };
}

let lastHostIn = '';
let lastHostOut = 'localhost';

/** Host names go into greetings: anything but a plain DNS name is replaced, so a bad setting
 *  cannot inject text into the protocol. (The answer for the last name is kept: every greeting
 *  asks about the same one.) */
export function safeHostname(name: string): string {
  if (name !== lastHostIn) {
    lastHostOut = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(name) ? name : 'localhost';
    lastHostIn = name;
  }
  return lastHostOut;
}

/** What a pre-login session offers now; each protocol's policy adds its own capability list. */
export interface PreLoginOffer {
  /** The server settings this answer was made from (read once per command). */
  settings: ServerSettings;
  /** The facts src/sasl/advertise.ts decided on (APOP is decided from them too). */
  input: AdvertiseInput;
  /** SASL mechanisms offered, also the only ones an AUTHENTICATE/AUTH accepts (A6, A8). */
  mechanisms: string[];
  /** A8: regular logins (LOGIN, USER/PASS) and the clear-text mechanisms may be used now. */
  clearText: boolean;
  /** STARTTLS/STLS can be used now. */
  startTls: boolean;
}

export function connectionOffer(info: ConnectionInfo, settings: ServerSettings): PreLoginOffer {
  const input = advertiseInput(info, settings);
  return {
    settings,
    input,
    mechanisms: advertisedMechanisms(input),
    clearText: mayAdvertiseClearText(input),
    startTls: info.startTlsAvailable && !info.secure,
  };
}

/**
 * A protocol's policy for this connection, made once per server settings object (the directory
 * hands out one per revision) and per combination of the link facts the policy depends on: the
 * greeting and the login command of every connection ask for it, and making it anew each time
 * was a few KiB of garbage per login. Policies are frozen: every connection shares them.
 */
export class PolicyCache<T extends object> {
  readonly #bySettings = new WeakMap<ServerSettings, Map<number, T>>();
  constructor(private readonly make: (info: ConnectionInfo, settings: ServerSettings, extra: boolean) => T) {}

  get(info: ConnectionInfo, settings: ServerSettings, extra = false): T {
    const key = (info.secure ? 1 : 0) | (info.clearTextLogin === 'always' ? 2 : 0) | (info.startTlsAvailable ? 4 : 0)
      | (info.secure && info.tls !== undefined && offersChannelBinding(info.tls.channelBindings) ? 8 : 0) | (extra ? 16 : 0);
    let m = this.#bySettings.get(settings);
    if (m === undefined) { m = new Map(); this.#bySettings.set(settings, m); }
    let p = m.get(key);
    if (p === undefined) {
      p = freezePolicy(this.make(info, settings, extra));
      m.set(key, p);
    }
    return p;
  }
}

/** Freezes the policy and its lists; its `settings` belong to the directory and are left alone. */
function freezePolicy<T extends object>(o: T): T {
  for (const [k, v] of Object.entries(o)) if (k !== 'settings' && typeof v === 'object' && v !== null) Object.freeze(v);
  return Object.freeze(o);
}
