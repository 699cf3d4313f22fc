// W1 building blocks: the escaping template, the Cookie header and form parsers (malformed-input
// tables and fuzzing: hostile input gives clean values, never a throw or markup), the session
// store (ids, expiry, bound) and the login history ring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { escapeHtml, html, join, raw, SafeHtml } from './html.js';
import { COOKIE_MAX_PAIRS, parseCookies, serializeCookie } from './cookies.js';
import { Form, FORM_MAX_FIELDS } from './form.js';
import { sameToken, SessionStore } from './sessions.js';
import { LoginHistory } from './login-history.js';

test('W1: html`` escapes every interpolated value; only SafeHtml passes', () => {
  const evil = `<script>alert('x')</script>&"\``;
  const out = html`<p title="${evil}">${evil}</p>`.value;
  assert.equal(out, '<p title="&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;&#96;">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;&#96;</p>');
  assert.equal(html`${[evil, html`<b>${evil}</b>`]}`.value, `${escapeHtml(evil)}<b>${escapeHtml(evil)}</b>`, 'arrays escape each item');
  assert.equal(html`${null}${undefined}${false}${true}${0}`.value, '0', 'null, undefined and booleans print nothing');
  assert.equal(html`${raw('<br>')}`.value, '<br>');
  assert.equal(join(['<a>', html`<b>`], ', ').value, '&lt;a&gt;, <b>');
  assert.ok(html`x` instanceof SafeHtml);
});

test('W1: fuzz: no string interpolated into a template can open a tag, an attribute or an entity', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
    const out = html`<p a="${s}">${s}</p>`.value;
    const inner = out.slice('<p a="'.length, -'</p>'.length);
    assert.ok(!/[<>"'`]/.test(inner.replace('">', '')), 'no markup character survives');
    // Every & starts one of our entities.
    assert.ok(!/&(?!amp;|lt;|gt;|quot;|#39;|#96;)/.test(inner));
  }), { numRuns: 500 });
});

test('W1: Cookie header parser: malformed-input table', () => {
  const rows: [string | undefined, Record<string, string>, string][] = [
    [undefined, {}, 'no header'],
    ['', {}, 'empty header'],
    ['a=1; b=2', { a: '1', b: '2' }, 'ordinary pairs'],
    ['a=1;b=2', { a: '1', b: '2' }, 'no space after the semicolon (old clients)'],
    ['a=1; a=2', { a: '1' }, 'a repeated name: the first wins, an attacker cannot shadow it by appending'],
    ['a="q"', { a: 'q' }, 'quoted value (RFC 6265 allows DQUOTEs around the value)'],
    ['=x; b=2', { b: '2' }, 'empty name skipped'],
    ['novalue; b=2', { b: '2' }, 'no "=" skipped'],
    ['a b=1; c=3', { c: '3' }, 'space inside a name'],
    ['a=x y; c=3', { c: '3' }, 'space inside a value'],
    ['a=\u00e9; c=3', { c: '3' }, 'non-ASCII value'],
    ['a=x,y; c=3', { c: '3' }, 'comma is not a cookie-octet'],
    ['a=x\\y; c=3', { c: '3' }, 'backslash is not a cookie-octet'],
    [`a=${'v'.repeat(300)}; c=3`, { c: '3' }, 'over-long value: not one of ours'],
    ['__proto__=1; constructor=2', JSON.parse('{"__proto__":"1","constructor":"2"}') as Record<string, string>, 'prototype names are plain keys of a Map'],
    [';;;; ; a=1', { a: '1' }, 'empty parts'],
  ];
  for (const [header, want, why] of rows) assert.deepEqual([...parseCookies(header)], Object.entries(want), why);
  const many = Array.from({ length: COOKIE_MAX_PAIRS + 10 }, (_, i) => `c${i}=${i}`).join('; ');
  assert.equal(parseCookies(many).size, COOKIE_MAX_PAIRS, 'at most COOKIE_MAX_PAIRS are read');
  assert.equal(serializeCookie('s', 'v', { secure: true }), 's=v; Path=/; HttpOnly; SameSite=Strict; Secure');
  assert.equal(serializeCookie('s', '', { secure: false, maxAge: 0 }), 's=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0');
});

test('W1: fuzz: the Cookie parser never throws and only returns well-formed pairs', () => {
  fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 600 }), fc.array(fc.tuple(fc.string(), fc.string()), { maxLength: 80 }).map((ps) => ps.map(([k, v]) => `${k}=${v}`).join('; '))), (h) => {
    const m = parseCookies(h);
    assert.ok(m.size <= COOKIE_MAX_PAIRS);
    for (const [k, v] of m) {
      assert.match(k, /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/);
      assert.match(v, /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/);
    }
  }), { numRuns: 500 });
});

