// N1, N3, N4: address lists with CIDR and ranges, IPv4 and IPv6, including IPv4-mapped clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AddressList, isLoopback } from './addresses.js';

test('N1: address lists match addresses, CIDR ranges and dash ranges in both families', () => {
  const l = new AddressList(['192.0.2.0/24', '198.51.100.7', '2001:db8::/32', '10.0.0.5-10.0.0.9', '::ffff:203.0.113.0/120']);
  const rows: [string, boolean, string][] = [
    ['192.0.2.200', true, 'inside the /24'],
    ['192.0.3.1', false, 'outside the /24'],
    ['198.51.100.7', true, 'exact address'],
    ['198.51.100.8', false, 'neighbour of an exact address'],
    ['2001:db8:1::1', true, 'inside the IPv6 /32'],
    ['2001:db9::1', false, 'outside the IPv6 /32'],
    ['10.0.0.7', true, 'inside a dash range'],
    ['10.0.0.10', false, 'just past a dash range'],
    ['::ffff:192.0.2.1', true, 'IPv4-mapped client of a dual-stack socket matches IPv4 entries'],
    ['203.0.113.9', true, 'IPv4-mapped CIDR entry matches the plain IPv4 client'],
    ['not-an-ip', false, 'garbage never matches'],
    ['', false, 'empty never matches'],
  ];
  for (const [ip, want, why] of rows) assert.equal(l.matches(ip), want, `${ip}: ${why}`);
  assert.ok(new AddressList([]).empty);
  assert.ok(isLoopback('127.0.0.5') && isLoopback('::1') && isLoopback('::ffff:127.0.0.1') && !isLoopback('192.0.2.1'));
});

test('fuzz: matching arbitrary strings never throws', () => {
  const l = new AddressList(['0.0.0.0/0', '::/0']);
  fc.assert(fc.property(fc.string(), (s) => { l.matches(s); }), { numRuns: 2000 });
});
