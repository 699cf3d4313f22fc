// A3: NTLM building blocks against published vectors: MS-NLMP section 4.2 (NTLMv1 4.2.2, NTLMv1
// with extended session security 4.2.3, NTLMv2 4.2.4), the LM hash "KGS!@#$%" DES encryptions as
// a single-DES known answer. MD4 and NTOWFv1 come from src/passwords (RFC 1320 suite there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { md4, ntHashOfText as ntHash } from '../../../passwords/index.js';
import {
  des, desl, lmV2Response, ntProofStr, ntlmUppercase, ntlmV1EssResponse, ntlmV1Response, ntlmV2Temp, ntowfV2,
} from './crypto.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

void test('A3 single DES: the LM hash halves of "Password" (DES of "KGS!@#$%" under 7-byte keys)', () => {
  // LMOWFv1("Password") = e52cac67419a9a224a3b108f3fa6cb6d (MS-NLMP 4.2.2.1.1): "PASSWOR" and "D".
  const magic = Buffer.from('KGS!@#$%', 'latin1');
  assert.equal(des(Buffer.from('PASSWOR', 'latin1'), magic).toString('hex'), 'e52cac67419a9a22');
  assert.equal(des(Buffer.from('D\0\0\0\0\0\0', 'latin1'), magic).toString('hex'), '4a3b108f3fa6cb6d');
  // DES with the all-zero key encrypting zero: a textbook value.
  assert.equal(des(Buffer.alloc(7), Buffer.alloc(8)).toString('hex'), '8ca64de9c1b123a7');
});

const SERVER_CHALLENGE = hex('0123456789abcdef');
const CLIENT_CHALLENGE = hex('aaaaaaaaaaaaaaaa');

void test('A3 NTLMv1: MS-NLMP 4.2.2 (NTOWFv1, NTLMv1 response, LMv1 response via DESL)', () => {
  const nt = ntHash('Password');
  assert.equal(nt.toString('hex'), 'a4f49c406510bdcab6824ee7c30fd852'); // 4.2.2.1.2
  assert.equal(ntlmV1Response(nt, SERVER_CHALLENGE).toString('hex'), '67c43011f30298a2ad35ece64f16331c44bdbed927841f94'); // 4.2.2.2.1
  assert.equal(desl(hex('e52cac67419a9a224a3b108f3fa6cb6d'), SERVER_CHALLENGE).toString('hex'), '98def7b87f88aa5dafe2df779688a172def11c7d5ccdef13'); // 4.2.2.2.2
  assert.equal(md4(nt).toString('hex'), 'd87262b0cde4b1cb7499becccdf10784'); // 4.2.2.1.3 session base key
});

void test('A3 NTLMv1 with extended session security: MS-NLMP 4.2.3.2.2', () => {
  assert.equal(ntlmV1EssResponse(ntHash('Password'), SERVER_CHALLENGE, CLIENT_CHALLENGE).toString('hex'), '7537f803ae367128ca458204bde7caf81e97ed2683267232');
});

// MS-NLMP 4.2.4: TargetInfo = MsvAvNbDomainName "Domain", MsvAvNbComputerName "Server", MsvAvEOL.
const MS_NLMP_TARGET_INFO = hex('02000c0044006f006d00610069006e00 01000c00530065007200760065007200 00000000');

void test('A3 NTLMv2: MS-NLMP 4.2.4 (NTOWFv2, LMv2, temp, NTProofStr)', () => {
  const key = ntowfV2(ntHash('Password'), 'User', 'Domain');
  assert.equal(key.toString('hex'), '0c868a403bfd7a93a3001ef22ef02e3f'); // 4.2.4.1.1
  assert.equal(lmV2Response(key, SERVER_CHALLENGE, CLIENT_CHALLENGE).toString('hex'), '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa'); // 4.2.4.2.1
  const temp = ntlmV2Temp(Buffer.alloc(8), CLIENT_CHALLENGE, MS_NLMP_TARGET_INFO);
  assert.equal(temp.toString('hex'),
    '01010000000000000000000000000000aaaaaaaaaaaaaaaa00000000' + MS_NLMP_TARGET_INFO.toString('hex') + '00000000');
  assert.equal(ntProofStr(key, SERVER_CHALLENGE, temp).toString('hex'), '68cd0ab851e51c96aabc927bebef6a1c'); // 4.2.4.2.2
  // The user name is case-insensitive, the domain is not.
  assert.deepEqual(ntowfV2(ntHash('Password'), 'user', 'Domain'), key);
  assert.notDeepEqual(ntowfV2(ntHash('Password'), 'User', 'DOMAIN'), key);
});

void test('A3 NTLMv2 Uppercase keeps the length of every character', () => {
  assert.equal(ntlmUppercase('straße'), 'STRAßE');
  assert.equal(ntlmUppercase('ǆemal'), 'ǄEMAL');
  assert.equal(ntlmUppercase('élan'), 'ÉLAN');
});