test('W1: form parser: malformed-input table', () => {
  const rows: [string, Record<string, string[]>, string][] = [
    ['', {}, 'empty body'],
    ['a=1&b=2', { a: ['1'], b: ['2'] }, 'ordinary fields'],
    ['a=1&a=2', { a: ['1', '2'] }, 'repeated field (checkbox lists)'],
    ['a', { a: [''] }, 'a name without "="'],
    ['a=%ZZ&b=%41', { a: ['%ZZ'], b: ['A'] }, 'a broken percent escape stays as typed'],
    ['a=x+y%20z', { a: ['x y z'] }, 'plus and %20 are spaces'],
    ['a=%00%0d%0a', { a: ['\u0000\r\n'] }, 'control characters arrive as data (checked later by each field\'s rules)'],
    ['__proto__=1&constructor=2', JSON.parse('{"__proto__":["1"],"constructor":["2"]}') as Record<string, string[]>, 'prototype names are plain Map keys'],
    ['&&&=&a=1', { '': [''], a: ['1'] }, 'empty pairs'],
  ];
  for (const [body, want, why] of rows) {
    const f = Form.parse(body);
    assert.ok(f, why);
    assert.deepEqual(f.names().map((n) => [n, f.all(n)]), Object.entries(want), why);
  }
  assert.equal(Form.parse(Array.from({ length: FORM_MAX_FIELDS + 1 }, (_, i) => `f${i}=1`).join('&')), null, 'more than FORM_MAX_FIELDS fields is refused');
  assert.ok(Form.parse(Array.from({ length: FORM_MAX_FIELDS }, (_, i) => `f${i}=1`).join('&')));
  const f = Form.parse('a=1') as Form;
  assert.equal(f.get('missing'), '');
  assert.deepEqual(f.all('missing'), []);
});

test('W1: fuzz: the form parser never throws on any body', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 1000 }), (body) => {
    const f = Form.parse(body);
    if (f) for (const n of f.names()) assert.equal(typeof f.get(n), 'string');
  }), { numRuns: 500 });
});

test('W1: sessions: random ids, CSRF tokens, idle and absolute expiry, bounded table, destroyWhere', () => {
  let now = 0;
  const s = new SessionStore<{ who: string }>({ idleMs: 1000, maxAgeMs: 5000, maxSessions: 3, now: () => now });
  const a = s.create({ who: 'a' });
  assert.match(a.id, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a.id, a.csrf);
  assert.equal(s.get(a.id), a);
  assert.equal(s.get(undefined), null);
  assert.equal(s.get('nope'), null);
  now = 900; assert.ok(s.get(a.id), 'used within the idle time');
  now = 1800; assert.ok(s.get(a.id), 'the idle clock restarts at each use');
  now = 2900; assert.equal(s.get(a.id), null, 'idle too long');
  const b = s.create({ who: 'b' });
  for (let t = 3000; t < 8000; t += 500) { now = t; if (t < 3000 + 5000) assert.ok(s.get(b.id) || t >= 8000); }
  now = 8100; assert.equal(s.get(b.id), null, 'absolute age reached even when active');
  const c1 = s.create({ who: 'c1' }); const c2 = s.create({ who: 'c2' }); const c3 = s.create({ who: 'c3' });
  s.get(c1.id); // c1 used last: c2 is the least recently used
  const c4 = s.create({ who: 'c4' });
  assert.equal(s.size, 3);
  assert.equal(s.get(c2.id), null, 'the least recently used goes first');
  assert.ok(s.get(c1.id) && s.get(c3.id) && s.get(c4.id));
  assert.equal(s.destroyWhere((d) => d.who.startsWith('c')), 3);
  assert.equal(sameToken('abc', 'abc'), true);
  assert.equal(sameToken('abc', 'abd'), false);
  assert.equal(sameToken('abc', 'abcd'), false);
  assert.equal(sameToken('', ''), false, 'an empty token never matches');
  assert.equal(sameToken(undefined, 'x'), false);
});

test('W2: login history keeps the last N per account, newest first, and a bounded number of accounts', () => {
  const h = new LoginHistory(3, 2);
  for (let i = 0; i < 5; i++) h.record('d', 'a', { at: i, client: '192.0.2.1', via: 'WebUser', ok: i % 2 === 0, detail: 'x' });
  assert.deepEqual(h.list('d', 'a').map((r) => r.at), [4, 3, 2]);
  h.record('d', 'b', { at: 9, client: '::1', via: 'WebAdmin', ok: true, detail: 'own password' });
  h.record('d', 'c', { at: 9, client: '::1', via: 'WebAdmin', ok: true, detail: 'own password' });
  assert.deepEqual(h.list('d', 'a'), [], 'the account seen least recently was dropped');
  assert.equal(h.list('d', 'c').length, 1);
});
