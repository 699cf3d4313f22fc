/**
 * Page frames: the admin frame with its side navigation, and the plain centred frame of the
 * login pages. Every value goes through the escaping template.
 */
import { html, type HtmlValue, type SafeHtml } from './html.js';

export interface NavItem { href: string; label: string }
export interface NavSection { title: string; items: NavItem[] }

export interface Flash { kind: 'ok' | 'error' | 'warn'; text: string }

export interface FrameOptions {
  title: string;
  /** The product part of the header: WebAdmin or WebUser. */
  product: string;
  user: string;
  csrf: string;
  nav: NavSection[];
  /** The path of the current page, to mark its navigation entry. */
  here: string;
  flash?: Flash | Flash[] | null;
  body: HtmlValue;
  /** Seconds before the page reloads itself (key generation progress; no script needed). */
  refreshSeconds?: number;
}

export function flashes(f: Flash | Flash[] | null | undefined): SafeHtml {
  const list = f ? (Array.isArray(f) ? f : [f]) : [];
  return html`${list.map((x) => html`<div class="flash ${x.kind}" role="${x.kind === 'error' ? 'alert' : 'status'}">${x.text}</div>`)}`;
}

function head(title: string, refreshSeconds?: number): SafeHtml {
  return html`<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">${refreshSeconds !== undefined ? html`<meta http-equiv="refresh" content="${refreshSeconds}">` : ''}
<title>${title} · Mailward</title><link rel="stylesheet" href="/style.css"></head>`;
}

export function frame(o: FrameOptions): SafeHtml {
  const nav = o.nav.map((s) => html`<h3>${s.title}</h3>${s.items.map((i) => html`<a href="${i.href}"${isHere(i.href, o.here) ? html` class="here" aria-current="page"` : ''}>${i.label}</a>`)}`);
  return html`<html lang="en">${head(o.title, o.refreshSeconds)}<body>
<header class="top"><a class="brand" href="/">Mailward <span>${o.product}</span></a>
<div class="who"><span>${o.user}</span><form method="post" action="/logout"><input type="hidden" name="_csrf" value="${o.csrf}"><button type="submit">Log out</button></form></div></header>
<div class="layout"><nav class="side" aria-label="Sections">${nav}</nav>
<main>${flashes(o.flash)}${o.body}</main></div></body></html>`;
}

function isHere(href: string, here: string): boolean {
  if (href === '/') return here === '/';
  return here === href || here.startsWith(`${href}/`);
}

export function plainFrame(title: string, body: HtmlValue): SafeHtml {
  return html`<html lang="en">${head(title)}<body><div class="login-page">${body}</div></body></html>`;
}
