/**
 * fast-check arbitraries of CgValue, for property tests of the format and of anything that stores
 * CgValues (a store must give back what it was given). Test-only: imports fast-check.
 */
import fc from 'fast-check';
import { DataBlock, IpAddress, TIME_FUTURE_MS, TIME_PAST_MS, dict, type CgValue } from '../types.js';

/** Characters that have stories in this format: quotes, backslashes, every kind of line end,
 *  controls, DEL, C1, bidi overrides, separators, BOM, astral, comment and #-object starters. */
const SPECIAL = [
  '"', '\\', '\n', '\r', '\r\n', '\t', '\0', '\x01', '\x1b', '\x7f', '\x85', '\x9f', '\u00a0', '\u2028', '\u2029',
  '\u200e', '\u202e', '\u2066', '\ufeff', '\ufffd', '😀', '𝄞', '/', '*', '//', '/*', '*/', '#', '#NULL#', '[', ']',
  '(', ')', '{', '}', '=', ';', ',', '<', ' ', 'é', 'Ж', '世',
];

/** Any well-formed Unicode string, weighted towards the characters above. */
export const cgString: fc.Arbitrary<string> = fc.string({
  unit: fc.oneof({ arbitrary: fc.constantFrom(...SPECIAL), weight: 2 }, { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 3 },
    { arbitrary: fc.constantFrom('a', 'Z', '0', '9', '.', '_', '-', '@'), weight: 3 }),
  maxLength: 24,
});

/** Keys: any string, plus the ones that attack plain objects. */
export const cgKey: fc.Arbitrary<string> = fc.oneof(cgString, fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', '', 'A'));

/** Dates the format carries: whole seconds from 01-01-0000 to 31-12-9999, and #TPAST/#TFUTURE. */
export const cgDate: fc.Arbitrary<Date> = fc.oneof(
  fc.integer({ min: new Date('0000-01-01T00:00:00Z').getTime(), max: new Date('9999-12-31T23:59:59Z').getTime() })
    .map((ms) => new Date(Math.floor(ms / 1000) * 1000)),
  fc.constantFrom(TIME_PAST_MS, TIME_FUTURE_MS).map((ms) => new Date(ms)),
);

export const cgIp: fc.Arbitrary<IpAddress> = fc.tuple(fc.oneof(fc.ipV4(), fc.ipV6()), fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }))
  .map(([a, p]) => new IpAddress(a, p));

export const cgScalar: fc.Arbitrary<CgValue> = fc.oneof(
  { arbitrary: cgString, weight: 4 },
  fc.maxSafeInteger(),
  fc.constant(null),
  cgDate,
  fc.uint8Array({ maxLength: 80 }).map((b) => new DataBlock(b)),
  cgIp,
);

/** Nested arrays and null-prototype dictionaries of the scalars above. */
export const cgValue: fc.Arbitrary<CgValue> = fc.letrec<{ value: CgValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'medium', withCrossShrink: true },
    { arbitrary: cgScalar, weight: 2 },
    fc.array(tie('value'), { maxLength: 5 }),
    fc.array(fc.tuple(cgKey, tie('value')), { maxLength: 5 }).map((entries) => dict(entries)),
  ),
})).value;
