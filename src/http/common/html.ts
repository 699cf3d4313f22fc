/**
 * Escape-by-default HTML: every value interpolated into `html\`...\`` is escaped, so a name an
 * attacker chose (a domain, an account, a Real Name, a certificate field) can never become markup.
 * Only a `SafeHtml` passes through unchanged, and the only ways to make one are this template itself
 * and `raw()`, which is used for fixed strings written in this code base — never for anything that
 * came from a request, a setting or a certificate.
 */

export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string { return this.value; }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes text for element content and for quoted attribute values alike. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c);
}

/** Values a template accepts: text and numbers are escaped; arrays are joined after escaping each
 *  item; null, undefined and false print nothing (so `${cond && html\`...\`}` works). */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false || v === true) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return (v as readonly HtmlValue[]).map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

/** Marks a fixed string of this code base as markup. Never pass request or stored data. */
export function raw(s: string): SafeHtml {
  return new SafeHtml(s);
}

export function join(items: readonly HtmlValue[], sep: SafeHtml | string = ''): SafeHtml {
  return new SafeHtml(items.map(render).join(render(sep)));
}
