/**
 * Shared pieces of the mechanism tests: a context over the fake port, a runner that feeds
 * steps, and the fuzz property every mechanism must satisfy (hostile bytes at any step give a
 * clean step, never a throw; nothing after the end but a failure; at most one port call).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { SaslContext, SaslMechanism, SaslStep } from '../mechanism.js';
import { FakeCredentialPort, type FakeUser } from '../testing/fake-port.js';

export const TEST_USERS: Record<string, FakeUser> = {
  tim: { password: 'tanstaaftanstaaf' },
  chris: { password: 'secret' },
  mrose: { password: 'tanstaaf' },
  bob: { password: 'bobpass' },
  boss: { password: 'bosspass', mayActFor: ['bob'] },
  /** Password stored one-way: no clear secret for challenge mechanisms (A9). */
  oneway: {},
  unicode: { password: 'pässwörd' },
};

export function makeCtx(overrides: Partial<SaslContext> = {}, users: Record<string, FakeUser> = TEST_USERS): SaslContext & { port: FakeCredentialPort } {
  const port = new FakeCredentialPort(users);
  return {
    serverName: 'mail.example.com',
    service: 'imap',
    secure: false,
    channelBindings: {},
    plusAdvertised: false,
    options: { allowNtlmV1: false },
    ...overrides,
    port: (overrides.port as FakeCredentialPort | undefined) ?? port,
  };
}

/** Feeds the inputs in order; stops at the first non-challenge step. Returns every step. */
export async function runSteps(mech: SaslMechanism, ctx: SaslContext, inputs: (Buffer | string | null)[]): Promise<SaslStep[]> {
  const ex = mech.start(ctx);
  const steps: SaslStep[] = [];
  for (const input of inputs) {
    const step = await ex.step(typeof input === 'string' ? Buffer.from(input, 'utf8') : input);
    steps.push(step);
    if (step.type !== 'challenge') break;
  }
  return steps;
}

export function last(steps: SaslStep[]): SaslStep {
  const s = steps[steps.length - 1];
  assert.ok(s, 'no step');
  return s;
}

export function assertFailure(step: SaslStep, status: string, reason?: string): void {
  assert.equal(step.type, 'failure', `expected failure, got ${JSON.stringify(step)}`);
  if (step.type !== 'failure') return;
  assert.equal(step.failure.status, status, JSON.stringify(step.failure));
  if (reason !== undefined && 'reason' in step.failure) assert.equal(step.failure.reason, reason);
}

function isCleanStep(s: unknown): boolean {
  if (typeof s !== 'object' || s === null) return false;
  const t = (s as { type?: unknown }).type;
  if (t === 'challenge') return Buffer.isBuffer((s as { data?: unknown }).data);
  if (t === 'success') return typeof (s as { authcid?: unknown }).authcid === 'string';
  if (t === 'failure') return typeof (s as { failure?: { status?: unknown } }).failure?.status === 'string';
  return false;
}

/**
 * The fuzz property: for any sequence of inputs (random bytes, or absent), every step is a clean
 * SaslStep; after a success or failure, a further step is a 'malformed' failure; the port is
 * called at most once. `inputs` lets a mechanism bias the bytes towards its own syntax.
 */
export async function fuzzMechanism(mech: SaslMechanism, inputs: fc.Arbitrary<Buffer | null>, ctxOverrides: Partial<SaslContext> = {}, numRuns = 300): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.array(inputs, { minLength: 1, maxLength: 5 }), async (seq) => {
      const ctx = makeCtx(ctxOverrides);
      const ex = mech.start(ctx);
      let ended = false;
      for (const input of seq) {
        const step = await ex.step(input);
        assert.ok(isCleanStep(step), `not a clean step: ${String(step)}`);
        if (ended) {
          assert.equal(step.type, 'failure');
          if (step.type === 'failure') assert.equal(step.failure.status, 'malformed');
        }
        if (step.type !== 'challenge') ended = true;
      }
      assert.ok(ctx.port.calls.length <= 1, 'more than one port call');
    }),
    { numRuns },
  );
}

/** Random bytes, absent input, or text built from a mechanism's own alphabet. */
export function hostileInput(alphabet: fc.Arbitrary<string>[] = [], maxLength = 600): fc.Arbitrary<Buffer | null> {
  const parts: fc.Arbitrary<Buffer | null>[] = [
    fc.constant(null),
    fc.uint8Array({ maxLength }).map((a) => Buffer.from(a)),
    fc.string({ maxLength: 64 }).map((s) => Buffer.from(s, 'utf8')),
  ];
  if (alphabet.length > 0) {
    parts.push(fc.array(fc.oneof(...alphabet), { maxLength: 40 }).map((a) => Buffer.from(a.join(''), 'utf8')));
  }
  return fc.oneof(...parts);
}

/** Hex text (fast-check 4 has no hexaString). */
export function hexText(maxLength: number): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), maxLength });
}
